"""The outbox: lifecycle events recorded in the same transaction as the change.

An event exists exactly when its change committed: never lost, never emitted
for a change that rolled back. Its payload carries no secret (no password,
hash, token, code or key). Delivery (webhooks, NATS) reads from here.
"""

from __future__ import annotations

import secrets
from contextvars import ContextVar
from typing import Any

import orjson
from cachetools import LRUCache

from micro_user.accounts.models import Account
from micro_user.storage import events as repo
from micro_user.storage.database import Connection

# Who is acting in the current request or command ("key:<id>", "user:<id>", ...).
actor: ContextVar[str] = ContextVar("micro_user_actor", default="system")

ACCOUNT_CREATED = "account.created"
ACCOUNT_UPDATED = "account.updated"
ACCOUNT_DELETED = "account.deleted"
ACCOUNT_VERIFIED = "account.verified"
PASSWORD_CHANGED = "password.changed"
PASSWORD_RESET = "password.reset"
SESSION_CREATED = "session.created"
SESSION_ENDED = "session.ended"
ROLE_GRANTED = "role.granted"
ROLE_REVOKED = "role.revoked"
KEY_CREATED = "key.created"
KEY_REVOKED = "key.revoked"
RULE_CREATED = "rule.created"
RULE_DELETED = "rule.deleted"
SERVICE_ACCOUNT_CREATED = "service_account.created"
SERVICE_ACCOUNT_DELETED = "service_account.deleted"
SERVICE_ACCOUNT_SECRET_CHANGED = "service_account.secret_changed"
CLIENT_CREATED = "client.created"
CLIENT_DELETED = "client.deleted"
CONSENT_GRANTED = "consent.granted"
CONSENT_REVOKED = "consent.revoked"
FACTOR_ENABLED = "factor.enabled"
FACTOR_DISABLED = "factor.disabled"
RECOVERY_CODES_REGENERATED = "factor.recovery_codes_regenerated"
RECOVERY_CODE_USED = "factor.recovery_code_used"
FACTOR_POLICY_CHANGED = "factor.policy_changed"
PROVIDER_CREATED = "provider.created"
PROVIDER_DELETED = "provider.deleted"
IDENTITY_LINKED = "identity.linked"
IDENTITY_UNLINKED = "identity.unlinked"
TYPES = (
    ACCOUNT_CREATED, ACCOUNT_UPDATED, ACCOUNT_DELETED, ACCOUNT_VERIFIED, PASSWORD_CHANGED,
    PASSWORD_RESET, SESSION_CREATED, SESSION_ENDED, ROLE_GRANTED, ROLE_REVOKED, KEY_CREATED,
    KEY_REVOKED, RULE_CREATED, RULE_DELETED, SERVICE_ACCOUNT_CREATED, SERVICE_ACCOUNT_DELETED,
    SERVICE_ACCOUNT_SECRET_CHANGED, CLIENT_CREATED, CLIENT_DELETED, CONSENT_GRANTED,
    CONSENT_REVOKED, FACTOR_ENABLED, FACTOR_DISABLED, RECOVERY_CODES_REGENERATED,
    RECOVERY_CODE_USED, FACTOR_POLICY_CHANGED, PROVIDER_CREATED, PROVIDER_DELETED,
    IDENTITY_LINKED, IDENTITY_UNLINKED,
)  # fmt: skip


class Subscriptions:
    """Which webhooks of a namespace want which event types, cached in the process.

    Forgotten whenever the auth change counter moves (webhook changes bump it), so a new
    webhook receives what is recorded from its registration on: at once on the instance
    that registered it, within ``auth_refresh_seconds`` on the others.
    """

    def __init__(self) -> None:
        # Bounded: events of many namespaces must not keep every namespace's list.
        self._by_namespace: LRUCache[str, list[tuple[str, frozenset[str]]]] = LRUCache(1024)

    def forget(self) -> None:
        self._by_namespace.clear()

    async def matching(self, conn: Connection, namespace: str, type: str) -> list[str]:
        hooks = self._by_namespace.get(namespace)
        if hooks is None:
            hooks = self._by_namespace[namespace] = await repo.webhook_types(conn, namespace)
        return [hook for hook, types in hooks if "*" in types or type in types]


def account_payload(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "username": account.username,
        "email": account.email,
        "verified": account.verified,
        "profile": account.profile,
    }


class Outbox:
    """Records events (and their webhook deliveries) in the transaction that makes the
    change; one per database, with that database's webhook subscriptions cached."""

    def __init__(self) -> None:
        self.subscriptions = Subscriptions()

    async def record(
        self,
        conn: Connection,
        namespace: str,
        type: str,
        now: int,
        *,
        account_id: str = "",
        payload: dict[str, Any] | None = None,
    ) -> str:
        """Write one event (and its webhook deliveries) inside the caller's transaction."""
        event_id = secrets.token_hex(16)
        seq = await repo.insert_event(
            conn,
            id=event_id,
            namespace=namespace,
            type=type,
            account_id=account_id,
            actor=actor.get(),
            time=now,
            payload=orjson.dumps(payload or {}).decode(),
        )
        hooks = await self.subscriptions.matching(conn, namespace, type)
        await repo.insert_deliveries(
            conn,
            [
                {
                    "webhook_id": hook,
                    "event_seq": seq,
                    "account_id": account_id,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt": now,
                    "last_error": "",
                }
                for hook in hooks
            ],
        )
        return event_id
