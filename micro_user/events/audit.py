"""The audit log: the outbox's events, queried by account, type and time, paged by cursor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from micro_user.errors import BadRequest
from micro_user.storage import events as repo
from micro_user.storage.database import Database

MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class AuditEvent:
    seq: int
    id: str
    namespace: str
    type: str
    account_id: str
    actor: str
    time: int
    payload: dict[str, Any]


# Events deleted per transaction when pruning: a writer holds the lock briefly each time.
PRUNE_BATCH = 1000


class AuditLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def prune(self, before: int, publisher: str | None) -> int:
        """Delete events older than ``before`` once delivered: no webhook delivery pending
        and, with ``publisher`` (an outbox consumer's name), published by it. Returns how
        many went. Parked deliveries go with their events: replay them within retention."""
        pruned = 0
        while True:
            async with self.db.write() as conn:
                upto = None if publisher is None else await repo.cursor(conn, publisher) or 0
                done = await repo.prune_events(conn, before, upto, PRUNE_BATCH)
            pruned += done
            if done < PRUNE_BATCH:
                return pruned

    async def query(
        self,
        namespace: str,
        *,
        account_id: str = "",
        types: list[str] | None = None,
        since: int = 0,
        until: int = 0,
        after: int = 0,
        limit: int = 100,
    ) -> list[AuditEvent]:
        """Events oldest first; pass the last ``seq`` as ``after`` for the next page."""
        if limit < 0 or after < 0 or since < 0 or until < 0:
            raise BadRequest("audit.list", "limit, after, since and until are not negative")
        async with self.db.read() as conn:
            rows = await repo.query_events(
                conn,
                namespace,
                account_id=account_id,
                types=types,
                since=since,
                until=until,
                after_seq=after,
                limit=min(limit or 100, MAX_PAGE),
            )
        return [
            AuditEvent(
                r.seq,
                r.id,
                r.namespace,
                r.type,
                r.account_id,
                r.actor,
                r.time,
                orjson.loads(r.payload),
            )
            for r in rows
        ]
