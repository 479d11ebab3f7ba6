"""Lifecycle events: webhooks, their deliveries, and the audit log."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field

from micro_user.events import outbox
from micro_user.events.audit import AuditEvent
from micro_user.events.webhooks import Webhook
from micro_user.http.endpoints import Context, registry
from micro_user.http.wire import Int64, Int64Out, Text, UInt32, WireRequest, WireResponse

events = "events"
audit = "audit"
Types = Annotated[list[Text], Field(max_length=64)]


class WebhookOut(WireResponse):
    id: str
    url: str
    event_types: list[str]
    created: Int64Out
    secret: str


class CreateWebhookRequest(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {
        "url": {"pattern": "^https?://[^\\u0000-\\u0020\\u007f-\\u009f]+$"},
        "event_types": {"items": {"enum": ["*", *outbox.TYPES]}},
    }
    required_fields: ClassVar[frozenset[str]] = frozenset({"url"})
    url: Text = ""
    event_types: Types = []


class WebhookResponse(WireResponse):
    webhook: WebhookOut


class Nothing(WireRequest):
    pass


class Done(WireResponse):
    pass


class WebhooksResponse(WireResponse):
    webhooks: list[WebhookOut]


class IdRequest(WireRequest):
    id: Text = ""


class DeliveriesRequest(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {
        "status": {"enum": ["pending", "delivered", "parked"]}
    }
    status: Text = "parked"
    limit: UInt32 = 100


class DeliveryOut(WireResponse):
    webhook_id: str
    event_id: str
    type: str
    account_id: str
    status: str
    attempts: int
    last_error: str


class DeliveriesResponse(WireResponse):
    deliveries: list[DeliveryOut]


class ReplayRequest(WireRequest):
    webhook_id: Text = ""


class ReplayResponse(WireResponse):
    replayed: int


class AuditRequest(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {
        name: {"minimum": 0} for name in ("since", "until", "after")
    }
    account_id: Text = ""
    types: Types = []
    since: Int64 = 0
    until: Int64 = 0
    after: Int64 = 0
    limit: UInt32 = 100


class EventOut(WireResponse):
    seq: Int64Out
    id: str
    type: str
    namespace: str
    account_id: str
    actor: str
    time: Int64Out
    payload: dict[str, Any]


class AuditResponse(WireResponse):
    events: list[EventOut]
    next: Int64Out


def webhook_json(hook: Webhook) -> dict[str, Any]:
    return {
        "id": hook.id,
        "url": hook.url,
        "event_types": list(hook.event_types),
        "created": str(hook.created),
        "secret": hook.secret,
    }


def event_json(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": str(event.seq),
        "id": event.id,
        "type": event.type,
        "namespace": event.namespace,
        "account_id": event.account_id,
        "actor": event.actor,
        "time": str(event.time),
        "payload": event.payload,
    }


@registry.add(
    events,
    "Webhooks.Create",
    CreateWebhookRequest,
    WebhookResponse,
    "Register a webhook; its signing secret is shown once",
)
async def create_webhook(ctx: Context, req: CreateWebhookRequest) -> dict[str, Any]:
    hook = await ctx.services.webhooks.create(ctx.namespace, req.url, req.event_types)
    return {"webhook": webhook_json(hook)}


@registry.add(
    events, "Webhooks.List", Nothing, WebhooksResponse, "List the namespace's webhooks", safe=True
)
async def list_webhooks(ctx: Context, req: Nothing) -> dict[str, Any]:
    return {
        "webhooks": [
            webhook_json(h) for h in await ctx.services.webhooks.list_webhooks(ctx.namespace)
        ]
    }


@registry.add(
    events,
    "Webhooks.Delete",
    IdRequest,
    Done,
    "Delete a webhook and its pending deliveries",
    (400, 404),
)
async def delete_webhook(ctx: Context, req: IdRequest) -> dict[str, Any]:
    await ctx.services.webhooks.delete(ctx.namespace, req.id)
    return {}


@registry.add(
    events,
    "Deliveries.List",
    DeliveriesRequest,
    DeliveriesResponse,
    "List deliveries by status (parked by default)",
    safe=True,
)
async def list_deliveries(ctx: Context, req: DeliveriesRequest) -> dict[str, Any]:
    return {
        "deliveries": await ctx.services.webhooks.deliveries(ctx.namespace, req.status, req.limit)
    }


@registry.add(
    events, "Deliveries.Replay", ReplayRequest, ReplayResponse, "Deliver parked deliveries again"
)
async def replay(ctx: Context, req: ReplayRequest) -> dict[str, Any]:
    return {"replayed": await ctx.services.webhooks.replay(ctx.namespace, req.webhook_id)}


@registry.add(
    audit,
    "Audit.List",
    AuditRequest,
    AuditResponse,
    "Events by account, type and time, oldest first, paged by 'after'",
    safe=True,
)
async def audit_list(ctx: Context, req: AuditRequest) -> dict[str, Any]:
    found = await ctx.services.audit.query(
        ctx.namespace,
        account_id=req.account_id,
        types=req.types,
        since=req.since,
        until=req.until,
        after=req.after,
        limit=req.limit,
    )
    return {
        "events": [event_json(e) for e in found],
        "next": str(found[-1].seq if found else req.after),
    }
