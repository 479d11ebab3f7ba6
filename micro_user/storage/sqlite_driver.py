"""SQLite on the event loop: synchronous SQLAlchemy Core behind the async surface the
repositories use.

SQLite answers a statement on an indexed table from its page cache in
microseconds. Driving it the usual asyncio way (aiosqlite under SQLAlchemy's
async engine) costs far more than that per statement: four thread handoffs,
plus a greenlet switch per driver call. So the SQLite backend runs SQLAlchemy's
synchronous engine on the event loop's thread, and keeps off the loop only what
can wait:

- ``BEGIN IMMEDIATE`` waits while another process writes. Writers' connections
  have no busy timeout; ``begin_immediate`` retries after growing asyncio
  sleeps instead, up to a deadline, so the loop never blocks on the lock.
- ``COMMIT`` with ``synchronous = FULL`` syncs the write-ahead log to disk; the
  caller runs it on a worker thread (with ``NORMAL`` it only writes to the log).

Reads in WAL mode never wait for writers. Within one process writers take turns
on an asyncio lock (``Database.write``), so an immediate transaction only waits
for another process.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection as SyncConnection
from sqlalchemy.engine import CursorResult, Row
from sqlalchemy.sql.base import Executable

if TYPE_CHECKING:
    from micro_user.storage.database import Parameters

STREAM_CHUNK = 1000  # rows fetched at a time by ``stream``


def connect(path: str, busy_timeout_ms: int) -> sqlite3.Connection:
    """A sqlite3 connection in autocommit mode (our "begin" listener issues BEGIN), usable
    from a worker thread too (for COMMIT; never from two threads at once)."""
    return sqlite3.connect(
        path,
        timeout=busy_timeout_ms / 1000,
        isolation_level=None,
        check_same_thread=False,
        cached_statements=256,
    )


async def begin_immediate(connection: sqlite3.Connection, timeout_ms: int) -> None:
    """``BEGIN IMMEDIATE`` on a connection without a busy timeout: retried after growing
    sleeps while another process holds the write lock, for up to ``timeout_ms``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_ms / 1000
    pause = 0.001
    while True:
        try:
            connection.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            busy = getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY
            if not busy or loop.time() + pause > deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.025)


class InlineConnection:
    """What the repositories call on a connection (``execute``, ``stream``), run at once on
    a synchronous SQLAlchemy connection."""

    def __init__(self, connection: SyncConnection) -> None:
        self.sync = connection

    async def execute(
        self, statement: Executable, parameters: Parameters | None = None
    ) -> CursorResult[Any]:
        return self.sync.execute(statement, parameters)

    async def stream(self, statement: Executable) -> AsyncIterator[Row[Any]]:
        result = self.sync.execute(statement.execution_options(yield_per=STREAM_CHUNK))
        return _rows(result)


async def _rows(result: Any) -> AsyncIterator[Any]:
    for count, row in enumerate(result, 1):
        yield row
        if count % STREAM_CHUNK == 0:
            await asyncio.sleep(0)  # let other work run between chunks
