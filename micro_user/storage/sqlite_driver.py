"""An asyncio face for :mod:`sqlite3` that SQLAlchemy's aiosqlite dialect drives.

aiosqlite runs every call (open a cursor, execute, fetch, close the cursor) on
a thread of its own and hands each result back to the event loop: four thread
hops per statement, which cost far more than the statement. SQLite answers a
statement on an indexed table from its page cache in microseconds, so this
driver runs statements on the event loop's thread, and nothing that waits:

- ``BEGIN IMMEDIATE`` waits while another process writes. On a connection
  opened without a busy timeout (the writers'), it is retried after growing
  asyncio sleeps, up to ``lock_timeout_ms``; on one with a busy timeout, a
  worker thread waits for it.
- ``COMMIT`` with ``synchronous = FULL`` syncs the write-ahead log to disk, on
  a worker thread (with ``NORMAL`` it only writes to the log, on the loop).
- ``executemany`` (bulk imports) runs on a worker thread.

A write transaction therefore costs one thread hop (none with ``NORMAL``) and
a read none. Reads in WAL mode never wait for writers. Within one process
writers already take turns (``Database.write``), so an immediate transaction
only waits for another process.

SQLAlchemy reaches the connection through its aiosqlite adapter, which uses
the public aiosqlite surface below plus ``_connection`` (the sqlite3 connection,
``None`` once closed) and ``_conn``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from typing import Any, TypeVar

T = TypeVar("T")

# Statements that may wait for another process's writer (see the module docstring).
_WAITING_PREFIXES = ("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE")


class Cursor:
    """The awaitable cursor SQLAlchemy's adapter expects, over a sqlite3 cursor."""

    def __init__(self, connection: Connection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor:
        if sql.lstrip()[:16].upper().startswith(_WAITING_PREFIXES):
            await self._connection.begin(self._cursor, sql, parameters)
        else:
            self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> Cursor:
        await self._connection.on_thread(self._cursor.executemany, sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class Connection:
    """One sqlite3 connection, used from the event loop and, for waiting calls, a worker
    thread (never both at once: SQLAlchemy awaits each call before the next)."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        executor: Executor,
        *,
        busy_timeout_ms: int,
        lock_timeout_ms: int,
        commit_on_thread: bool,
    ) -> None:
        self._connection: sqlite3.Connection | None = connection
        self._executor = executor
        self._busy_timeout_ms = busy_timeout_ms
        self._lock_timeout_ms = lock_timeout_ms
        self._commit_on_thread = commit_on_thread

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    async def on_thread(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, call, *args)

    async def begin(self, cursor: sqlite3.Cursor, sql: str, parameters: Sequence[Any]) -> None:
        """Run a statement that takes the write lock, waiting for it without blocking the
        loop: sleeping between tries (no busy timeout) or on a thread (busy timeout)."""
        if self._busy_timeout_ms:
            await self.on_thread(cursor.execute, sql, parameters)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._lock_timeout_ms / 1000
        pause = 0.001
        while True:
            try:
                cursor.execute(sql, parameters)
                return
            except sqlite3.OperationalError as exc:
                busy = getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY
                if not busy or loop.time() + pause > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.025)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> Cursor:
        return Cursor(self, self._conn.cursor())

    async def commit(self) -> None:
        if self._commit_on_thread:
            await self.on_thread(self._conn.commit)
        else:
            self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's terminate)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def connector(
    path: str,
    executor: Executor,
    *,
    busy_timeout_ms: int,
    lock_timeout_ms: int,
    commit_on_thread: bool = True,
) -> Any:
    """The ``async_creator`` for SQLAlchemy: open ``path`` in autocommit mode (SQLAlchemy's
    "begin" event issues BEGIN) from any thread."""

    async def connect() -> Connection:
        connection = sqlite3.connect(
            path,
            timeout=busy_timeout_ms / 1000,
            isolation_level=None,
            check_same_thread=False,
            cached_statements=256,
        )
        return Connection(
            connection,
            executor,
            busy_timeout_ms=busy_timeout_ms,
            lock_timeout_ms=lock_timeout_ms,
            commit_on_thread=commit_on_thread,
        )

    return connect
