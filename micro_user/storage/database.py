"""Engines and transactions for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode with a busy timeout, and every write transaction
starts with ``BEGIN IMMEDIATE``: a deferred transaction that reads and then
writes can fail at once with "database is locked" when another writer got
there first, while an immediate one waits its turn (up to the busy timeout).
SQLite runs synchronous SQLAlchemy on the event loop (``sqlite_driver``):
statements take microseconds there; only a syncing COMMIT goes to a thread,
and waiting for another process's write lock is done with asyncio sleeps.
PostgreSQL uses the async engine (psycopg).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, CursorResult, Engine, Row, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql.base import Executable

from micro_user.errors import BadRequest
from micro_user.storage import sqlite_driver

SQLITE_BUSY_TIMEOUT_MS = 15_000
# What a statement's parameters are: one set of values, or many (executemany).
Parameters = Mapping[str, Any] | Sequence[Mapping[str, Any]]
_ASYNC_COMMIT = text("SET LOCAL synchronous_commit TO OFF")
# What the current write transaction runs once it has committed (see ``after_commit``).
_after_commit: ContextVar[list[Callable[[], None]] | None] = ContextVar(
    "after_commit", default=None
)


def after_commit(action: Callable[[], None]) -> None:
    """Run ``action`` once the current write transaction has committed (never if it rolls
    back). What others may only learn of after the commit (a committed change to reload)
    is announced here: announced before it, a reader could look, see the old data and
    believe it has caught up."""
    pending = _after_commit.get()
    if pending is None:
        raise RuntimeError("after_commit outside a write transaction")
    pending.append(action)


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


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def ensure_sqlite_dir(url: URL) -> None:
    """Make the database's folder (0700 when we make it) and file (0600) before SQLite opens
    it: the file holds password hashes, and SQLite gives its -wal and -shm files the mode of
    the database file. A file left open to others by an older version is closed to them."""
    if not is_sqlite(url) or not url.database or url.database == ":memory:":
        return
    path = Path(url.database).expanduser()
    if not path.parent.is_dir():
        path.parent.parent.mkdir(parents=True, exist_ok=True)
        path.parent.mkdir(mode=0o700, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(OSError):  # absent, or not ours to change
            mode = file.stat().st_mode
            if mode & 0o077 and file.stat().st_uid == os.getuid():
                file.chmod(mode & 0o700)


def configure_sqlite(
    sync_engine: Any, synchronous: str = "full", busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
) -> None:
    """Per-connection pragmas and our own BEGIN."""
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
        options = conn.get_execution_options()
        if options.get("sqlite_begun"):  # Database.write issued BEGIN IMMEDIATE itself
            return
        # Straight to the driver: this runs for every transaction.
        cursor = conn.connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE" if options.get("sqlite_immediate") else "BEGIN")
        finally:
            cursor.close()


class Connection(Protocol):
    """What services and repositories call on a connection: the async engine's
    ``AsyncConnection`` (PostgreSQL) and ``sqlite_driver.InlineConnection`` (SQLite)."""

    async def execute(
        self, statement: Executable, parameters: Parameters | None = None
    ) -> CursorResult[Any]: ...

    def stream(self, statement: Executable) -> Awaitable[AsyncIterator[Row[Any]]]:
        """Awaited, the rows one by one (``async for``)."""
        ...


class Database(Protocol):
    """Where the services keep their data, and the two kinds of transaction they use:
    ``SqliteDatabase`` or ``PostgresDatabase``, chosen by ``open_database`` from the URL."""

    url: URL

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        ...

    def read(self) -> AbstractAsyncContextManager[Connection]:
        """A read-only unit of work (rolled back at the end)."""
        ...

    def write(self, *, durable: bool = True) -> AbstractAsyncContextManager[Connection]:
        """A transaction that commits on success and rolls back on any exception.

        ``durable=False`` is for data that may be lost to a power failure (never to a crash
        of the process, and never half-written): abuse counters. Its commit does not wait
        for the disk (SQLite: synchronous=NORMAL; PostgreSQL: synchronous_commit off)."""
        ...

    async def ping(self) -> None: ...

    def free_bytes(self) -> int | None:
        """Free space beside the database's files, when they are ours to see (SQLite)."""
        ...

    async def close(self) -> None: ...


def open_database(
    raw_url: str, *, pool_size: int = 10, sqlite_synchronous: str = "full", echo: bool = False
) -> Database:
    """The database a URL names (``sqlite:///file`` or ``postgresql://...``)."""
    url = parse_url(raw_url)
    if is_sqlite(url):
        return SqliteDatabase(
            url, pool_size=pool_size, sqlite_synchronous=sqlite_synchronous, echo=echo
        )
    return PostgresDatabase(url, pool_size=pool_size, echo=echo)


