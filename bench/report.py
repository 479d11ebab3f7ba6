"""The results of one run as a Markdown table."""

from __future__ import annotations

import math
import os
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bench.argon import VerifyResult
from bench.cpu import CpuUsage
from bench.driver import PhaseResult

LOGIN_TARGET = 0.85
DASH = "–"


@dataclass(frozen=True, slots=True)
class Row:
    backend: str
    measure: str
    rate: float
    concurrency: int | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: int | None = None
    ratio: str = DASH
    cpu: CpuUsage | None = None


@dataclass
class Report:
    """Everything one run measured, in the order it was measured."""

    seconds: float
    warmup: float
    accounts: int
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    raw_verify_rate: float | None = None
    total_seconds: float | None = None

    def add_raw_verify(self, result: VerifyResult) -> None:
        self.raw_verify_rate = result.rate
        self.rows.append(
            Row(
                DASH,
                f"argon2id verify, raw ({result.threads} threads)",
                result.rate,
                concurrency=result.threads,
                errors=0,
                ratio="1.00 (reference)",
                cpu=result.cpu,
            )
        )

    def add_import(self, backend: str, accounts: int, seconds: float) -> None:
        self.rows.append(
            Row(backend, f"Import {accounts:,} accounts ({seconds:.1f} s)", accounts / seconds)
        )

    def add_phase(self, backend: str, result: PhaseResult) -> None:
        self.rows.append(
            Row(
                backend,
                result.name,
                result.rate,
                concurrency=result.concurrency,
                p50_ms=result.percentile_ms(0.50),
                p99_ms=result.percentile_ms(0.99),
                errors=result.errors,
                ratio=self._ratio(result),
                cpu=result.cpu,
            )
        )
        if result.first_error:
            self.notes.append(f"{backend} {result.name}: first error {result.first_error}")

    def _ratio(self, result: PhaseResult) -> str:
        """Login and Create cost one argon2id operation each: compare with the raw rate."""
        if not self.raw_verify_rate or result.name not in ("Login", "Create"):
            return DASH
        ratio = result.rate / self.raw_verify_rate
        if result.name == "Login":
            verdict = "ok" if ratio >= LOGIN_TARGET else "BELOW"
            return f"**{ratio:.2f}** of raw verify (target ≥ {LOGIN_TARGET}: {verdict})"
        return f"{ratio:.2f} of raw verify (one hash per Create)"

    def markdown(self) -> str:
        return "\n".join([*self._header(), "", *self._table(), "", *self._footer()]) + "\n"

    def _header(self) -> list[str]:
        when = self.started.strftime("%Y-%m-%d %H:%M UTC")
        machine = f"{os.cpu_count()} cores, {platform.system()} {platform.machine()}"
        return [
            f"## micro-user benchmark, {when}",
            "",
            (
                f"Machine: {machine}; Python {platform.python_version()}. "
                f"{self.accounts:,} accounts loaded per backend. Each phase: {self.warmup:g} s "
                f"warm-up, then {self.seconds:g} s measured. argon2id m=19456 KiB, t=2, p=1."
            ),
        ]

    def _table(self) -> list[str]:
        columns = [
            "Backend",
            "Measure",
            "Concurrency",
            "Rate (/s)",
            "p50 (ms)",
            "p99 (ms)",
            "Errors",
            "Ratio",
            "CPU cores: server / driver / other",
        ]
        lines = ["| " + " | ".join(columns) + " |", "|---|---|--:|--:|--:|--:|--:|---|---|"]
        for row in self.rows:
            cells = [
                row.backend,
                row.measure,
                _int(row.concurrency),
                _number(row.rate),
                _number(row.p50_ms),
                _number(row.p99_ms),
                _int(row.errors),
                row.ratio,
                _cpu(row.cpu),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        return lines

    def _footer(self) -> list[str]:
        lines = [f"- {note}" for note in self.notes]
        if self.total_seconds is not None:
            lines.append(f"- Total run time: {self.total_seconds:.0f} s.")
        return lines


def _number(value: float | None) -> str:
    if value is None or math.isnan(value):
        return DASH
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}"


def _int(value: int | None) -> str:
    return DASH if value is None else str(value)


def _cpu(usage: CpuUsage | None) -> str:
    if usage is None:
        return DASH
    parts = [usage.server, usage.driver, usage.other]
    return " / ".join(DASH if part is None else f"{part:.2f}" for part in parts)
