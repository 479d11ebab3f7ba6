"""Publishing the outbox to NATS JetStream, for Micro-style event consumers.

Subjects are ``micro.user.<namespace>.<type>``; each message carries the
event id as ``Nats-Msg-Id``, so JetStream drops a re-published duplicate and
consumers can de-duplicate beyond its window. A cursor in the database marks
how far publishing got: after a restart it goes on from there (at least once).
Turned on for an existing deployment, it publishes the events recorded so far
too: nothing in the outbox is skipped.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from micro_user.events.webhooks import event_body
from micro_user.settings import Settings
from micro_user.storage import events as repo
from micro_user.storage.database import Database

log = logging.getLogger("micro_user.events")
CURSOR = "nats"
BATCH = 200


def subject(row: Any) -> str:
    return f"micro.user.{row.namespace}.{row.type}"


class NatsPublisher:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._nc: Any = None
        self._js: Any = None

    async def connect(self) -> None:
        import nats

        self._nc = await nats.connect(
            self.settings.nats_url, connect_timeout=5, max_reconnect_attempts=-1
        )
        self._js = self._nc.jetstream()
        try:
            await self._js.stream_info(self.settings.nats_stream)
        except Exception:  # the stream does not exist yet
            await self._js.add_stream(name=self.settings.nats_stream, subjects=["micro.user.>"])

    async def run_once(self) -> int:
        async with self.db.read() as conn:
            seq = await repo.cursor(conn, CURSOR) or 0
            rows = await repo.events_after(conn, seq, BATCH)
        for row in rows:
            await self._js.publish(subject(row), event_body(row), headers={"Nats-Msg-Id": row.id})
            seq = row.seq
        if rows:
            async with self.db.write() as conn:
                await repo.set_cursor(conn, CURSOR, seq)
        return len(rows)

    async def follow(self, interval: float) -> None:
        while True:
            try:
                if self._js is None:
                    await self.connect()
                busy = await self.run_once()
            except Exception as exc:  # NATS or the database is away: go on from the cursor later
                log.warning("NATS publishing failed: %s", type(exc).__name__)
                busy = 0
                await asyncio.sleep(1)
            if not busy:
                await asyncio.sleep(interval)

    async def close(self) -> None:
        if self._nc is not None:
            await self._nc.close()
