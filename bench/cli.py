"""``python -m bench``: run every measurement once and write the table.

Per backend (SQLite, then PostgreSQL): import the accounts, start
``micro-user serve``, run the phases, stop it. On SQLite the raw argon2id verify
rate is measured first (the server idles meanwhile), then Login, so that the two
figures of the login ratio are measured back to back.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from bench import auth
from bench.argon import raw_verify_rate
from bench.dataset import Dataset, write_dataset
from bench.driver import PhaseResult, Target, run_async, run_phase
from bench.phases import (
    LOGIN_ACCOUNTS,
    SESSION_ACCOUNTS,
    create_phase,
    login_phase,
    open_sessions,
    read_phase,
    read_session_phase,
)
from bench.report import Report
from bench.services import PostgresDatabase, Server, import_accounts, server_env

RESULTS = Path(__file__).parent / "results.md"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Benchmark micro-user (see bench/README.md)."
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per phase")
    parser.add_argument("--accounts", type=int, default=100_000, help="accounts loaded first")
    parser.add_argument("--concurrency", type=int, default=32, help="for Create, Read, ReadSession")
    parser.add_argument(
        "--login-concurrency", type=int, default=16, help="for Login (enough to saturate)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes (MICRO_USER_WORKERS; default 1)"
    )
    parser.add_argument("--skip-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the table")
    args = parser.parse_args(argv)
    minimum = LOGIN_ACCOUNTS + SESSION_ACCOUNTS
    if args.accounts < minimum:
        parser.error(f"--accounts must be at least {minimum}")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.seconds <= 0 or args.warmup < 0:
        parser.error("--seconds must be positive and --warmup not negative")
    return args


def say(message: str) -> None:
    """Progress, on stderr (the table goes to stdout)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def describe(result: PhaseResult) -> str:
    return (
        f"{result.name}: {result.rate:,.1f}/s, p50 {result.percentile_ms(0.5):.1f} ms, "
        f"p99 {result.percentile_ms(0.99):.1f} ms, {result.errors} errors"
    )


async def request_phases(
    target: Target, dataset: Dataset, args: argparse.Namespace, *, login: bool, pid: int | None
) -> list[PhaseResult]:
    """Login (optional), then Create, Read and ReadSession, against one running server."""
    phases = [login_phase(dataset, args.login_concurrency)] if login else []
    phases += [
        create_phase(args.concurrency, dataset.password),
        read_phase(dataset, args.concurrency),
    ]
    results = []
    for phase in phases:
        results.append(await run_phase(target, phase, **timing(args, pid)))
        say(describe(results[-1]))
    sessions = await open_sessions(target, dataset)
    phase = read_session_phase(sessions, args.concurrency)
    results.append(await run_phase(target, phase, **timing(args, pid)))
    say(describe(results[-1]))
    account = await auth.setup(target)
    for phase in (
        auth.forward_auth_phase(target, account, args.concurrency),
        auth.client_credentials_phase(account, args.concurrency),
    ):
        results.append(await run_phase(target, phase, **timing(args, pid)))
        say(describe(results[-1]))
    results.append(
        await auth.refresh_chains(target, account, args.concurrency, **timing(args, pid))
    )
    say(describe(results[-1]))
    return results


def timing(args: argparse.Namespace, pid: int | None) -> dict[str, Any]:
    return {"warmup": args.warmup, "seconds": args.seconds, "server_pid": pid}


def measure_raw_verify(args: argparse.Namespace, report: Report) -> None:
    """The raw argon2id verify rate, on as many threads as cores."""
    threads = os.cpu_count() or 1
    say(f"raw argon2id verify on {threads} threads")
    raw = raw_verify_rate(threads, args.warmup, args.seconds)
    report.add_raw_verify(raw)
    say(f"raw verify: {raw.rate:.1f}/s")


def bench_backend(
    backend: str,
    database_url: str,
    workdir: Path,
    dataset: Dataset,
    args: argparse.Namespace,
    report: Report,
    *,
    login: bool,
) -> None:
    """Import the accounts, serve, run the phases, stop the server (also on failure).

    With ``login``, the raw verify rate is measured right before the Login phase (the
    server idles meanwhile), so that both see the machine in the same state.
    """
    env = server_env(database_url, workdir, workers=args.workers)
    say(f"{backend}: importing {len(dataset.ids):,} accounts")
    seconds = import_accounts(dataset.path, env)
    report.add_import(backend, len(dataset.ids), seconds)
    say(f"{backend}: imported in {seconds:.1f} s; starting micro-user serve")
    server = Server(env, workdir)
    try:
        server.start()
        if login:
            measure_raw_verify(args, report)
        target, pid = server.target, server.pid
        results = run_async(request_phases(target, dataset, args, login=login, pid=pid))
    except Exception:
        say(f"{backend}: failed; the server log ends with:\n{server.log_tail()}")
        raise
    finally:
        server.stop()
    for result in results:
        report.add_phase(backend, result)


def bench_postgres(
    workdir: Path, dataset: Dataset, args: argparse.Namespace, report: Report
) -> None:
    reason = PostgresDatabase.unavailable()
    if reason:
        report.notes.append(f"PostgreSQL skipped: {reason}")
        say(reason)
        return
    database = PostgresDatabase()
    try:
        database.create()
        bench_backend("PostgreSQL", database.url, workdir, dataset, args, report, login=False)
    finally:
        database.drop()


def run(args: argparse.Namespace) -> Report:
    report = Report(
        seconds=args.seconds, warmup=args.warmup, accounts=args.accounts, workers=args.workers
    )
    with tempfile.TemporaryDirectory(prefix="micro-user-bench-") as tmp:
        workdir = Path(tmp)
        say(f"writing {args.accounts:,} accounts (one shared argon2id hash)")
        dataset = write_dataset(workdir / "accounts.jsonl", args.accounts)
        sqlite_url = f"sqlite:///{workdir / 'bench.db'}"
        bench_backend("SQLite", sqlite_url, workdir, dataset, args, report, login=True)
        say("rule evaluation in-process")
        timings = auth.rule_evaluation()
        report.notes.append(
            "Rule evaluation in-process (one RuleSet.allows, target p50 under 20 µs, flat): "
            + auth.describe_rules(timings)
            + "."
        )
        say(auth.describe_rules(timings))
        if args.skip_postgres:
            report.notes.append("PostgreSQL skipped (--skip-postgres).")
        else:
            bench_postgres(workdir, dataset, args, report)
    return report


def exit_on_sigterm() -> Callable[[int, FrameType | None], None]:
    """Turn SIGTERM into SystemExit, so that servers are stopped and databases dropped."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    return handler


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    exit_on_sigterm()
    started = time.monotonic()
    try:
        report = run(args)  # a failure raises, after servers are stopped and databases dropped
    except (KeyboardInterrupt, SystemExit):
        say("interrupted; servers stopped, databases dropped")
        return 130
    report.total_seconds = time.monotonic() - started
    text = report.markdown()
    sys.stdout.write(text)
    args.output.write_text(text)
    say(f"written to {args.output}")
    return 0
