"""A private NATS with JetStream for a test (see tests/support/private.py): never the one at
127.0.0.1:4222 unless ``MICRO_USER_TEST_NATS`` names a server to use instead, explicitly."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from tests.support.private import PrivateServer, binary_or_skip, running


class NatsServer(PrivateServer):
    """``nats-server -js`` storing its streams in the temporary folder."""

    name = "nats"

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            self.binary,
            *("--addr", "127.0.0.1", "--port", str(self.port)),
            *("--jetstream", "--store_dir", str(self.directory)),
        ]

    def answers(self, sock: socket.socket) -> bool:
        return sock.recv(4).startswith(b"INFO")  # the server greets every client with INFO


@pytest.fixture
def nats_url() -> Iterator[str]:
    """The URL of a NATS server with JetStream that this test may use."""
    named = os.environ.get("MICRO_USER_TEST_NATS")
    if named:
        yield named
        return
    binary = binary_or_skip("nats-server", "nats", "a private NATS")
    with running(NatsServer, binary) as server:
        yield server.url  # type: ignore[attr-defined]


async def stream_made(jetstream, name: str = "MICRO_USER", seconds: float = 30) -> None:  # noqa: ANN001
    """Return once micro-user's publisher has connected and made its stream (a fresh private
    NATS has none until then)."""
    import asyncio
    import time

    from nats.js.errors import NotFoundError

    deadline = time.monotonic() + seconds
    while True:
        try:
            await jetstream.stream_info(name)
            return
        except NotFoundError:
            assert time.monotonic() < deadline, f"micro-user made no stream within {seconds} s"
            await asyncio.sleep(0.05)
