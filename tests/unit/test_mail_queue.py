"""The mail queue with a clock the test drives: leases, backoff, expiry, deletion once sent."""

from __future__ import annotations

import pytest

from micro_user.email.senders import Mail
from micro_user.storage import tokens as repo


class Recorder:
    """A mail sender that fails while ``down`` and records what it sent."""

    def __init__(self) -> None:
        self.down = False
        self.sent: list[Mail] = []

    async def send(self, mail: Mail) -> None:
        if self.down:
            raise OSError("connection refused")
        self.sent.append(mail)


@pytest.fixture
def sender() -> Recorder:
    return Recorder()


@pytest.fixture
async def queue_services(make_services, sender):
    built = make_services(mail_backoff_seconds=2)
    built.mail.sender = sender
    yield built
    await built.close()


async def enqueue(services, clock, ttl: int = 600) -> str:
    async with services.db.write() as conn:
        return await services.mail.enqueue(
            conn, "micro", Mail("a@example.com", "s", "code: X"), expires=clock.now + ttl
        )


async def waiting(services) -> int:
    async with services.db.read() as conn:
        return await repo.mail_backlog(conn)


@pytest.mark.anyio
async def test_a_sent_mail_leaves_the_queue(queue_services, sender, clock):
    await enqueue(queue_services, clock)
    assert await queue_services.mail.run_once() == 1
    assert [m.to for m in sender.sent] == ["a@example.com"]
    assert await waiting(queue_services) == 0
    assert await queue_services.mail.run_once() == 0


@pytest.mark.anyio
async def test_a_failed_mail_is_retried_with_doubling_backoff(queue_services, sender, clock):
    await enqueue(queue_services, clock)
    sender.down = True
    assert await queue_services.mail.run_once() == 1  # attempt 1 fails: next in 2 s
    clock.now += 1
    assert await queue_services.mail.run_once() == 0
    clock.now += 1
    assert await queue_services.mail.run_once() == 1  # attempt 2 fails: next in 4 s
    clock.now += 3
    assert await queue_services.mail.run_once() == 0
    sender.down = False
    clock.now += 1
    assert await queue_services.mail.run_once() == 1
    assert len(sender.sent) == 1 and await waiting(queue_services) == 0


@pytest.mark.anyio
async def test_a_claimed_mail_is_left_to_its_instance(make_services, sender, clock):
    first, second = make_services(), make_services()
    try:
        first.mail.sender = second.mail.sender = sender
        await enqueue(first, clock)
        async with first.db.read() as conn:
            [row] = await repo.due_mail(conn, clock.now, 10)
        async with first.db.write() as conn:
            assert await repo.claim_mail(conn, row.id, row.attempts, clock.now + 60)
        assert await second.mail.run_once() == 0  # leased to the first
        clock.now += 60
        assert await second.mail.run_once() == 1  # the first went away: taken over
        assert len(sender.sent) == 1
    finally:
        await first.close()
        await second.close()


@pytest.mark.anyio
async def test_a_mail_whose_token_expired_is_dropped_unsent(queue_services, sender, clock):
    await enqueue(queue_services, clock, ttl=60)
    sender.down = True
    await queue_services.mail.run_once()
    sender.down = False
    clock.now += 60
    assert await queue_services.mail.run_once() == 1
    assert sender.sent == [] and await waiting(queue_services) == 0
