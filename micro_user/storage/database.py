"""Engines and transactions for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode with a busy timeout, and every write transaction
starts with ``BEGIN IMMEDIATE``: a deferred transaction that reads and then
writes can fail at once with "database is locked" when another writer got
there first, while an immediate one waits its turn (up to the busy timeout).
The async engine drives SQLite through our own driver (``sqlite_driver``):
statements run on the event loop, only the calls that can wait on a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from micro_user.errors import BadRequest
from micro_user.storage import sqlite_driver

SQLITE_BUSY_TIMEOUT_MS = 15_000


def parse_url(raw: str) -> URL:
    """Accept URLs as users write them (``postgresql://user@host/db``, ``sqlite:///file``)."""
    try:
        url = make_url(raw)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a clear message
        raise BadRequest("settings.database_url", f"invalid database URL: {exc}") from None
    backend = url.get_backend_name()
    if backend in ("postgres", "postgresql"):
        return url.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return url.set(drivername="sqlite")
    raise BadRequest(
        "settings.database_url",
        f"unsupported database {backend!r}: use sqlite:///path or postgresql://user@host:port/db",
    )


def async_url(url: URL) -> URL:
    return url.set(drivername="sqlite+aiosqlite") if is_sqlite(url) else url


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def ensure_sqlite_dir(url: URL) -> None:
    if is_sqlite(url) and url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def configure_sqlite(sync_engine: Any) -> None:
    """Per-connection pragmas and our own BEGIN, for both sqlite3 and aiosqlite."""

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN instead of the driver.
        if dbapi_connection.isolation_level is not None:
            dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        # Straight to the driver: this runs for every transaction.
        cursor = conn.connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        finally:
            cursor.close()


class Database:
    """The async engine and the two kinds of transaction the services use."""

    def __init__(self, raw_url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = parse_url(raw_url)
        ensure_sqlite_dir(self.url)
        kwargs: dict[str, Any] = {"echo": echo, "pool_pre_ping": not is_sqlite(self.url)}
        self._threads: ThreadPoolExecutor | None = None
        if not is_sqlite(self.url):
            kwargs.update(pool_size=pool_size, max_overflow=pool_size)
        else:
            # BEGIN IMMEDIATE and COMMIT run here; writers take turns, so two threads do.
            self._threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sqlite")
            kwargs.update(
                pool_size=pool_size,
                max_overflow=0,
                pool_timeout=60,
                async_creator=sqlite_driver.connector(
                    str(Path(self.url.database or "").expanduser()),
                    self._threads,
                    busy_timeout_ms=SQLITE_BUSY_TIMEOUT_MS,
                ),
            )
        self.engine: AsyncEngine = create_async_engine(async_url(self.url), **kwargs)
        if is_sqlite(self.url):
            configure_sqlite(self.engine.sync_engine)
        self._writer = self.engine.execution_options(sqlite_immediate=True)
        # SQLite has one writer at a time. Taking turns inside the process is a handoff;
        # leaving it to SQLite's busy handler means sleeping up to 100 ms between retries.
        self._write_turn = asyncio.Lock() if is_sqlite(self.url) else None

    @property
    def dialect(self) -> str:
        return "sqlite" if is_sqlite(self.url) else "postgresql"

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only unit of work (deferred transaction, rolled back at the end)."""
        async with self.engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that commits on success and rolls back on any exception."""
        if self._write_turn is None:
            async with self._writer.begin() as conn:
                yield conn
            return
        async with self._write_turn, self._writer.begin() as conn:
            yield conn

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()
        if self._threads is not None:
            self._threads.shutdown(wait=False)
