"""Event, webhook and delivery rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update

from micro_user.storage.database import Connection
from micro_user.storage.rows import DeliveryRow, DueDeliveryRow, EventRow, WebhookRow
from micro_user.storage.tables import deliveries, events, outbox_cursors, webhooks

_INSERT_EVENT = insert(events).returning(events.c.seq)  # built once: it runs with every change


async def insert_event(conn: Connection, **values: Any) -> int:
    result = await conn.execute(_INSERT_EVENT, values)
    return int(result.scalar_one())


async def webhook_types(conn: Connection, namespace: str) -> list[tuple[str, frozenset[str]]]:
    """Each webhook of the namespace with the event types it wants ("*" for all)."""
    rows = await conn.execute(
        select(webhooks.c.id, webhooks.c.event_types).where(webhooks.c.namespace == namespace)
    )
    return [(row.id, frozenset(row.event_types.split())) for row in rows]


async def insert_deliveries(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(deliveries), rows)


async def query_events(
    conn: Connection,
    namespace: str,
    *,
    account_id: str = "",
    types: list[str] | None = None,
    since: int = 0,
    until: int = 0,
    after_seq: int = 0,
    limit: int = 100,
) -> list[EventRow]:
    query = select(events).where(events.c.namespace == namespace, events.c.seq > after_seq)
    if account_id:
        query = query.where(events.c.account_id == account_id)
    if types:
        query = query.where(events.c.type.in_(types))
    if since:
        query = query.where(events.c.time >= since)
    if until:
        query = query.where(events.c.time < until)
    return list(map(EventRow._make, await conn.execute(query.order_by(events.c.seq).limit(limit))))


async def events_after(conn: Connection, seq: int, limit: int) -> list[EventRow]:
    query = select(events).where(events.c.seq > seq).order_by(events.c.seq).limit(limit)
    return list(map(EventRow._make, await conn.execute(query)))


async def max_seq(conn: Connection) -> int:
    return int((await conn.execute(select(func.coalesce(func.max(events.c.seq), 0)))).scalar_one())


async def cursor(conn: Connection, name: str) -> int | None:
    value = (
        await conn.execute(select(outbox_cursors.c.seq).where(outbox_cursors.c.name == name))
    ).scalar()
    return None if value is None else int(value)


async def set_cursor(conn: Connection, name: str, seq: int) -> None:
    changed = await conn.execute(
        update(outbox_cursors).where(outbox_cursors.c.name == name).values(seq=seq)
    )
    if not changed.rowcount:
        await conn.execute(insert(outbox_cursors).values(name=name, seq=seq))


# Webhooks -------------------------------------------------------------------------


async def insert_webhook(conn: Connection, **values: Any) -> None:
    await conn.execute(insert(webhooks).values(**values))


async def list_webhooks(conn: Connection, namespace: str) -> list[WebhookRow]:
    query = (
        select(webhooks)
        .where(webhooks.c.namespace == namespace)
        .order_by(webhooks.c.created, webhooks.c.id)
    )
    return list(map(WebhookRow._make, await conn.execute(query)))


async def delete_webhook(conn: Connection, namespace: str, id: str) -> bool:
    await conn.execute(delete(deliveries).where(deliveries.c.webhook_id == id))
    result = await conn.execute(
        delete(webhooks).where(webhooks.c.namespace == namespace, webhooks.c.id == id)
    )
    return bool(result.rowcount)


async def due_deliveries(conn: Connection, now: int, limit: int) -> list[DueDeliveryRow]:
    """Pending deliveries that are due and first in line for their (webhook, account)."""
    earlier = deliveries.alias("earlier")
    blocked = (
        select(earlier.c.event_seq)
        .where(
            earlier.c.webhook_id == deliveries.c.webhook_id,
            earlier.c.account_id == deliveries.c.account_id,
            earlier.c.status != "delivered",
            earlier.c.event_seq < deliveries.c.event_seq,
        )
        .exists()
    )
    query = (
        select(
            deliveries.c.webhook_id,
            deliveries.c.event_seq,
            deliveries.c.attempts,
            deliveries.c.account_id,
            webhooks.c.url,
            webhooks.c.secret,
            events.c.id,
            events.c.type,
            events.c.namespace,
            events.c.actor,
            events.c.time,
            events.c.payload,
        )
        .join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
        .join(events, events.c.seq == deliveries.c.event_seq)
        .where(deliveries.c.status == "pending", deliveries.c.next_attempt <= now, ~blocked)
        .order_by(deliveries.c.event_seq)
        .limit(limit)
    )
    return list(map(DueDeliveryRow._make, await conn.execute(query)))


async def claim_delivery(
    conn: Connection, webhook_id: str, event_seq: int, attempts: int, lease_until: int
) -> bool:
    """Take a delivery for a while (bumping its next attempt), unless another instance did."""
    result = await conn.execute(
        update(deliveries)
        .where(
            deliveries.c.webhook_id == webhook_id,
            deliveries.c.event_seq == event_seq,
            deliveries.c.status == "pending",
            deliveries.c.attempts == attempts,
        )
        .values(attempts=attempts + 1, next_attempt=lease_until)
    )
    return bool(result.rowcount)


async def finish_delivery(conn: Connection, webhook_id: str, event_seq: int, **values: Any) -> None:
    await conn.execute(
        update(deliveries)
        .where(deliveries.c.webhook_id == webhook_id, deliveries.c.event_seq == event_seq)
        .values(**values)
    )


async def list_deliveries(
    conn: Connection, namespace: str, status: str, limit: int
) -> list[DeliveryRow]:
    query = (
        select(
            deliveries.c.webhook_id,
            deliveries.c.account_id,
            deliveries.c.status,
            deliveries.c.attempts,
            deliveries.c.last_error,
            events.c.id.label("event_id"),
            events.c.type,
        )
        .join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
        .join(events, events.c.seq == deliveries.c.event_seq)
        .where(webhooks.c.namespace == namespace, deliveries.c.status == status)
        .order_by(deliveries.c.event_seq)
        .limit(limit)
    )
    return list(map(DeliveryRow._make, await conn.execute(query)))


async def replay_parked(conn: Connection, namespace: str, webhook_id: str, now: int) -> int:
    ids = select(webhooks.c.id).where(webhooks.c.namespace == namespace)
    if webhook_id:
        ids = ids.where(webhooks.c.id == webhook_id)
    result = await conn.execute(
        update(deliveries)
        .where(and_(deliveries.c.status == "parked", deliveries.c.webhook_id.in_(ids)))
        .values(status="pending", attempts=0, next_attempt=now, last_error="")
    )
    return int(result.rowcount or 0)


async def backlog(conn: Connection) -> int:
    return int(
        (
            await conn.execute(
                select(func.count()).select_from(deliveries).where(deliveries.c.status == "pending")
            )
        ).scalar_one()
    )


async def prune_events(conn: Connection, before: int, upto_seq: int | None, limit: int) -> int:
    """Delete up to ``limit`` events older than ``before`` (and at most ``upto_seq``, what a
    publisher has passed) that no webhook delivery waits for, with their finished
    deliveries; returns how many went."""
    waiting = select(deliveries.c.event_seq).where(
        deliveries.c.event_seq == events.c.seq, deliveries.c.status == "pending"
    )
    query = select(events.c.seq).where(events.c.time < before, ~waiting.exists())
    if upto_seq is not None:
        query = query.where(events.c.seq <= upto_seq)
    seqs = list((await conn.execute(query.order_by(events.c.seq).limit(limit))).scalars())
    if seqs:
        await conn.execute(delete(deliveries).where(deliveries.c.event_seq.in_(seqs)))
        await conn.execute(delete(events).where(events.c.seq.in_(seqs)))
    return len(seqs)
