"""No test wipes or uses data it did not create: a developer's Redis, NATS or PostgreSQL
databases (anything at the shared addresses) must survive the suite. Tests that need a Redis
or NATS start their own (tests/support/private.py); PostgreSQL tests work in databases they
make with the prefix ``micro_user_test_`` and drop only those."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.support.services import PostgresDatabase

ROOT = Path(__file__).resolve().parent.parent
TEST_CODE = (ROOT / "tests", ROOT / "sdk" / "python" / "tests", ROOT / "conftest.py")
# FLUSHDB / FLUSHALL in any spelling: client.flushdb(), execute_command("FLUSHALL"), "flush_all".
WIPES = re.compile(r"flush_?(db|all)", re.IGNORECASE)
# The well-known ports of a developer's own Redis and NATS.
SHARED_PORTS = re.compile(r"\b(6379|4222)\b")


def code_lines(path: Path) -> list[tuple[int, str]]:
    """The lines of a Python file outside its docstrings and comments."""
    source = path.read_text()
    documented: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                documented.update(range(value.lineno, (value.end_lineno or value.lineno) + 1))
    return [
        (number, line.split("#", 1)[0])
        for number, line in enumerate(source.splitlines(), 1)
        if number not in documented
    ]


def offenders(pattern: re.Pattern[str]) -> list[str]:
    found = []
    for folder in TEST_CODE:
        for path in [folder] if folder.is_file() else sorted(folder.rglob("*.py")):
            if path == Path(__file__).resolve():
                continue
            for number, line in code_lines(path):
                if pattern.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_no_test_module_or_fixture_flushes_a_redis():
    found = offenders(WIPES)
    assert not found, "tests must not flush a Redis they did not start:\n" + "\n".join(found)


def test_no_test_talks_to_the_shared_redis_or_nats_ports():
    found = offenders(SHARED_PORTS)
    assert not found, "tests must start their own Redis / NATS:\n" + "\n".join(found)


def test_a_database_this_run_did_not_make_is_never_dropped():
    # Refused before any connection: the shared "test" database of this machine stays.
    with pytest.raises(ValueError, match="did not make it"):
        PostgresDatabase.drop_named("test")