class _Transactions:
    """``write`` for both databases: the transaction, then what was to run after its commit."""

    @asynccontextmanager
    async def write(self, *, durable: bool = True) -> AsyncIterator[Connection]:
        pending: list[Callable[[], None]] = []
        token = _after_commit.set(pending)
        try:
            async with self._transaction(durable) as conn:
                yield conn
        finally:
            _after_commit.reset(token)
        for action in pending:
            action()

    def _transaction(self, durable: bool) -> AbstractAsyncContextManager[Connection]:
        raise NotImplementedError

    async def ping(self) -> None:
        async with self.read() as conn:
            await conn.execute(text("SELECT 1"))

    def read(self) -> AbstractAsyncContextManager[Connection]:
        raise NotImplementedError


class PostgresDatabase(_Transactions):
    """PostgreSQL through SQLAlchemy's async engine (psycopg), a pool per process."""

    dialect = "postgresql"

    def __init__(self, url: URL, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(
            url, echo=echo, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size
        )

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        async with self.engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def _transaction(self, durable: bool) -> AsyncIterator[Connection]:
        async with self.engine.begin() as conn:
            if not durable:
                await conn.execute(_ASYNC_COMMIT)
            yield conn

    def free_bytes(self) -> int | None:
        return None  # the server's disk: PostgreSQL says so itself (53100) when it is full

    async def close(self) -> None:
        await self.engine.dispose()


class SqliteDatabase(_Transactions):
    """An SQLite file, run on the event loop (see ``sqlite_driver``). Readers wait for a
    lock (rare in WAL mode) with SQLite's busy handler; writers never block the loop: their
    BEGIN IMMEDIATE is retried after asyncio sleeps while another process writes."""

    dialect = "sqlite"

    def __init__(
        self,
        url: URL,
        *,
        pool_size: int = 10,
        sqlite_synchronous: str = "full",
        echo: bool = False,
    ) -> None:
        self.url = url
        ensure_sqlite_dir(url)
        self.path = Path(url.database or "").expanduser()
        path = str(self.path)
        self._reader = self._sqlite_engine(path, pool_size, sqlite_synchronous, echo, 15_000)
        # Inside the process writers take turns on a lock (a handoff), so few connections do.
        self._writer = self._sqlite_engine(path, 2, sqlite_synchronous, echo, 0)
        # Transactions that need not survive a power loss (``write(durable=False)``) commit
        # without a disk sync; the next synced commit makes them durable too.
        self._quick_writer = (
            self._writer
            if sqlite_synchronous == "normal"
            else self._sqlite_engine(path, 1, "normal", echo, 0)
        )
        self._syncing_commit = sqlite_synchronous == "full"
        self._commits = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-commit")
        self._write_turn = asyncio.Lock()

    def _sqlite_engine(
        self, path: str, pool_size: int, synchronous: str, echo: bool, busy_timeout_ms: int
    ) -> Engine:
        engine = create_engine(
            self.url,
            creator=lambda: sqlite_driver.connect(path, busy_timeout_ms),
            poolclass=QueuePool,
            pool_size=pool_size,
            # Never wait for a connection: a wait would block the event loop.
            max_overflow=-1,
            echo=echo,
        )
        configure_sqlite(engine, synchronous, busy_timeout_ms)
        return engine

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        with self._reader.connect() as sync:
            yield sqlite_driver.InlineConnection(sync)

    @asynccontextmanager
    async def _transaction(self, durable: bool) -> AsyncIterator[Connection]:
        engine = self._writer if durable else self._quick_writer
        async with self._write_turn:
            with engine.connect() as sync:
                raw: Any = sync.connection.driver_connection
                await sqlite_driver.begin_immediate(raw, SQLITE_BUSY_TIMEOUT_MS)
                sync.execution_options(sqlite_begun=True)  # the "begin" listener skips BEGIN
                transaction = sync.begin()
                try:
                    yield sqlite_driver.InlineConnection(sync)
                except BaseException:
                    transaction.rollback()
                    raise
                if durable and self._syncing_commit:
                    await self._commit_on_thread(transaction)
                else:
                    transaction.commit()

    async def _commit_on_thread(self, transaction: Any) -> None:
        """COMMIT (a disk sync) on the commit thread; the connection goes back to the pool
        only after it finished, even when the request is cancelled meanwhile."""
        done = asyncio.get_running_loop().run_in_executor(self._commits, transaction.commit)
        try:
            await asyncio.shield(done)
        except asyncio.CancelledError:
            await asyncio.wait({done})
            raise

    def free_bytes(self) -> int | None:
        return shutil.disk_usage(self.path.parent).free

    async def close(self) -> None:
        for engine in {self._reader, self._writer, self._quick_writer}:
            engine.dispose()
        self._commits.shutdown(wait=True)
