"""No test wipes data it did not create: a developer's Redis (or anything at the shared
addresses) must survive the suite. Tests that need a Redis they can empty or stop start
their own (``redis_server`` in tests/support/redis.py)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# FLUSHDB / FLUSHALL in any spelling: client.flushdb(), execute_command("FLUSHALL"), "flush_all".
WIPES = re.compile(r"flush_?(db|all)", re.IGNORECASE)


def test_no_test_module_or_fixture_flushes_a_redis():
    offenders = []
    for folder in (ROOT / "tests", ROOT / "sdk" / "python" / "tests", ROOT / "conftest.py"):
        files = [folder] if folder.is_file() else sorted(folder.rglob("*.py"))
        for path in files:
            if path == Path(__file__).resolve():
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if WIPES.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "tests must not flush a Redis they did not start:\n" + "\n".join(
        offenders
    )
