"""Session expiry and clean-up, with a clock the test controls."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from micro_user.errors import NotFound, Unauthorized
from micro_user.storage.tables import sessions


async def session_rows(services) -> int:
    async with services.db.read() as conn:
        return (await conn.execute(select(func.count()).select_from(sessions))).scalar_one()


@pytest.mark.anyio
async def test_sessions_expire_after_the_configured_lifetime(make_services, clock):
    services = make_services(session_ttl_seconds=3600)
    await services.accounts.create("micro", email="a@example.com", password="sturdy-pass-1")
    session = await services.sessions.login(
        "micro", email="a@example.com", password="sturdy-pass-1"
    )
    assert session.expires - session.created == 3600
    clock.now += 3599
    await services.sessions.read("micro", session.id)
    clock.now += 1
    with pytest.raises(Unauthorized):
        await services.sessions.read("micro", session.id)
    with pytest.raises(NotFound):
        await services.sessions.logout("micro", session.id)
    await services.close()


@pytest.mark.anyio
async def test_cleanup_deletes_expired_sessions_only(services, clock):
    await services.accounts.create("micro", email="a@example.com", password="sturdy-pass-1")
    old = await services.sessions.login("micro", email="a@example.com", password="sturdy-pass-1")
    clock.now += 6 * 24 * 3600
    fresh = await services.sessions.login("micro", email="a@example.com", password="sturdy-pass-1")
    clock.now += 2 * 24 * 3600
    removed, _, _ = await services.cleanup()
    assert removed == 1 and await session_rows(services) == 1
    await services.sessions.read("micro", fresh.id)
    with pytest.raises(Unauthorized):
        await services.sessions.read("micro", old.id)


@pytest.mark.anyio
async def test_session_ids_are_stored_only_as_digests(services):
    await services.accounts.create("micro", email="a@example.com", password="sturdy-pass-1")
    session = await services.sessions.login(
        "micro", email="a@example.com", password="sturdy-pass-1"
    )
    async with services.db.read() as conn:
        stored = (await conn.execute(select(sessions.c.token_hash))).scalars().all()
    assert session.id not in stored and len(stored[0]) == 64


@pytest.mark.anyio
async def test_a_wrong_namespace_never_sees_a_session(services):
    await services.accounts.create("micro", email="a@example.com", password="sturdy-pass-1")
    session = await services.sessions.login(
        "micro", email="a@example.com", password="sturdy-pass-1"
    )
    with pytest.raises(Unauthorized):
        await services.sessions.read("other", session.id)
