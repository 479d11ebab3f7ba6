"""A private Redis for a test: its own ``redis-server`` on a free port in a temporary folder,
never the shared one at 127.0.0.1:6379, so a test may fill it, stop it or wipe it.

Use the ``redis_server`` fixture (function scope); where the binary is missing it skips,
or fails when ``MICRO_USER_TEST_REQUIRE`` names ``redis`` (as ``.ci/run`` sets).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.services import REQUIRE, free_port


class RedisServer:
    """``redis-server`` without persistence, bound to loopback on its own port."""

    def __init__(self, directory: Path, binary: str) -> None:
        self.directory = directory
        self.binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        self._log = (self.directory / f"redis-{self.port}.log").open("ab")
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited at start (log in {self.directory})")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer within 20 s")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Stop this server (only the process this object started)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if not self._log.closed:
            self._log.close()


def redis_binary() -> str:
    """The redis-server binary, or skip (fail where Redis is required)."""
    binary = shutil.which("redis-server")
    if binary is None:
        reason = "redis-server is not installed (needed to start a private Redis for this test)"
        if "redis" in REQUIRE:
            pytest.fail(f"Redis is required (MICRO_USER_TEST_REQUIRE) but: {reason}")
        pytest.skip(reason)
    return binary


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A private, empty Redis for one test, stopped and removed at its end."""
    binary = redis_binary()
    with tempfile.TemporaryDirectory(prefix="micro-user-redis-") as directory:
        server = RedisServer(Path(directory), binary).start()
        try:
            yield server
        finally:
            server.stop()
