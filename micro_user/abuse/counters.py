"""Shared counters for abuse protection: in the database by default, in Redis when configured.

Both kinds are shared by every instance, so limits hold for the service as a
whole, not per process.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from redis.exceptions import RedisError
from sqlalchemy import BigInteger, bindparam, case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from micro_user.clock import Clock
from micro_user.storage.database import Connection, Database
from micro_user.storage.tables import login_failures, rate_counters

P = ParamSpec("P")
R = TypeVar("R")


class Counters(Protocol):
    async def hit(self, key: str, window: int) -> tuple[int, int]:
        """Count one event in the key's current window: (count so far, seconds until it ends).

        A window starts with the first event after the previous one ended and lasts
        ``window`` seconds, so every key's count starts fresh at its first event rather
        than at a wall-clock boundary shared by all keys."""
        ...

    async def gate(self, key: str | None, window: int, pair: str) -> tuple[int, int, int, int]:
        """The pair's lock and failure count and, unless the pair is locked now (an attempt
        refused is never counted) or ``key`` is None, ``hit(key, window)``. Returns (count or
        0, seconds until the window ends, locked until, failures)."""
        ...

    async def fail(self, key: str, keep: int) -> int:
        """Count one more consecutive failure; the count (forgotten ``keep`` s after the last)."""
        ...

    async def lock(self, key: str, until: int) -> None: ...

    async def clear(self, key: str) -> None: ...

    async def prune(self) -> None: ...


def _insert(dialect: str, table: Any) -> Any:
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


class _Statements:
    """The counters' statements, built once per dialect with bound parameters: building
    and cache-keying a statement costs more than SQLite takes to run it."""

    def __init__(self, dialect: str) -> None:
        now, window = bindparam("now", type_=BigInteger), bindparam("window", type_=BigInteger)
        hit = _insert(dialect, rate_counters).values(
            key=bindparam("key"), window_start=now, count=1
        )
        # Within the open window add one; after it, a new window starts now with one.
        # One statement, so concurrent hits never lose a count.
        current = rate_counters.c.window_start > now - window
        self.hit = hit.on_conflict_do_update(
            index_elements=[rate_counters.c.key],
            set_={
                "count": case((current, rate_counters.c.count + 1), else_=1),
                "window_start": case((current, rate_counters.c.window_start), else_=now),
            },
        ).returning(rate_counters.c.count, rate_counters.c.window_start)
        self.pair = select(login_failures.c.locked_until, login_failures.c.failures).where(
            login_failures.c.key == bindparam("key")
        )
        fail = _insert(dialect, login_failures).values(
            key=bindparam("key"), failures=1, locked_until=0, updated=now
        )
        fresh = login_failures.c.updated > now - bindparam("keep", type_=BigInteger)
        self.fail = fail.on_conflict_do_update(
            index_elements=[login_failures.c.key],
            set_={
                "failures": case((fresh, login_failures.c.failures + 1), else_=1),
                "updated": now,
            },
        ).returning(login_failures.c.failures)
        self.lock = (
            update(login_failures)
            .where(login_failures.c.key == bindparam("pair"))
            .values(locked_until=bindparam("until", type_=BigInteger))
        )
        self.clear = delete(login_failures).where(login_failures.c.key == bindparam("pair"))


class DatabaseCounters:
    """Counters in the database. Their transactions are not durable (``write(durable=False)``):
    a power failure may forget the last counts, which costs an attacker's victims nothing,
    and a login does not wait for the disk twice."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.sql = _Statements(db.dialect)

    async def _hit(self, conn: Connection, key: str, window: int, now: int) -> tuple[int, int]:
        """(count, seconds until the window ends)."""
        row = (await conn.execute(self.sql.hit, {"key": key, "now": now, "window": window})).one()
        return int(row[0]), int(row[1]) + window - now

    async def hit(self, key: str, window: int) -> tuple[int, int]:
        now = self.clock()
        async with self.db.write(durable=False) as conn:
            return await self._hit(conn, key, window, now)

    async def gate(self, key: str | None, window: int, pair: str) -> tuple[int, int, int, int]:
        now = self.clock()
        async with self.db.write(durable=False) as conn:
            row = (await conn.execute(self.sql.pair, {"key": pair})).first()
            locked, failures = (int(row[0]), int(row[1])) if row else (0, 0)
            count, resets_in = 0, 0
            if key is not None and locked <= now:
                count, resets_in = await self._hit(conn, key, window, now)
        return count, resets_in, locked, failures

    async def fail(self, key: str, keep: int) -> int:
        params = {"key": key, "now": self.clock(), "keep": keep}
        async with self.db.write(durable=False) as conn:
            return int((await conn.execute(self.sql.fail, params)).scalar_one())

    async def lock(self, key: str, until: int) -> None:
        async with self.db.write(durable=False) as conn:
            await conn.execute(self.sql.lock, {"pair": key, "until": until})

    async def clear(self, key: str) -> None:
        async with self.db.write(durable=False) as conn:
            await conn.execute(self.sql.clear, {"pair": key})

    async def prune(self) -> None:
        now = self.clock()
        async with self.db.write(durable=False) as conn:
            await conn.execute(
                delete(rate_counters).where(rate_counters.c.window_start < now - 24 * 3600)
            )
            await conn.execute(
                delete(login_failures).where(
                    login_failures.c.updated < now - 24 * 3600, login_failures.c.locked_until < now
                )
            )


