"""Schemathesis, an outside implementation, holds the server to /openapi.json: it generates
requests from the document (and schema-violating ones, and other methods) and checks every
answer with every check it has (tests/api/schemathesis.toml says where a 400 is also right,
and why). A server of its own per backend: it creates and deletes rules, roles and keys."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import database_url
from tests.support.services import ADMIN_KEY, ServerProcess

CONFIG = Path(__file__).with_name("schemathesis.toml")
# Fixed, so that CI repeats itself; MICRO_USER_TEST_SCHEMATHESIS_SEED explores elsewhere.
SEED = os.environ.get("MICRO_USER_TEST_SCHEMATHESIS_SEED", "20261203")
EXAMPLES = os.environ.get("MICRO_USER_TEST_SCHEMATHESIS_EXAMPLES", "20")


def test_schemathesis_finds_no_failure(backend, tmp_path_factory, request, tmp_path):
    server = ServerProcess(database_url(backend, tmp_path_factory, request), tmp_path).start()
    try:
        done = subprocess.run(
            [
                str(Path(sys.executable).with_name("st")),
                "--no-color",
                "--config-file",
                str(CONFIG),
                "run",
                f"{server.base_url}/openapi.json",
                "--header",
                f"Authorization: Bearer {ADMIN_KEY}",
                "--checks",
                "all",
                "--max-examples",
                EXAMPLES,
                "--seed",
                SEED,
                "--report-dir",
                str(tmp_path / "report"),
            ],
            capture_output=True,
            text=True,
            timeout=900,
            cwd=tmp_path,
        )
        assert "Internal Server Error" not in server.log()
    finally:
        server.stop()
    summary = (
        done.stdout[done.stdout.rfind("=== SUMMARY") :] if "=== SUMMARY" in done.stdout else ""
    )
    assert done.returncode == 0, done.stdout[-12000:] + done.stderr[-2000:]
    assert "unique failures" not in summary, summary
