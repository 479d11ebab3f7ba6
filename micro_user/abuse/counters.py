"""Shared counters for abuse protection: in the database by default, in Redis when configured.

Both kinds are shared by every instance, so limits hold for the service as a
whole, not per process.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from micro_user.clock import Clock
from micro_user.storage.database import Database
from micro_user.storage.tables import login_failures, rate_counters


class Counters(Protocol):
    async def hit(self, key: str, window: int) -> tuple[int, int]:
        """Count one event in the key's current window: (count so far, seconds until it ends).

        A window starts with the first event after the previous one ended and lasts
        ``window`` seconds, so every key's count starts fresh at its first event rather
        than at a wall-clock boundary shared by all keys."""
        ...

    async def gate(
        self, key: str, limit: int, account: str, window: int, pair: str
    ) -> tuple[int, int, int, int, int]:
        """In one round trip: ``hit(key, window)``; while that count is within ``limit``,
        ``hit(account, window)`` too; and the pair's lock and failure count. Returns
        (count, account count or 0, seconds until the window that was exceeded ends, locked
        until, failures)."""
        ...

    async def fail(self, key: str, keep: int) -> int:
        """Count one more consecutive failure; the count (forgotten ``keep`` s after the last)."""
        ...

    async def lock(self, key: str, until: int) -> None: ...

    async def clear(self, key: str) -> None: ...

    async def prune(self) -> None: ...


def _insert(dialect: str, table: Any) -> Any:
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


class DatabaseCounters:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def _hit(self, key: str, window: int, now: int) -> Any:
        statement = _insert(self.db.dialect, rate_counters).values(
            key=key, window_start=now, count=1
        )
        # Within the open window add one; after it, a new window starts now with one.
        # One statement, so concurrent hits never lose a count.
        current = rate_counters.c.window_start > now - window
        return statement.on_conflict_do_update(
            index_elements=[rate_counters.c.key],
            set_={
                "count": case((current, rate_counters.c.count + 1), else_=1),
                "window_start": case((current, rate_counters.c.window_start), else_=now),
            },
        ).returning(rate_counters.c.count, rate_counters.c.window_start)

    @staticmethod
    def _counted(row: Any, window: int, now: int) -> tuple[int, int]:
        return int(row[0]), int(row[1]) + window - now

    async def hit(self, key: str, window: int) -> tuple[int, int]:
        now = self.clock()
        async with self.db.write() as conn:
            row = (await conn.execute(self._hit(key, window, now))).one()
        return self._counted(row, window, now)

    async def gate(
        self, key: str, limit: int, account: str, window: int, pair: str
    ) -> tuple[int, int, int, int, int]:
        now = self.clock()
        async with self.db.write() as conn:
            count, resets_in = self._counted(
                (await conn.execute(self._hit(key, window, now))).one(), window, now
            )
            per_account = 0
            if count <= limit:
                per_account, resets_in = self._counted(
                    (await conn.execute(self._hit(account, window, now))).one(), window, now
                )
            row = (
                await conn.execute(
                    select(login_failures.c.locked_until, login_failures.c.failures).where(
                        login_failures.c.key == pair
                    )
                )
            ).first()
        locked, failures = (int(row[0]), int(row[1])) if row else (0, 0)
        return count, per_account, resets_in, locked, failures

    async def fail(self, key: str, keep: int) -> int:
        now = self.clock()
        statement = _insert(self.db.dialect, login_failures).values(
            key=key, failures=1, locked_until=0, updated=now
        )
        fresh = login_failures.c.updated > now - keep
        statement = statement.on_conflict_do_update(
            index_elements=[login_failures.c.key],
            set_={
                "failures": case((fresh, login_failures.c.failures + 1), else_=1),
                "updated": now,
            },
        ).returning(login_failures.c.failures)
        async with self.db.write() as conn:
            return int((await conn.execute(statement)).scalar_one())

    async def lock(self, key: str, until: int) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                update(login_failures).where(login_failures.c.key == key).values(locked_until=until)
            )

    async def clear(self, key: str) -> None:
        async with self.db.write() as conn:
            await conn.execute(delete(login_failures).where(login_failures.c.key == key))

    async def prune(self) -> None:
        now = self.clock()
        async with self.db.write() as conn:
            await conn.execute(
                delete(rate_counters).where(rate_counters.c.window_start < now - 24 * 3600)
            )
            await conn.execute(
                delete(login_failures).where(
                    login_failures.c.updated < now - 24 * 3600, login_failures.c.locked_until < now
                )
            )


class RedisCounters:
    """The same counters in Redis (``MICRO_USER_REDIS_URL``), with expiry doing the pruning."""

    def __init__(self, url: str, clock: Clock) -> None:
        import redis.asyncio as redis

        self.redis = redis.from_url(url)
        self.clock = clock

    @staticmethod
    def _hit(pipe: Any, key: str, window: int) -> None:
        # The first event creates the counter with the window as its lifetime; later ones
        # add to it; it vanishes when the window ends. MULTI/EXEC keeps the three together.
        name = f"micro-user:rate:{key}"
        pipe.set(name, 0, ex=window, nx=True)
        pipe.incr(name)
        pipe.ttl(name)

    async def hit(self, key: str, window: int) -> tuple[int, int]:
        async with self.redis.pipeline(transaction=True) as pipe:
            self._hit(pipe, key, window)
            _, count, ttl = await pipe.execute()
        return int(count), max(1, int(ttl))

    async def gate(
        self, key: str, limit: int, account: str, window: int, pair: str
    ) -> tuple[int, int, int, int, int]:
        async with self.redis.pipeline(transaction=True) as pipe:
            self._hit(pipe, key, window)
            pipe.get(f"micro-user:lock:{pair}")
            pipe.get(f"micro-user:fail:{pair}")
            _, count, ttl, locked, failures = await pipe.execute()
        per_account, resets_in = 0, max(1, int(ttl))
        if int(count) <= limit:
            per_account, resets_in = await self.hit(account, window)
        return int(count), per_account, resets_in, int(locked or 0), int(failures or 0)

    async def fail(self, key: str, keep: int) -> int:
        name = f"micro-user:fail:{key}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, keep)
            count, _ = await pipe.execute()
        return int(count)

    async def lock(self, key: str, until: int) -> None:
        await self.redis.set(f"micro-user:lock:{key}", until, exat=until + 1)

    async def clear(self, key: str) -> None:
        await self.redis.delete(f"micro-user:fail:{key}", f"micro-user:lock:{key}")

    async def prune(self) -> None:
        return None

    async def close(self) -> None:
        await self.redis.aclose()