class StoreDown(Exception):
    """The counters' store (Redis) did not answer; ``AbuseProtection`` decides, per use,
    whether that refuses the request or lets it through."""


# A Redis that hangs must not hang every Login with it: each command gives up after this.
REDIS_TIMEOUT_SECONDS = 2.0


def _store_down(
    method: Callable[Concatenate[RedisCounters, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[RedisCounters, P], Coroutine[Any, Any, R]]:
    """Turn Redis's errors (connection refused, timeout, ...) into ``StoreDown``."""

    async def call(counters: RedisCounters, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(counters, *args, **kwargs)
        except (RedisError, OSError) as exc:
            raise StoreDown(f"Redis: {type(exc).__name__}") from exc

    return call


class RedisCounters:
    """The same counters in Redis (``MICRO_USER_REDIS_URL``), with expiry doing the pruning."""

    def __init__(self, url: str, clock: Clock) -> None:
        import redis.asyncio as redis

        self.redis = redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        self.clock = clock

    @staticmethod
    def _hit(pipe: Any, key: str, window: int) -> None:
        # The first event creates the counter with the window as its lifetime; later ones
        # add to it; it vanishes when the window ends. MULTI/EXEC keeps the three together.
        name = f"micro-user:rate:{key}"
        pipe.set(name, 0, ex=window, nx=True)
        pipe.incr(name)
        pipe.ttl(name)

    @_store_down
    async def hit(self, key: str, window: int) -> tuple[int, int]:
        async with self.redis.pipeline(transaction=True) as pipe:
            self._hit(pipe, key, window)
            _, count, ttl = await pipe.execute()
        return int(count), max(1, int(ttl))

    @_store_down
    async def gate(self, key: str | None, window: int, pair: str) -> tuple[int, int, int, int]:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(f"micro-user:lock:{pair}")
            pipe.get(f"micro-user:fail:{pair}")
            locked, failures = await pipe.execute()
        count, resets_in = 0, 0
        if key is not None and int(locked or 0) <= self.clock():
            async with self.redis.pipeline(transaction=True) as pipe:
                self._hit(pipe, key, window)
                _, hits, ttl = await pipe.execute()
            count, resets_in = int(hits), max(1, int(ttl))
        return count, resets_in, int(locked or 0), int(failures or 0)

    @_store_down
    async def fail(self, key: str, keep: int) -> int:
        name = f"micro-user:fail:{key}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, keep)
            count, _ = await pipe.execute()
        return int(count)

    @_store_down
    async def lock(self, key: str, until: int) -> None:
        await self.redis.set(f"micro-user:lock:{key}", until, exat=until + 1)

    @_store_down
    async def clear(self, key: str) -> None:
        await self.redis.delete(f"micro-user:fail:{key}", f"micro-user:lock:{key}")

    async def prune(self) -> None:
        return None

    async def close(self) -> None:
        await self.redis.aclose()
