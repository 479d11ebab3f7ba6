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
_ASYNC_COMMIT = text("SET LOCAL synchronous_commit TO OFF")


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


def configure_sqlite(
    sync_engine: Any, synchronous: str = "full", busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
) -> None:
    """Per-connection pragmas and our own BEGIN, for both sqlite3 and our async driver."""
    if synchronous not in ("full", "normal"):
        raise ValueError(f"synchronous must be full or normal, not {synchronous!r}")

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN instead of the driver.
        if dbapi_connection.isolation_level is not None:
            dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA synchronous = {synchronous.upper()}")
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

    def __init__(
        self,
        raw_url: str,
        *,
        pool_size: int = 10,
        sqlite_synchronous: str = "full",
        echo: bool = False,
    ) -> None:
        self.url = parse_url(raw_url)
        ensure_sqlite_dir(self.url)
        self._threads: ThreadPoolExecutor | None = None
        self._write_turn: asyncio.Lock | None = None
        if not is_sqlite(self.url):
            self.engine: AsyncEngine = create_async_engine(
                self.url,
                echo=echo,
                pool_pre_ping=True,
                pool_size=pool_size,
                max_overflow=pool_size,
            )
            self._writer = self._quick_writer = self.engine
            return
        # Readers and writers get engines of their own. Readers wait for a lock (rare in
        # WAL mode) with SQLite's busy handler; writers never block the event loop: their
        # BEGIN IMMEDIATE is retried with asyncio sleeps while another process writes.
        # COMMIT runs on a thread when it syncs the disk (synchronous=full).
        self._threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sqlite")
        path = str(Path(self.url.database or "").expanduser())
        self.engine = self._sqlite_engine(
            path, pool_size, sqlite_synchronous, echo, busy_timeout_ms=SQLITE_BUSY_TIMEOUT_MS
        )
        # Inside the process writers take turns on a lock (a handoff), so two connections do.
        self._writer = self._sqlite_engine(
            path, 2, sqlite_synchronous, echo, busy_timeout_ms=0
        ).execution_options(sqlite_immediate=True)
        # Transactions that need not survive a power loss (``write(durable=False)``) commit
        # without a disk sync; the next synced commit makes them durable too.
        self._quick_writer = (
            self._writer
            if sqlite_synchronous == "normal"
            else self._sqlite_engine(path, 1, "normal", echo, busy_timeout_ms=0).execution_options(
                sqlite_immediate=True
            )
        )
        self._write_turn = asyncio.Lock()

    def _sqlite_engine(
        self, path: str, pool_size: int, synchronous: str, echo: bool, *, busy_timeout_ms: int
    ) -> AsyncEngine:
        assert self._threads is not None
        engine = create_async_engine(
            async_url(self.url),
            echo=echo,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=60,
            async_creator=sqlite_driver.connector(
                path,
                self._threads,
                busy_timeout_ms=busy_timeout_ms,
                lock_timeout_ms=SQLITE_BUSY_TIMEOUT_MS,
                # Without a sync per commit, COMMIT returns in microseconds.
                commit_on_thread=synchronous == "full",
            ),
        )
        configure_sqlite(engine.sync_engine, synchronous, busy_timeout_ms)
        return engine

    @property
    def dialect(self) -> str:
        return "sqlite" if is_sqlite(self.url) else "postgresql"

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only unit of work (deferred transaction, rolled back at the end)."""
        async with self.engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def write(self, *, durable: bool = True) -> AsyncIterator[AsyncConnection]:
        """A transaction that commits on success and rolls back on any exception.

        ``durable=False`` is for data that may be lost to a power failure (never to a crash
        of the process, and never half-written): abuse counters. Its commit does not wait
        for the disk (SQLite: synchronous=NORMAL; PostgreSQL: synchronous_commit off)."""
        if self._write_turn is None:
            async with self._writer.begin() as conn:
                if not durable:
                    await conn.execute(_ASYNC_COMMIT)
                yield conn
            return
        engine = self._writer if durable else self._quick_writer
        async with self._write_turn, engine.begin() as conn:
            yield conn

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        disposed = set()
        for engine in (self.engine, self._writer, self._quick_writer):
            if engine.sync_engine.pool not in disposed:
                disposed.add(engine.sync_engine.pool)
                await engine.dispose()
        if self._threads is not None:
            self._threads.shutdown(wait=False)
