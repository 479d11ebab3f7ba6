"""Shared counters for abuse protection: in the database by default, in Redis when configured.

Both kinds are shared by every instance, so limits hold for the service as a
whole, not per process.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from redis.exceptions import RedisError

from micro_user.clock import Clock
from micro_user.storage.counters import CounterRows
from micro_user.storage.database import Database

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Gate:
    """What ``Counters.gate`` found: the address's count in its window (0 when not counted)
    and the seconds until that window ends, and the (address, account) pair's lock and
    consecutive failures."""

    count: int
    resets_in: int
    locked_until: int
    failures: int


class Counters(Protocol):
    async def hit(self, key: str, window: int) -> tuple[int, int]:
        """Count one event in the key's current window: (count so far, seconds until it ends).

        A window starts with the first event after the previous one ended and lasts
        ``window`` seconds, so every key's count starts fresh at its first event rather
        than at a wall-clock boundary shared by all keys."""
        ...

    async def gate(self, key: str | None, window: int, pair: str) -> Gate:
        """The pair's lock and failure count and, unless the pair is locked now (an attempt
        refused is never counted) or ``key`` is None, ``hit(key, window)``."""
        ...

    async def fail(self, key: str, keep: int) -> int:
        """Count one more consecutive failure; the count (forgotten ``keep`` s after the last)."""
        ...

    async def lock(self, key: str, until: int) -> None: ...

    async def clear(self, key: str) -> None: ...

    async def prune(self) -> None: ...


class DatabaseCounters:
    """Counters in the database. Their transactions are not durable (``write(durable=False)``):
    a power failure may forget the last counts, which costs an attacker's victims nothing,
    and a login does not wait for the disk twice."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.rows = CounterRows(db.dialect)

    async def hit(self, key: str, window: int) -> tuple[int, int]:
        now = self.clock()
        async with self.db.write(durable=False) as conn:
            return await self.rows.hit(conn, key, window, now)

    async def gate(self, key: str | None, window: int, pair: str) -> Gate:
        now = self.clock()
        async with self.db.write(durable=False) as conn:
            locked, failures = await self.rows.pair(conn, pair)
            count, resets_in = 0, 0
            if key is not None and locked <= now:
                count, resets_in = await self.rows.hit(conn, key, window, now)
        return Gate(count, resets_in, locked, failures)

    async def fail(self, key: str, keep: int) -> int:
        async with self.db.write(durable=False) as conn:
            return await self.rows.fail(conn, key, self.clock(), keep)

    async def lock(self, key: str, until: int) -> None:
        async with self.db.write(durable=False) as conn:
            await self.rows.lock(conn, key, until)

    async def clear(self, key: str) -> None:
        async with self.db.write(durable=False) as conn:
            await self.rows.clear(conn, key)

    async def prune(self) -> None:
        async with self.db.write(durable=False) as conn:
            await self.rows.prune(conn, self.clock() - 24 * 3600)


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
    async def gate(self, key: str | None, window: int, pair: str) -> Gate:
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
        return Gate(count, resets_in, int(locked or 0), int(failures or 0))

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
