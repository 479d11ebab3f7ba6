"""The SQLite driver: writers wait for another process's write lock without blocking the
event loop, and readers do not wait for it at all (WAL)."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest
from sqlalchemy import text

from micro_user.storage.database import open_database


@pytest.fixture
def other_process(tmp_path, database_url):
    """A second connection to the file, as another process would hold it."""
    connection = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    yield connection
    connection.close()


async def ticking(ticks: list[float]) -> None:
    while True:
        await asyncio.sleep(0.01)
        ticks.append(time.monotonic())


@pytest.mark.anyio
@pytest.mark.parametrize("synchronous", ["full", "normal"])
async def test_a_writer_waits_for_another_process_while_the_loop_runs_on(
    database_url, other_process, synchronous
):
    db = open_database(database_url, sqlite_synchronous=synchronous)
    other_process.execute("BEGIN IMMEDIATE")
    other_process.execute("INSERT INTO outbox_cursors (name, seq) VALUES ('other', 7)")
    loop = asyncio.get_running_loop()
    loop.call_later(0.3, other_process.execute, "COMMIT")
    ticks: list[float] = []
    ticker = asyncio.create_task(ticking(ticks))
    started = time.monotonic()
    try:
        async with db.write() as conn:
            seen = (
                await conn.execute(text("SELECT seq FROM outbox_cursors WHERE name = 'other'"))
            ).scalar_one()
            await conn.execute(text("INSERT INTO outbox_cursors (name, seq) VALUES ('ours', 1)"))
    finally:
        ticker.cancel()
    waited = time.monotonic() - started
    assert waited >= 0.25, "the write began before the other process let go of the lock"
    assert seen == 7, "the write saw the other process's committed row"
    assert len([t for t in ticks if t < started + 0.25]) >= 10, "the event loop was blocked"
    async with db.read() as conn:
        rows = dict((await conn.execute(text("SELECT name, seq FROM outbox_cursors"))).all())
    assert rows == {"other": 7, "ours": 1}
    await db.close()


@pytest.mark.anyio
async def test_readers_do_not_wait_for_another_process_writing(database_url, other_process):
    db = open_database(database_url)
    other_process.execute("BEGIN IMMEDIATE")
    other_process.execute("INSERT INTO outbox_cursors (name, seq) VALUES ('pending', 1)")
    started = time.monotonic()
    async with db.read() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM outbox_cursors"))).scalar_one()
    assert time.monotonic() - started < 0.2
    assert count == 0, "uncommitted rows are not visible"
    other_process.execute("ROLLBACK")
    await db.close()


@pytest.mark.anyio
async def test_more_readers_than_pooled_connections_never_wait_for_each_other(database_url):
    db = open_database(database_url, pool_size=2)

    async def reader() -> int:
        async with db.read() as conn:
            await asyncio.sleep(0.05)  # holds its connection across an await
            return int((await conn.execute(text("SELECT 1"))).scalar_one())

    started = time.monotonic()
    results = await asyncio.wait_for(asyncio.gather(*(reader() for _ in range(30))), timeout=5)
    assert results == [1] * 30
    assert time.monotonic() - started < 1.0, "readers queued for the two pooled connections"
    await db.close()
