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
        """Count one event in the current fixed window: (count so far, seconds until it ends)."""
        ...

    async def gate(
        self, key: str, limit: int, account: str, window: int, pair: str
    ) -> tuple[int, int, int, int, int]:
        """In one round trip: ``hit(key, window)``; while that count is within ``limit``,
        ``hit(account, window)`` too; and the pair's lock and failure count. Returns
        (count, account count or 0, seconds until the window ends, locked until, failures)."""
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
        start = now - now % window
        statement = _insert(self.db.dialect, rate_counters).values(
            key=key, window_start=start, count=1
        )
        # A new window starts the count again; the same window adds one. One statement, no race.
        return statement.on_conflict_do_update(
            index_elements=[rate_counters.c.key],
            set_={
                "count": _same_window(statement, rate_counters.c.count + 1, 1),
                "window_start": statement.excluded.window_start,
            },
        ).returning(rate_counters.c.count)

    async def hit(self, key: str, window: int) -> tuple[int, int]:
        now = self.clock()
        async with self.db.write() as conn:
            count = int((await conn.execute(self._hit(key, window, now))).scalar_one())
        return count, window - now % window

    async def gate(
        self, key: str, limit: int, account: str, window: int, pair: str
    ) -> tuple[int, int, int, int, int]:
        now = self.clock()
        async with self.db.write() as conn:
            count = int((await conn.execute(self._hit(key, window, now))).scalar_one())
            per_account = 0
            if count <= limit:
                per_account = int(
                    (await conn.execute(self._hit(account, window, now))).scalar_one()
                )
            row = (
                await conn.execute(
                    select(login_failures.c.locked_until, login_failures.c.failures).where(
                        login_failures.c.key == pair
                    )
                )
            ).first()
        locked, failures = (int(row[0]), int(row[1])) if row else (0, 0)
        return count, per_account, window - now % window, locked, failures

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


def _same_window(statement: Any, then: Any, otherwise: Any) -> Any:
    return case(
        (rate_counters.c.window_start == statement.excluded.window_start, then), else_=otherwise
    )


class RedisCounters:
    """The same counters in Redis (``MICRO_USER_REDIS_URL``), with expiry doing the pruning."""

    def __init__(self, url: str, clock: Clock) -> None:
        import redis.asyncio as redis

        self.redis = redis.from_url(url)
        self.clock = clock

    async def hit(self, key: str, window: int) -> tuple[int, int]:
        now = self.clock()
        start = now - now % window
        name = f"micro-user:rate:{key}:{start}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window + 1)
            count, _ = await pipe.execute()
        return int(count), start + window - now

    async def gate(
        self, key: str, limit: int, account: str, window: int, pair: str
    ) -> tuple[int, int, int, int, int]:
        now = self.clock()
        start = now - now % window
        name = f"micro-user:rate:{key}:{start}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window + 1)
            pipe.get(f"micro-user:lock:{pair}")
            pipe.get(f"micro-user:fail:{pair}")
            count, _, locked, failures = await pipe.execute()
        per_account = 0
        if int(count) <= limit:
            per_account, _ = await self.hit(account, window)
        return int(count), per_account, start + window - now, int(locked or 0), int(failures or 0)

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
