"""Events on NATS JetStream (a private nats-server), across a crash of micro-user."""

from __future__ import annotations

import asyncio
import signal

import httpx
import pytest

from conftest import unique
from tests.support.nats import stream_made
from tests.support.services import ServerProcess


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_every_event_reaches_a_jetstream_consumer_once_after_a_crash(tmp_path, nats_url):
    import nats

    instance = ServerProcess(
        f"sqlite:///{tmp_path / 'nats.db'}",
        tmp_path,
        {"MICRO_USER_NATS_URL": nats_url, "MICRO_USER_DELIVERY_INTERVAL_SECONDS": "0.1"},
    ).start()
    namespace = unique("natsns")
    key = instance.cli("key", "create", "--namespace", namespace).stdout.strip()
    headers = {"Authorization": f"Bearer {key}"}

    def create(count: int) -> list[str]:
        return [
            httpx.post(
                f"{instance.base_url}/v1/user/Create",
                json={"email": f"{unique()}@example.com", "password": "sturdy-pass-1"},
                headers=headers,
            ).json()["account"]["id"]
            for _ in range(count)
        ]

    connection = await nats.connect(nats_url)
    received: dict[str, list[bytes]] = {}
    subjects: set[str] = set()
    try:
        jetstream = connection.jetstream()
        await stream_made(jetstream)

        async def on_message(message) -> None:
            received.setdefault(message.headers["Nats-Msg-Id"], []).append(message.data)
            subjects.add(message.subject)
            await message.ack()

        await jetstream.subscribe(f"micro.user.{namespace}.>", cb=on_message)
        ids = await asyncio.to_thread(create, 4)
        instance.process.send_signal(signal.SIGKILL)
        instance.process.wait()
        instance.start()
        ids += await asyncio.to_thread(create, 4)
        expected = {
            event["id"]
            for event in httpx.post(
                f"{instance.base_url}/v1/audit/List", json={"limit": 1000}, headers=headers
            ).json()["events"]
        }
        for _ in range(200):
            if set(received) >= expected:
                break
            await asyncio.sleep(0.1)
        assert set(received) == expected
        assert len(expected) >= 8 + 1  # the account creations and the key's creation
        assert f"micro.user.{namespace}.account.created" in subjects
        # Whatever was published twice around the crash carries one id: one event after de-duplication.
        assert all(len(set(copies)) == 1 for copies in received.values())
    finally:
        await connection.close()
        instance.stop()
