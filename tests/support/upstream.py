"""An external OpenID Provider for the tests: oidc-provider (Node; a certified OpenID
Provider) run by tests/providers/upstream/upstream.mjs with the clients and accounts a test
gives it, on its own loopback port. Users sign in on its plain HTML form (fields ``login``
and ``password``, button "Sign in"); consent is given automatically."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from tests.support.services import REQUIRE

FOLDER = Path(__file__).resolve().parent.parent / "providers" / "upstream"
START_TIMEOUT = 30.0


@dataclass(frozen=True)
class Upstream:
    """A running upstream provider; ``issuer`` is its http://127.0.0.1:PORT address."""

    issuer: str


def node_or_skip(folder: Path, package: str) -> str:
    """The path of node, or skip (fail where ``js`` is required) when node or ``package``
    (installed by ``npm ci`` in ``folder``; scripts/test does it) is missing."""
    node = shutil.which("node")
    reason = None
    if node is None:
        reason = "node is not installed"
    elif not (folder / "node_modules" / package).is_dir():
        reason = f"{package} is not installed (npm ci in {folder}; scripts/test does it)"
    if reason is not None:
        if "js" in REQUIRE:
            pytest.fail(f"JavaScript is required (MICRO_USER_TEST_REQUIRE) but {reason}")
        pytest.skip(reason)
    assert node is not None
    return node


def _first_line(process: subprocess.Popen[bytes], log: IO[bytes]) -> bytes:
    """The first line the process prints, waiting at most START_TIMEOUT seconds."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    deadline = time.monotonic() + START_TIMEOUT
    line = b""
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        ready = remaining > 0 and select.select([fd], [], [], remaining)[0]
        chunk = os.read(fd, 4096) if ready else b""
        if not chunk:
            log.seek(0)
            stderr = log.read().decode(errors="replace")
            why = "stopped" if ready else f"did not start within {START_TIMEOUT:.0f} s"
            raise AssertionError(f"the upstream provider {why}: {stderr}")
        line += chunk
    return line


@contextmanager
def upstream_provider(
    clients: list[dict[str, Any]], accounts: list[dict[str, Any]]
) -> Iterator[Upstream]:
    """Run the upstream provider for the ``with`` block.

    ``clients``: ``{"client_id", "client_secret", "redirect_uris": [...]}``, confidential
    clients of the code flow with PKCE; ``accounts``: ``{"sub", "login", "password",
    "email", "email_verified", "name"}``."""
    node = node_or_skip(FOLDER, "oidc-provider")
    settings = json.dumps({"clients": clients, "accounts": accounts})
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [node, str(FOLDER / "upstream.mjs"), settings],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        try:
            yield Upstream(issuer=json.loads(_first_line(process, log))["issuer"])
        finally:
            # It exits when its stdin closes.
            assert process.stdin is not None
            process.stdin.close()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            assert process.stdout is not None
            process.stdout.close()
