"""The readiness probe's row: a small committed write that shows the database keeps one."""

from __future__ import annotations

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError

from micro_user.storage.database import Database
from micro_user.storage.tables import probes

READY = "ready"


async def write(db: Database, now: int) -> None:
    """Commit one row (durably, like any account change); raises what the database raises."""
    try:
        async with db.write() as conn:
            changed = await conn.execute(
                update(probes).where(probes.c.name == READY).values(at=now)
            )
            if not changed.rowcount:
                await conn.execute(insert(probes).values(name=READY, at=now))
    except IntegrityError:
        pass  # another instance made the row at the same moment: its commit was a write
