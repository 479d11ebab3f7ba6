"""Private servers for tests: each its own process on a free loopback port in a temporary
folder, never the shared one at the well-known port, so a test may fill, stop or wipe it.

Where the binary is missing the test skips, or fails when ``MICRO_USER_TEST_REQUIRE`` names
the part (as ``.ci/run`` sets).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.services import REQUIRE, free_port


class PrivateServer:
    """A child process bound to loopback on its own port; ``answers`` says when it is ready."""

    name = "server"

    def __init__(self, directory: Path, binary: str) -> None:
        self.directory = directory
        self.binary = binary
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def answers(self, sock: socket.socket) -> bool:
        raise NotImplementedError

    def start(self) -> PrivateServer:
        self._log = (self.directory / f"{self.name}-{self.port}.log").open("ab")
        self.process = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start (log in {self.directory})")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    if self.answers(sock):
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not answer within 20 s")

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


def binary_or_skip(binary: str, part: str, purpose: str) -> str:
    """The path of ``binary``, or skip (fail where ``part`` is required)."""
    path = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/usr/local/sbin")
    if path is None:
        reason = f"{binary} is not installed (needed to start {purpose} for this test)"
        if part in REQUIRE:
            pytest.fail(f"{part} is required (MICRO_USER_TEST_REQUIRE) but: {reason}")
        pytest.skip(reason)
    return path


@contextmanager
def running(kind: type[PrivateServer], binary: str) -> Iterator[PrivateServer]:
    """A started ``kind`` in a temporary folder, stopped and removed at the end."""
    with tempfile.TemporaryDirectory(prefix=f"micro-user-{kind.name}-") as directory:
        server = kind(Path(directory), binary).start()
        try:
            yield server
        finally:
            server.stop()
