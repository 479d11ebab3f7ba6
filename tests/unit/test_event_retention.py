"""Delivered events (the audit log) go after their retention; what a webhook or the NATS
publisher still owes stays, however old."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from micro_user.events.nats import CURSOR
from micro_user.storage import events as events_repo
from micro_user.storage.tables import deliveries, events

DAY = 24 * 3600


async def event_seqs(services) -> list[int]:
    async with services.db.read() as conn:
        return list((await conn.execute(select(events.c.seq).order_by(events.c.seq))).scalars())


async def delivery_count(services) -> int:
    async with services.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(deliveries))).scalar_one())


async def make_account(services, name: str) -> None:
    await services.accounts.create("micro", email=f"{name}@example.com", password="sturdy-pass-1")


@pytest.mark.anyio
async def test_events_past_retention_go_and_newer_stay(make_services, clock):
    services = make_services(event_retention_days=30)
    await make_account(services, "old")
    old = await event_seqs(services)
    clock.now += 20 * DAY
    await make_account(services, "newer")
    clock.now += 11 * DAY  # the first is 31 days old, the second 11
    assert (await services.cleanup())[2] == len(old)
    remaining = await event_seqs(services)
    assert remaining and not set(old) & set(remaining)
    assert (await services.cleanup())[2] == 0
    await services.close()


@pytest.mark.anyio
async def test_zero_keeps_every_event(make_services, clock):
    services = make_services(event_retention_days=0)
    await make_account(services, "kept")
    before = await event_seqs(services)
    clock.now += 3650 * DAY
    assert (await services.cleanup())[2] == 0
    assert await event_seqs(services) == before
    await services.close()


@pytest.mark.anyio
async def test_an_event_a_webhook_still_owes_stays(make_services, clock):
    services = make_services(event_retention_days=1)
    await services.webhooks.create("micro", "http://127.0.0.1:9/hook", [])
    await make_account(services, "owed")
    owed = await event_seqs(services)
    assert await delivery_count(services) == len(owed)  # pending: nothing delivers here
    clock.now += 2 * DAY
    assert (await services.cleanup())[2] == 0
    assert await event_seqs(services) == owed
    # Once delivered (here: marked so), the event and its delivery row go.
    async with services.db.write() as conn:
        await conn.execute(deliveries.update().values(status="delivered"))
    assert (await services.cleanup())[2] == len(owed)
    assert await event_seqs(services) == [] and await delivery_count(services) == 0
    await services.close()


@pytest.mark.anyio
async def test_events_the_nats_publisher_has_not_passed_stay(make_services, clock):
    services = make_services(event_retention_days=1, nats_url="nats://127.0.0.1:1")
    await make_account(services, "first")
    first = await event_seqs(services)
    await make_account(services, "second")
    clock.now += 2 * DAY
    assert (await services.cleanup())[2] == 0  # nothing published yet
    async with services.db.write() as conn:
        await events_repo.set_cursor(conn, CURSOR, first[-1])
    assert (await services.cleanup())[2] == len(first)
    remaining = await event_seqs(services)
    assert remaining and min(remaining) > first[-1]
    await services.close()


@pytest.mark.anyio
async def test_pruning_goes_in_batches(make_services, clock, monkeypatch):
    monkeypatch.setattr("micro_user.events.audit.PRUNE_BATCH", 2)
    services = make_services(event_retention_days=1)
    for n in range(3):
        await make_account(services, f"batch{n}")
    made = await event_seqs(services)
    assert len(made) > 2
    clock.now += 2 * DAY
    assert (await services.cleanup())[2] == len(made)
    assert await event_seqs(services) == []
    await services.close()
