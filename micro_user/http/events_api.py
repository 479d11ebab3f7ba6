"""Lifecycle events: webhooks, their deliveries, and the audit log."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field

from micro_user.events import outbox
from micro_user.events.audit import AuditEvent
from micro_user.events.webhooks import Delivery, Webhook
from micro_user.http.endpoints import Context, registry
from micro_user.http.wire import (
    Empty,
    Int64,
    Int64Out,
    Text,
    UInt32,
    WireRequest,
    wire_response,
)

events = "events"
audit = "audit"
Types = Annotated[list[Text], Field(max_length=64)]


@wire_response
class WebhookOut:
    id: str
    url: str
    event_types: list[str]
    created: Int64Out
    secret: str

    @classmethod
    def of(cls, hook: Webhook) -> WebhookOut:
        return cls(hook.id, hook.url, list(hook.event_types), str(hook.created), hook.secret)


class CreateWebhookRequest(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {
        "url": {"pattern": "^https?://[^\\u0000-\\u0020\\u007f-\\u009f]+$"},
        "event_types": {"items": {"enum": ["*", *outbox.TYPES]}},
    }
    required_fields: ClassVar[frozenset[str]] = frozenset({"url"})
    url: Text = ""
    event_types: Types = []


@wire_response
class WebhookResponse:
    webhook: WebhookOut


class Nothing(WireRequest):
    pass


@wire_response
class WebhooksResponse:
    webhooks: list[WebhookOut]


class IdRequest(WireRequest):
    id: Text = ""


class DeliveriesRequest(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {
        "status": {"enum": ["pending", "delivered", "parked"]}
    }
    status: Text = "parked"
    limit: UInt32 = 100


@wire_response
class DeliveryOut:
    webhook_id: str
    event_id: str
    type: str
    account_id: str
    status: str
    attempts: int
    last_error: str

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        return cls(
            d.webhook_id, d.event_id, d.type, d.account_id, d.status, d.attempts, d.last_error
        )


@wire_response
class DeliveriesResponse:
    deliveries: list[DeliveryOut]


class ReplayRequest(WireRequest):
    webhook_id: Text = ""


@wire_response
class ReplayResponse:
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


@wire_response
class EventOut:
    seq: Int64Out
    id: str
    type: str
    namespace: str
    account_id: str
    actor: str
    time: Int64Out
    payload: dict[str, Any]

    @classmethod
    def of(cls, e: AuditEvent) -> EventOut:
        return cls(
            str(e.seq), e.id, e.type, e.namespace, e.account_id, e.actor, str(e.time), e.payload
        )


@wire_response
class AuditResponse:
    events: list[EventOut]
    next: Int64Out


@registry.add(
    events,
    "Webhooks.Create",
    CreateWebhookRequest,
    WebhookResponse,
    "Register a webhook; its signing secret is shown once",
)
async def create_webhook(ctx: Context, req: CreateWebhookRequest) -> WebhookResponse:
    hook = await ctx.services.webhooks.create(ctx.namespace, req.url, req.event_types)
    return WebhookResponse(WebhookOut.of(hook))


@registry.add(
    events, "Webhooks.List", Nothing, WebhooksResponse, "List the namespace's webhooks", safe=True
)
async def list_webhooks(ctx: Context, req: Nothing) -> WebhooksResponse:
    hooks = await ctx.services.webhooks.list_webhooks(ctx.namespace)
    return WebhooksResponse([WebhookOut.of(h) for h in hooks])


@registry.add(
    events,
    "Webhooks.Delete",
    IdRequest,
    Empty,
    "Delete a webhook and its pending deliveries",
)
async def delete_webhook(ctx: Context, req: IdRequest) -> Empty:
    await ctx.services.webhooks.delete(ctx.namespace, req.id)
    return Empty()


@registry.add(
    events,
    "Deliveries.List",
    DeliveriesRequest,
    DeliveriesResponse,
    "List deliveries by status (parked by default)",
    safe=True,
)
async def list_deliveries(ctx: Context, req: DeliveriesRequest) -> DeliveriesResponse:
    found = await ctx.services.webhooks.deliveries(ctx.namespace, req.status, req.limit)
    return DeliveriesResponse([DeliveryOut.of(d) for d in found])


@registry.add(
    events, "Deliveries.Replay", ReplayRequest, ReplayResponse, "Deliver parked deliveries again"
)
async def replay(ctx: Context, req: ReplayRequest) -> ReplayResponse:
    return ReplayResponse(await ctx.services.webhooks.replay(ctx.namespace, req.webhook_id))


@registry.add(
    audit,
    "Audit.List",
    AuditRequest,
    AuditResponse,
    "Events by account, type and time, oldest first, paged by 'after'",
    safe=True,
)
async def audit_list(ctx: Context, req: AuditRequest) -> AuditResponse:
    found = await ctx.services.audit.query(
        ctx.namespace,
        account_id=req.account_id,
        types=req.types,
        since=req.since,
        until=req.until,
        after=req.after,
        limit=req.limit,
    )
    return AuditResponse(
        [EventOut.of(e) for e in found], str(found[-1].seq if found else req.after)
    )
