"""Webhooks: endpoints registered per namespace, signed the Standard Webhooks way, delivered
at least once, in order per account, with retries and parking.

Each request carries ``webhook-id`` (the event id, for de-duplication),
``webhook-timestamp`` (unix seconds, so receivers can refuse replays) and
``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``
keyed with the base64 part of the endpoint's ``whsec_`` secret.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from micro_user.clock import Clock
from micro_user.errors import BadRequest, NotFound
from micro_user.events import outbox
from micro_user.events.outbox import Outbox
from micro_user.observability import DELIVERY_FAILURES, OUTBOX_BACKLOG
from micro_user.settings import Settings
from micro_user.storage import events as repo
from micro_user.storage.auth import bump_version
from micro_user.storage.database import Database
from micro_user.urls import split_url

log = logging.getLogger("micro_user.events")
SECRET_PREFIX = "whsec_"
BACKOFF_CAP_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    namespace: str
    url: str
    event_types: tuple[str, ...]
    created: int
    secret: str = ""  # only when it is being shown once


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event's delivery to one webhook."""

    webhook_id: str
    event_id: str
    type: str
    account_id: str
    status: str  # pending | delivered | parked
    attempts: int
    last_error: str


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def event_body(row: Any) -> bytes:
    return orjson.dumps(
        {
            "id": row.id,
            "type": row.type,
            "timestamp": datetime.fromtimestamp(row.time, UTC).isoformat().replace("+00:00", "Z"),
            "namespace": row.namespace,
            "account_id": row.account_id,
            "actor": row.actor,
            "time": row.time,
            "data": orjson.loads(row.payload),
        }
    )


def backoff(settings: Settings, attempts: int) -> int:
    return int(min(BACKOFF_CAP_SECONDS, settings.webhook_backoff_seconds * 2 ** (attempts - 1)))


class WebhookService:
    def __init__(self, db: Database, outbox: Outbox, settings: Settings, clock: Clock) -> None:
        self.db = db
        self.outbox = outbox
        self.settings = settings
        self.clock = clock

    async def create(self, namespace: str, url: str, event_types: list[str]) -> Webhook:
        error_id = "events.webhooks.create"
        parts = split_url(url)
        if (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.netloc
            or len(url) > 2048
        ):
            raise BadRequest(error_id, "url must be an absolute http or https URL")
        types = tuple(sorted(set(event_types))) or ("*",)
        unknown = [t for t in types if t != "*" and t not in outbox.TYPES]
        if unknown:
            raise BadRequest(
                error_id, f"unknown event types {unknown}; known: {', '.join(outbox.TYPES)}"
            )
        hook = Webhook(
            id="wh_" + secrets.token_hex(8),
            namespace=namespace,
            url=url,
            event_types=types,
            created=self.clock(),
            secret=SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode(),
        )
        async with self.db.write() as conn:
            await repo.insert_webhook(
                conn,
                id=hook.id,
                namespace=namespace,
                url=url,
                secret=hook.secret,
                event_types=" ".join(types),
                created=hook.created,
            )
            await bump_version(conn)
        self.outbox.subscriptions.forget()
        return hook

    async def list_webhooks(self, namespace: str) -> list[Webhook]:
        async with self.db.read() as conn:
            rows = await repo.list_webhooks(conn, namespace)
        return [
            Webhook(r.id, r.namespace, r.url, tuple(r.event_types.split()), r.created) for r in rows
        ]

    async def delete(self, namespace: str, id: str) -> None:
        async with self.db.write() as conn:
            if not await repo.delete_webhook(conn, namespace, id):
                raise NotFound("events.webhooks.delete", f"no webhook {id!r}")
            await bump_version(conn)
        self.outbox.subscriptions.forget()

    async def deliveries(self, namespace: str, status: str, limit: int = 100) -> list[Delivery]:
        if status not in ("pending", "delivered", "parked"):
            raise BadRequest("events.deliveries.list", "status is pending, delivered or parked")
        async with self.db.read() as conn:
            rows = await repo.list_deliveries(conn, namespace, status, max(1, min(limit, 1000)))
        return [
            Delivery(
                r.webhook_id, r.event_id, r.type, r.account_id, r.status, r.attempts, r.last_error
            )
            for r in rows
        ]

    async def replay(self, namespace: str, webhook_id: str = "") -> int:
        async with self.db.write() as conn:
            return await repo.replay_parked(conn, namespace, webhook_id, self.clock())


class Dispatcher:
    """Delivers due webhook requests; every instance runs one, and they share the work."""

    def __init__(self, db: Database, settings: Settings, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self._client: httpx.AsyncClient | None = None

    async def run_once(self) -> int:
        now = self.clock()
        async with self.db.read() as conn:
            OUTBOX_BACKLOG.set(await repo.backlog(conn))
            due = await repo.due_deliveries(conn, now, 50)
        if not due:
            return 0
        claimed = []
        # A claimed delivery is left alone by other instances for as long as one request may
        # take; if this instance dies meanwhile, another takes it over after that.
        lease_until = now + int(self.settings.webhook_timeout_seconds) + 5
        async with self.db.write() as conn:
            for row in due:
                if await repo.claim_delivery(
                    conn, row.webhook_id, row.event_seq, row.attempts, lease_until
                ):
                    claimed.append(row)
        # One account's deliveries go one after another; different accounts in parallel.
        by_account: dict[tuple[str, str], list[Any]] = {}
        for row in claimed:
            by_account.setdefault((row.webhook_id, row.account_id), []).append(row)
        await asyncio.gather(*(self._deliver_in_order(rows) for rows in by_account.values()))
        return len(claimed)

    async def _deliver_in_order(self, rows: list[Any]) -> None:
        for row in sorted(rows, key=lambda r: r.event_seq):
            if not await self._deliver(row):
                break

    async def _deliver(self, row: Any) -> bool:
        body = event_body(row)
        timestamp = self.clock()
        headers = {
            "content-type": "application/json",
            "webhook-id": row.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(row.secret, row.id, timestamp, body),
        }
        error = ""
        try:
            response = await self.client().post(row.url, content=body, headers=headers)
            if 200 <= response.status_code < 300:
                async with self.db.write() as conn:
                    await repo.finish_delivery(
                        conn, row.webhook_id, row.event_seq, status="delivered", last_error=""
                    )
                return True
            error = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        attempts = row.attempts + 1
        parked = attempts >= self.settings.webhook_max_attempts
        DELIVERY_FAILURES.labels("parked" if parked else "retry").inc()
        async with self.db.write() as conn:
            await repo.finish_delivery(
                conn,
                row.webhook_id,
                row.event_seq,
                status="parked" if parked else "pending",
                next_attempt=self.clock() + backoff(self.settings, attempts),
                last_error=error,
            )
        log.warning(
            "webhook %s: event %s %s (%s)",
            row.webhook_id,
            row.id,
            "parked" if parked else "will retry",
            error,
        )
        return False

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.settings.webhook_timeout_seconds, follow_redirects=False
            )
        return self._client

    async def follow(self) -> None:
        while True:
            try:
                busy = await self.run_once()
            except Exception as exc:  # the database or a receiver is away: try again next round
                log.warning("webhook delivery round failed: %s", type(exc).__name__)
                busy = 0
            if not busy:
                await asyncio.sleep(self.settings.delivery_interval_seconds)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
