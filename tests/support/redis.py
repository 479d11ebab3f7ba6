"""A private Redis for a test (see tests/support/private.py): never the shared one at
127.0.0.1:6379. Use the ``redis_server`` fixture (function scope)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.support.private import PrivateServer, binary_or_skip, running


class RedisServer(PrivateServer):
    """``redis-server`` without persistence."""

    name = "redis"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        return [
            self.binary,
            *("--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
        ]

    def answers(self, sock: socket.socket) -> bool:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


@pytest.fixture
def redis_server() -> Iterator[PrivateServer]:
    """A private, empty Redis for one test, stopped and removed at its end."""
    binary = binary_or_skip("redis-server", "redis", "a private Redis")
    with running(RedisServer, binary) as server:
        yield server
