"""The results of one run as a Markdown table."""

from __future__ import annotations

import math
import os
import platform
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from bench.argon import VerifyResult
from bench.cpu import CpuUsage
from bench.driver import PhaseResult

LOGIN_TARGET = 0.85
BUSY_OTHER = 0.15  # cores used by other programs above which a run is flagged as disturbed
DASH = "–"


# Requests per second per core the server used, that the auth measures aim for.
PER_CORE_TARGETS = {
    "Forward-auth (JWT)": 5_000,
    "Client-credentials grant": 1_000,
    "Refresh-token grant": 1_000,
}


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

    @property
    def cpu_ms(self) -> float | None:
        """CPU milliseconds per answer: of the server, or of this process for the raw rate."""
        if self.cpu is None or not self.rate:
            return None
        cores = self.cpu.server if self.cpu.server is not None else self.cpu.driver
        return cores * 1000 / self.rate


@dataclass
class Report:
    """Everything one run measured, in the order it was measured."""

    seconds: float
    warmup: float
    accounts: int
    workers: int = 1
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    raw: Row | None = None
    total_seconds: float | None = None

    def add_raw_verify(self, result: VerifyResult) -> None:
        """The reference row; it goes first, whenever it was measured."""
        self.raw = Row(
            DASH,
            f"argon2id verify, raw ({result.threads} threads)",
            result.rate,
            concurrency=result.threads,
            errors=0,
            ratio="1.00 (reference)",
            cpu=result.cpu,
        )
        self.rows.insert(0, self.raw)

    def add_import(self, backend: str, accounts: int, seconds: float) -> None:
        self.rows.append(
            Row(backend, f"Import {accounts:,} accounts ({seconds:.1f} s)", accounts / seconds)
        )

    def add_phase(self, backend: str, result: PhaseResult) -> None:
        row = Row(
            backend,
            result.name,
            result.rate,
            concurrency=result.concurrency,
            p50_ms=result.percentile_ms(0.50),
            p99_ms=result.percentile_ms(0.99),
            errors=result.errors,
            cpu=result.cpu,
        )
        self.rows.append(replace(row, ratio=self._ratio(row)))
        if result.first_error:
            self.notes.append(f"{backend} {result.name}: first error {result.first_error}")

    def _ratio(self, row: Row) -> str:
        """Login and Create cost one argon2id operation each: compare with the raw rate.
        The auth measures are judged per core the server used."""
        target = PER_CORE_TARGETS.get(row.measure)
        if target is not None and row.cpu is not None and row.cpu.server:
            per_core = row.rate / row.cpu.server
            verdict = "ok" if per_core >= target else "BELOW"
            return f"**{per_core:,.0f}** per server core (target ≥ {target:,}: {verdict})"
        if self.raw is None or row.measure not in ("Login", "Create"):
            return DASH
        ratio = row.rate / self.raw.rate
        if row.measure == "Login":
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
                f"{self.accounts:,} accounts loaded per backend; {self.workers} server "
                f"process{'es' if self.workers > 1 else ''}. Each phase: {self.warmup:g} s "
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
            "CPU ms / answer",
            "Ratio",
            "CPU cores: server / driver / PostgreSQL / other",
        ]
        lines = ["| " + " | ".join(columns) + " |", "|---|---|--:|--:|--:|--:|--:|--:|---|---|"]
        for row in self.rows:
            cells = [
                row.backend,
                row.measure,
                _int(row.concurrency),
                _number(row.rate),
                _number(row.p50_ms),
                _number(row.p99_ms),
                _int(row.errors),
                _number(row.cpu_ms),
                row.ratio,
                _cpu(row.cpu),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        return lines

    def _disturbed(self) -> list[str]:
        """Rows during which other programs took a noticeable share of the machine."""
        return [
            f"{row.backend} {row.measure} ({row.cpu.other:.2f})"
            for row in self.rows
            if row.cpu and row.cpu.other is not None and row.cpu.other > BUSY_OTHER
        ]

    def _footer(self) -> list[str]:
        lines = [f"- {note}" for note in self.notes]
        disturbed = self._disturbed()
        if disturbed:
            lines.append(
                "- Other programs used CPU cores during "
                + ", ".join(disturbed)
                + ": those figures are lower than on an otherwise idle machine."
            )
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
    parts = [usage.server, usage.driver, usage.postgres, usage.other]
    return " / ".join(DASH if part is None else f"{part:.2f}" for part in parts)
