"""Typed rows: what the repositories return where no domain object is the answer. Each is
a NamedTuple whose fields are its SELECT's columns in order (``Row._make(row)``); a whole
table's row mirrors the table (``tests/unit/test_rows.py`` holds each to its table or its
column list)."""

from __future__ import annotations

from typing import NamedTuple


class ServiceAccountRow(NamedTuple):
    """A row of ``auth_accounts``."""

    namespace: str
    id: str
    type: str
    name: str
    secret_hash: str
    metadata: str
    created: int
    updated: int


class RoleRow(NamedTuple):
    """A row of ``roles``."""

    namespace: str
    name: str
    description: str
    created: int


class RuleRow(NamedTuple):
    """A row of ``rules``."""

    namespace: str
    id: str
    scope: str
    resource_type: str
    resource_name: str
    resource_endpoint: str
    access: str
    priority: int
    created: int


class SigningKeyRow(NamedTuple):
    """A row of ``signing_keys``."""

    kid: str
    algorithm: str
    private_jwk: str
    kek_id: str | None
    public_jwk: str
    created: int
    retired: int | None


class RefreshRow(NamedTuple):
    """A row of ``refresh_tokens``."""

    token_hash: str
    family: str
    namespace: str
    account_type: str
    account_id: str
    session_hash: str | None
    created: int
    expires: int
    used: int | None
    revoked: int | None
    sid: str | None
    access_jti: str | None
    access_expires: int | None
    client_id: str | None
    scope: str | None


class EventRow(NamedTuple):
    """A row of ``events``."""

    seq: int
    id: str
    namespace: str
    type: str
    account_id: str
    actor: str
    time: int
    payload: str


class WebhookRow(NamedTuple):
    """A row of ``webhooks``."""

    id: str
    namespace: str
    url: str
    secret: str
    event_types: str
    created: int


class ApiKeyRow(NamedTuple):
    """A row of ``api_keys``."""

    id: str
    namespace: str
    name: str
    secret_hash: str
    hint: str
    created: int
    revoked: int | None
    scopes: str


class OneTimeTokenRow(NamedTuple):
    """A row of ``one_time_tokens``."""

    token_hash: str
    purpose: str
    namespace: str
    account_id: str
    email: str
    created: int
    expires: int
    used_at: int | None
    redirect_url: str
    failure_redirect_url: str
    failures: int


class MailRow(NamedTuple):
    """A row of ``mail_queue``."""

    id: str
    namespace: str
    recipient: str
    subject: str
    from_name: str
    body: str
    created: int
    expires: int
    attempts: int
    next_attempt: int
    last_error: str


class KeyHolderRow(NamedTuple):
    """An active API key's owner: what authenticating by the key needs."""

    id: str
    namespace: str
    scopes: str


class PrivateKeyRow(NamedTuple):
    """A signing key's stored private part and the key-encryption key that sealed it."""

    kid: str
    kek_id: str | None
    private_jwk: str


class DueDeliveryRow(NamedTuple):
    """A webhook delivery that is due, with its webhook and its event."""

    webhook_id: str
    event_seq: int
    attempts: int
    account_id: str
    url: str
    secret: str
    id: str
    type: str
    namespace: str
    actor: str
    time: int
    payload: str


class DeliveryRow(NamedTuple):
    """A webhook delivery as the API lists it."""

    webhook_id: str
    account_id: str
    status: str
    attempts: int
    last_error: str
    event_id: str
    type: str


class ClientRow(NamedTuple):
    """A row of ``oauth_clients``."""

    namespace: str
    id: str
    name: str
    secret_hash: str | None
    redirect_uris: str
    scopes: str
    first_party: bool
    created: int
    post_logout_redirect_uris: str


class CodeRow(NamedTuple):
    """A row of ``authorization_codes``."""

    code_hash: str
    namespace: str
    client_id: str
    account_id: str
    session_hash: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str
    created: int
    expires: int
    used: int | None
    family: str | None


class BrowserSessionRow(NamedTuple):
    """A live session as the authorization endpoint reads it (``storage/oidc.py``)."""

    token_hash: str
    account_id: str
    created: int
    expires: int
    sid: str | None
    amr: str | None


class TotpRow(NamedTuple):
    """A row of ``totp_factors``."""

    namespace: str
    account_id: str
    kek_id: str
    sealed_secret: str
    created: int
    confirmed: int | None
    last_step: int


class PasskeyRow(NamedTuple):
    """A row of ``passkeys``."""

    id: str
    namespace: str
    account_id: str
    credential_id: str
    public_key: str
    sign_count: int
    user_handle: str
    name: str
    transports: str
    created: int
    last_used: int | None
