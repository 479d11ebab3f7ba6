"""The ``micro-user`` command, run inside the test process (typer's runner, the same code
a terminal runs, without a new interpreter's second of start-up per command).

The answer has a subprocess's shape (``returncode``, ``stdout``, ``stderr``), so tests read
it as they would read a real run. Where the process boundary is what is tested (start
failures, signals, the installed entry point), tests start ``micro-user`` as a
subprocess instead: ``tests/cli/test_start.py``, ``tests/test_readme.py`` and
``run_process`` below."""

from __future__ import annotations

import subprocess
import sys
import traceback
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from typer.testing import CliRunner

from micro_user.cli.main import app


def run_command(
    args: tuple[str, ...], env: Mapping[str, str], input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``micro-user *args`` with ``env`` as its environment, in this process: on a thread of
    its own, as the command runs its own event loop and async tests call it from theirs."""
    with ThreadPoolExecutor(1) as thread:
        result = thread.submit(
            CliRunner().invoke, app, list(args), input=input, env=dict(env)
        ).result()
    stderr = result.stderr
    if result.exc_info is not None and not isinstance(result.exception, SystemExit):
        # What the interpreter would print for an uncaught exception.
        stderr += "".join(traceback.format_exception(*result.exc_info))
    return subprocess.CompletedProcess(
        ["micro-user", *args], result.exit_code, result.stdout, stderr
    )


def run_process(
    args: tuple[str, ...], env: Mapping[str, str], input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``micro-user *args`` as its own process, as a terminal starts it."""
    return subprocess.run(
        [sys.executable, "-m", "micro_user", *args],
        env=dict(env),
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
    )
