"""The schema, in SQLAlchemy Core. Migrations in ``migrations/versions`` create exactly this.

Every row carries its namespace; every unique constraint includes it, so
nothing is shared or visible across namespaces. Usernames and emails are
stored lower-cased, which makes the plain unique constraints case-insensitive.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

accounts = Table(
    "accounts",
    metadata,
    Column("namespace", String(64), nullable=False),
    Column("id", String(128), nullable=False),
    Column("username", String(128), nullable=True),
    Column("email", String(254), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    Column("verified", Boolean, nullable=False, default=False),
    Column("verification_date", BigInteger, nullable=False, default=0),
    Column("profile", Text, nullable=False, default="{}"),
    # The Unicode TS #39 skeletons of the username and of the email's local part (with the
    # domain), unique per namespace: a look-alike of an existing name is refused race-free.
    # NULL only for rows that collided when the column was added (the older row kept it).
    Column("username_skeleton", Text, nullable=True),
    Column("email_skeleton", Text, nullable=True),
    PrimaryKeyConstraint("namespace", "id"),
    UniqueConstraint("namespace", "username"),
    UniqueConstraint("namespace", "email"),
    Index(None, "namespace", "created", "id"),
    Index(None, "namespace", "username_skeleton", unique=True),
    Index(None, "namespace", "email_skeleton", unique=True),
)

# Every account id ever given in a namespace, per kind ("user" or "service"): written with
# the account, never deleted, so a deleted account's id is never given to another account
# (which would inherit whatever still names that id).
used_account_ids = Table(
    "used_account_ids",
    metadata,
    Column("namespace", String(64), nullable=False),
    Column("account_type", String(16), nullable=False),
    Column("id", String(128), nullable=False),
    Column("created", BigInteger, nullable=False),
    PrimaryKeyConstraint("namespace", "account_type", "id"),
)

sessions = Table(
    "sessions",
    metadata,
    # SHA-256 of the session id the client holds; the id itself is never stored.
    Column("token_hash", String(64), primary_key=True),
    Column("namespace", String(64), nullable=False),
    Column("account_id", String(128), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=False),
    # A public random handle of the session, the ``sid`` claim of the access tokens minted
    # from it (the id is a credential; this is not). Set for every session since 0005.
    Column("sid", String(32), nullable=True),
    # How the user proved who they are (RFC 8176 ``amr``): "pwd" (a password, also when
    # NULL, as for every session of before 0011) or "otp" (a magic link).
    Column("amr", String(16), nullable=True),
    ForeignKeyConstraint(
        ["namespace", "account_id"],
        ["accounts.namespace", "accounts.id"],
        ondelete="CASCADE",
        onupdate="CASCADE",
    ),
    Index(None, "namespace", "account_id"),
    Index(None, "expires"),
)

# Email verification tokens, password reset codes and magic-link tokens.
one_time_tokens = Table(
    "one_time_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("purpose", String(16), nullable=False),
    Column("namespace", String(64), nullable=False),
    Column("account_id", String(128), nullable=False),
    # The address the mail went to: a verification only counts while it is still the account's.
    Column("email", String(254), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=False),
    Column("used_at", BigInteger, nullable=True),
    Column("redirect_url", Text, nullable=False, default=""),
    Column("failure_redirect_url", Text, nullable=False, default=""),
    # Wrong reset codes tried while this code was live: at the limit, this code is void.
    Column("failures", Integer, nullable=False, default=0, server_default="0"),
    ForeignKeyConstraint(
        ["namespace", "account_id"],
        ["accounts.namespace", "accounts.id"],
        ondelete="CASCADE",
        onupdate="CASCADE",
    ),
    Index(None, "namespace", "account_id", "purpose"),
    Index(None, "expires"),
)

# Mail waiting to go out, written in the transaction that issues its token and deleted
# once sent. The body holds the link or code: a row lives no longer than that token.
mail_queue = Table(
    "mail_queue",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("namespace", String(64), nullable=False),
    Column("recipient", String(254), nullable=False),
    Column("subject", Text, nullable=False),
    Column("from_name", Text, nullable=False, default=""),
    Column("body", Text, nullable=False),
    Column("created", BigInteger, nullable=False),
    # When the token in the body expires: an unsent mail is dropped then.
    Column("expires", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt", BigInteger, nullable=False),
    Column("last_error", String(512), nullable=False, default=""),
    Index(None, "next_attempt"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("namespace", String(64), nullable=False),
    Column("name", String(128), nullable=False, default=""),
    # SHA-256 of the whole key; the key is shown once and never stored.
    Column("secret_hash", String(64), nullable=False, unique=True),
    # The first characters of the key, so that an operator can recognise it in a list.
    Column("hint", String(16), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("revoked", BigInteger, nullable=True),
    # Roles the key holds, space-separated; the admin key holds "admin".
    Column("scopes", String(512), nullable=False, server_default="admin"),
    Index(None, "namespace"),
)

# The auth service ------------------------------------------------------------

# Accounts of the Micro auth model that are not people: service accounts with a secret.
auth_accounts = Table(
    "auth_accounts",
    metadata,
    Column("namespace", String(64), nullable=False),
    Column("id", String(128), nullable=False),
    Column("type", String(32), nullable=False),
    Column("name", String(128), nullable=False, default=""),
    # SHA-256 of a secret of at least 256 bits (or 24+ characters chosen by an operator).
    Column("secret_hash", String(64), nullable=False),
    Column("metadata", Text, nullable=False, default="{}"),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    PrimaryKeyConstraint("namespace", "id"),
)

roles = Table(
    "roles",
    metadata,
    Column("namespace", String(64), nullable=False),
    Column("name", String(64), nullable=False),
    Column("description", String(512), nullable=False, default=""),
    Column("created", BigInteger, nullable=False),
    PrimaryKeyConstraint("namespace", "name"),
)

# Which account holds which role. account_type is "user" (an account of the user
# service), "service" (an auth account) or "key" (an API key).
role_grants = Table(
    "role_grants",
    metadata,
    Column("namespace", String(64), nullable=False),
    Column("account_type", String(16), nullable=False),
    Column("account_id", String(128), nullable=False),
    Column("role", String(64), nullable=False),
    Column("created", BigInteger, nullable=False),
    PrimaryKeyConstraint("namespace", "account_type", "account_id", "role"),
    ForeignKeyConstraint(
        ["namespace", "role"], ["roles.namespace", "roles.name"], ondelete="CASCADE"
    ),
)

rules = Table(
    "rules",
    metadata,
    Column("namespace", String(64), nullable=False),
    Column("id", String(128), nullable=False),
    Column("scope", String(64), nullable=False),
    Column("resource_type", String(64), nullable=False),
    Column("resource_name", String(128), nullable=False),
    Column("resource_endpoint", String(512), nullable=False),
    Column("access", String(8), nullable=False),
    Column("priority", Integer, nullable=False, default=0),
    Column("created", BigInteger, nullable=False),
    PrimaryKeyConstraint("namespace", "id"),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("algorithm", String(16), nullable=False),
    # The private JWK, sealed with the key-encryption key ``kek_id`` (auth.key_encryption;
    # NULL: plaintext, from before 0005, sealed at the next start). It never leaves the
    # service: no endpoint or log shows it.
    Column("private_jwk", Text, nullable=False),
    Column("kek_id", String(32), nullable=True),
    Column("public_jwk", Text, nullable=False),
    Column("created", BigInteger, nullable=False),
    # Set when a newer key took over signing; it still verifies until its tokens expire.
    Column("retired", BigInteger, nullable=True),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("family", String(64), nullable=False),
    Column("namespace", String(64), nullable=False),
    Column("account_type", String(16), nullable=False),
    Column("account_id", String(128), nullable=False),
    # Tokens got for a login session end with it.
    Column(
        "session_hash",
        String(64),
        nullable=True,
    ),
    Column("created", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=False),
    Column("used", BigInteger, nullable=True),
    Column("revoked", BigInteger, nullable=True),
    # The session's handle, and the access token minted with this refresh token: revoking
    # the family revokes those jtis, ending a session revokes the sid.
    Column("sid", String(32), nullable=True),
    Column("access_jti", String(64), nullable=True),
    Column("access_expires", BigInteger, nullable=True),
    # The OAuth client the family was issued to (the authorization code flow), and the
    # scopes granted to it: only that client refreshes it, and only with those scopes.
    Column("client_id", String(64), nullable=True),
    Column("scope", String(256), nullable=True),
    ForeignKeyConstraint(["session_hash"], ["sessions.token_hash"], ondelete="CASCADE"),
    Index(None, "family"),
    Index(None, "namespace", "account_type", "account_id"),
    Index(None, "session_hash"),
    Index(None, "expires"),
)

# Access tokens refused before their expiry: by ``jti`` (RFC 7009, a revoked refresh
# family), by ``sid`` (an ended session) or by ``sub`` (a deleted account). A row is kept
# only while a token it revokes can still be valid (``expires``); instances cache the
# live rows and publish them at /.well-known/revocations.
revocations = Table(
    "revocations",
    metadata,
    Column("namespace", String(64), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("value", String(128), nullable=False),
    Column("expires", BigInteger, nullable=False),
    PrimaryKeyConstraint("namespace", "kind", "value"),
    Index(None, "expires"),
)

# A counter bumped by every change that instances cache (rules, roles, keys,
# revocations): each instance polls it and reloads when it moves.
auth_state = Table(
    "auth_state",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("version", BigInteger, nullable=False),
)

# Lifecycle events ------------------------------------------------------------

# The outbox: every state change writes its event here in the same transaction.
# seq orders events; id is what receivers de-duplicate on.
events = Table(
    "events",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("id", String(32), nullable=False, unique=True),
    Column("namespace", String(64), nullable=False),
    Column("type", String(64), nullable=False),
    Column("account_id", String(128), nullable=False, default=""),
    # Who acted: "key:<id>", "user:<id>", "service:<id>", "anonymous" or "cli".
    Column("actor", String(160), nullable=False, default=""),
    Column("time", BigInteger, nullable=False),
    Column("payload", Text, nullable=False, default="{}"),
    Index(None, "namespace", "account_id", "seq"),
    Index(None, "namespace", "type", "seq"),
    Index(None, "namespace", "time"),
    Index(None, "time"),  # pruning past the retention
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("namespace", String(64), nullable=False),
    Column("url", Text, nullable=False),
    # The signing secret must be kept to sign with; it is shown once and never returned again.
    Column("secret", String(128), nullable=False),
    # Space-separated event types, or "*".
    Column("event_types", Text, nullable=False),
    Column("created", BigInteger, nullable=False),
    Index(None, "namespace"),
)

# One row per (webhook, event) to deliver. Rows of one account are delivered in
# event order: a row waits while an earlier one of the same account is pending.
deliveries = Table(
    "deliveries",
    metadata,
    Column("webhook_id", String(40), nullable=False),
    Column("event_seq", BigInteger, nullable=False),
    Column("account_id", String(128), nullable=False),
    Column("status", String(12), nullable=False),  # pending | delivered | parked
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt", BigInteger, nullable=False),
    Column("last_error", String(512), nullable=False, default=""),
    PrimaryKeyConstraint("webhook_id", "event_seq"),
    ForeignKeyConstraint(["webhook_id"], ["webhooks.id"], ondelete="CASCADE"),
    Index(None, "status", "next_attempt"),
    Index(None, "webhook_id", "account_id", "status", "event_seq"),
)

# A row each instance's readiness check writes: a database that answers but cannot keep a
# write (a full disk, a read-only file or standby) is not ready.
# OAuth clients (auth/clients.py): a public client has no secret.
oauth_clients = Table(
    "oauth_clients",
    metadata,
    Column("namespace", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("secret_hash", String(64), nullable=True),
    # The exact redirect URIs, a JSON list.
    Column("redirect_uris", Text, nullable=False),
    # The scopes it may ask for, space-separated.
    Column("scopes", String(256), nullable=False),
    Column("first_party", Boolean, nullable=False),
    Column("created", BigInteger, nullable=False),
    # Where RP-initiated logout may send the browser back to, a JSON list (since 0011).
    Column("post_logout_redirect_uris", Text, nullable=False, server_default="[]"),
)

# Authorization codes (oidc/codes.py): single-use, short-lived, bound to the client, its
# redirect URI and PKCE challenge; only the SHA-256 of a code is stored. A code ends with
# the session that approved it. ``family`` is the refresh family its exchange issued, which
# a second exchange of the same code revokes (RFC 6749 section 4.1.2).
authorization_codes = Table(
    "authorization_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("namespace", String(64), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("account_id", String(128), nullable=False),
    Column("session_hash", String(64), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("scope", String(256), nullable=False),
    Column("nonce", String(512), nullable=True),
    Column("code_challenge", String(128), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=False),
    Column("used", BigInteger, nullable=True),
    Column("family", String(64), nullable=True),
    ForeignKeyConstraint(["session_hash"], ["sessions.token_hash"], ondelete="CASCADE"),
    Index(None, "expires"),
)

# Second factors (factors/service.py): the TOTP secret sealed with the key-encryption key
# (in force once ``confirmed``; ``last_step`` is the last 30-second step whose code was
# used), and recovery codes as digests.
totp_factors = Table(
    "totp_factors",
    metadata,
    Column("namespace", String(64), primary_key=True),
    Column("account_id", String(128), primary_key=True),
    Column("kek_id", String(64), nullable=False),
    Column("sealed_secret", Text, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("confirmed", BigInteger, nullable=True),
    Column("last_step", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["namespace", "account_id"],
        ["accounts.namespace", "accounts.id"],
        ondelete="CASCADE",
        onupdate="CASCADE",
    ),
)

# Passkeys (WebAuthn credentials): several per account. ``credential_id`` and ``public_key``
# are base64url; ``user_handle`` is the random WebAuthn user id the account's passkeys share
# (never the account id, which may say who the user is).
passkeys = Table(
    "passkeys",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("namespace", String(64), nullable=False),
    Column("account_id", String(128), nullable=False),
    Column("credential_id", String(1400), nullable=False),
    Column("public_key", Text, nullable=False),
    Column("sign_count", BigInteger, nullable=False),
    Column("user_handle", String(64), nullable=False),
    Column("name", String(64), nullable=False),
    Column("transports", String(128), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("last_used", BigInteger, nullable=True),
    ForeignKeyConstraint(
        ["namespace", "account_id"],
        ["accounts.namespace", "accounts.id"],
        ondelete="CASCADE",
        onupdate="CASCADE",
    ),
    UniqueConstraint("namespace", "credential_id"),
    Index(None, "namespace", "account_id"),
)

# External identity providers a namespace signs users in through ("Sign in with ..."):
# OpenID Connect ones by their discovery document, plain OAuth 2.0 ones with a userinfo
# endpoint. The client secret is sealed with the key-encryption key.
identity_providers = Table(
    "identity_providers",
    metadata,
    Column("namespace", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("name", String(128), nullable=False),
    Column("issuer", Text, nullable=False),
    Column("authorization_endpoint", Text, nullable=False),
    Column("token_endpoint", Text, nullable=False),
    Column("userinfo_endpoint", Text, nullable=False),
    Column("jwks_uri", Text, nullable=False),
    Column("client_id", String(256), nullable=False),
    Column("kek_id", String(64), nullable=False),
    Column("sealed_secret", Text, nullable=False),
    Column("scopes", Text, nullable=False),
    Column("subject_claim", String(64), nullable=False),
    Column("email_claim", String(64), nullable=False),
    Column("verified_claim", String(64), nullable=False),
    Column("keep_tokens", Boolean, nullable=False),
    Column("created", BigInteger, nullable=False),
)

# Which account an identity at an external provider signs in. The provider's tokens only
# when the provider keeps them (sealed).
linked_identities = Table(
    "linked_identities",
    metadata,
    Column("namespace", String(64), primary_key=True),
    Column("provider_id", String(64), primary_key=True),
    Column("subject", String(255), primary_key=True),
    Column("account_id", String(128), nullable=False),
    Column("email", String(254), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("last_used", BigInteger, nullable=True),
    Column("kek_id", String(64), nullable=True),
    Column("sealed_tokens", Text, nullable=True),
    ForeignKeyConstraint(
        ["namespace", "account_id"],
        ["accounts.namespace", "accounts.id"],
        ondelete="CASCADE",
        onupdate="CASCADE",
    ),
    ForeignKeyConstraint(
        ["namespace", "provider_id"],
        ["identity_providers.namespace", "identity_providers.id"],
        ondelete="CASCADE",
    ),
    Index(None, "namespace", "account_id"),
)

# WebAuthn challenges answered already (the challenges themselves are sealed, not stored):
# an answer replayed finds its challenge here and is refused. Rows go once expired.
spent_challenges = Table(
    "spent_challenges",
    metadata,
    Column("challenge_hash", String(64), primary_key=True),
    Column("expires", BigInteger, nullable=False),
    Index(None, "expires"),
)

# Who must have a second factor in a namespace: "none", "everyone", or the holders of
# ``roles`` (space-separated).
factor_policies = Table(
    "factor_policies",
    metadata,
    Column("namespace", String(64), primary_key=True),
    Column("required", String(16), nullable=False),
    Column("roles", Text, nullable=False),
    Column("updated", BigInteger, nullable=False),
)

recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("namespace", String(64), nullable=False),
    Column("account_id", String(128), nullable=False),
    Column("code_hash", String(64), primary_key=True),
    Column("used", BigInteger, nullable=True),
    ForeignKeyConstraint(
        ["namespace", "account_id"],
        ["accounts.namespace", "accounts.id"],
        ondelete="CASCADE",
        onupdate="CASCADE",
    ),
    Index(None, "namespace", "account_id"),
)

# How a namespace's hosted pages look (oidc/branding.py).
brandings = Table(
    "brandings",
    metadata,
    Column("namespace", String(64), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("logo_url", String(512), nullable=False),
    Column("color", String(7), nullable=False),
    Column("updated", BigInteger, nullable=False),
)

# What a user let a third-party client have (oidc/consent.py): asked once, revocable.
consents = Table(
    "consents",
    metadata,
    Column("namespace", String(64), primary_key=True),
    Column("account_id", String(128), primary_key=True),
    Column("client_id", String(64), primary_key=True),
    Column("scope", String(256), nullable=False),
    Column("created", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["namespace", "account_id"],
        ["accounts.namespace", "accounts.id"],
        ondelete="CASCADE",
        onupdate="CASCADE",
    ),
)

probes = Table(
    "probes",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("at", BigInteger, nullable=False),
)

# How far an outbox consumer (the NATS publisher) has got.
outbox_cursors = Table(
    "outbox_cursors",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("seq", BigInteger, nullable=False),
)

# Abuse protection (when no Redis is configured) ------------------------------

# Request counters per key, each window starting at its first request, e.g. logins per client address per minute.
rate_counters = Table(
    "rate_counters",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("window_start", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),
)

# Consecutive failed logins of one (address, account) pair, and its lockout.
login_failures = Table(
    "login_failures",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("locked_until", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    Index(None, "updated"),
)
