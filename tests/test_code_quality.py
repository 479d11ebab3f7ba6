"""The code stays lint-clean and fully typed (mypy --strict), or the suite fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_ruff_finds_nothing():
    result = run("ruff", "check", "micro_user", "tests", "conftest.py", "bench", "sdk/python")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_passes():
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
