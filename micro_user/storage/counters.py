"""Rows of the abuse counters: rate windows per key, and consecutive failures (and the
lock) per (address, account) pair. One statement per change, so concurrent requests never
lose a count."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, bindparam, case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from micro_user.storage.database import Connection
from micro_user.storage.tables import login_failures, rate_counters


def _insert(dialect: str, table: Any) -> Any:
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


class CounterRows:
    """The abuse counters' rows (rate windows, failure pairs and their locks). The
    statements are built once per dialect with bound parameters: building
    and cache-keying a statement costs more than SQLite takes to run it."""

    def __init__(self, dialect: str) -> None:
        now, window = bindparam("now", type_=BigInteger), bindparam("window", type_=BigInteger)
        hit = _insert(dialect, rate_counters).values(
            key=bindparam("key"), window_start=now, count=1
        )
        # Within the open window add one; after it, a new window starts now with one.
        # One statement, so concurrent hits never lose a count.
        current = rate_counters.c.window_start > now - window
        self._hit = hit.on_conflict_do_update(
            index_elements=[rate_counters.c.key],
            set_={
                "count": case((current, rate_counters.c.count + 1), else_=1),
                "window_start": case((current, rate_counters.c.window_start), else_=now),
            },
        ).returning(rate_counters.c.count, rate_counters.c.window_start)
        self._pair = select(login_failures.c.locked_until, login_failures.c.failures).where(
            login_failures.c.key == bindparam("key")
        )
        fail = _insert(dialect, login_failures).values(
            key=bindparam("key"), failures=1, locked_until=0, updated=now
        )
        fresh = login_failures.c.updated > now - bindparam("keep", type_=BigInteger)
        self._fail = fail.on_conflict_do_update(
            index_elements=[login_failures.c.key],
            set_={
                "failures": case((fresh, login_failures.c.failures + 1), else_=1),
                "updated": now,
            },
        ).returning(login_failures.c.failures)
        self._lock = (
            update(login_failures)
            .where(login_failures.c.key == bindparam("pair"))
            .values(locked_until=bindparam("until", type_=BigInteger))
        )
        self._clear = delete(login_failures).where(login_failures.c.key == bindparam("pair"))

    async def hit(self, conn: Connection, key: str, window: int, now: int) -> tuple[int, int]:
        """Count one in ``key``'s window: (count, seconds until the window ends)."""
        row = (await conn.execute(self._hit, {"key": key, "now": now, "window": window})).one()
        count, started = tuple(row)
        return int(count), int(started) + window - now

    async def pair(self, conn: Connection, pair: str) -> tuple[int, int]:
        """(locked until, consecutive failures) of an (address, account) pair."""
        row = (await conn.execute(self._pair, {"key": pair})).first()
        return (int(row.locked_until), int(row.failures)) if row else (0, 0)

    async def fail(self, conn: Connection, key: str, now: int, keep: int) -> int:
        params = {"key": key, "now": now, "keep": keep}
        return int((await conn.execute(self._fail, params)).scalar_one())

    async def lock(self, conn: Connection, key: str, until: int) -> None:
        await conn.execute(self._lock, {"pair": key, "until": until})

    async def clear(self, conn: Connection, key: str) -> None:
        await conn.execute(self._clear, {"pair": key})

    async def prune(self, conn: Connection, before: int) -> None:
        """Forget windows that began, and failures last counted, before ``before`` (and not
        locked any more)."""
        await conn.execute(delete(rate_counters).where(rate_counters.c.window_start < before))
        await conn.execute(
            delete(login_failures).where(
                login_failures.c.updated < before, login_failures.c.locked_until < before
            )
        )
