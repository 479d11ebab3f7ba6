"""What the user and auth services answer with, as typed, immutable values.

The wire writes int64 fields as JSON strings (``"created": "1623677579"``);
here they are ints. Times are unix seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Account",
    "AuthAccount",
    "Role",
    "Session",
    "Token",
    "VerifyResult",
    "VerifyTokenResult",
]


@dataclass(frozen=True, slots=True)
class Account:
    """A user account. ``verification_date`` is 0 until the email address is verified."""

    id: str
    username: str
    email: str
    created: int
    updated: int
    verified: bool
    verification_date: int
    # Left out of the hash (a dict has none), still compared by ==.
    profile: dict[str, str] = field(hash=False)


@dataclass(frozen=True, slots=True)
class Session:
    """A login session of the account ``user_id``, valid until ``expires``."""

    id: str
    user_id: str
    created: int
    expires: int


@dataclass(frozen=True, slots=True)
class VerifyTokenResult:
    """The answer to a magic-link token: a new session when ``is_valid``, else a ``message``
    saying why not, and ``session`` is None."""

    is_valid: bool
    message: str
    session: Session | None


def parse_account(data: dict[str, Any]) -> Account:
    return Account(
        id=str(data["id"]),
        username=str(data["username"]),
        email=str(data["email"]),
        created=int(data["created"]),
        updated=int(data["updated"]),
        verified=bool(data["verified"]),
        verification_date=int(data["verification_date"]),
        profile={str(k): str(v) for k, v in (data.get("profile") or {}).items()},
    )


def parse_session(data: dict[str, Any]) -> Session:
    return Session(
        id=str(data["id"]),
        user_id=str(data["userId"]),
        created=int(data["created"]),
        expires=int(data["expires"]),
    )


def parse_verify_token(data: dict[str, Any]) -> VerifyTokenResult:
    session = data.get("session") or {}
    return VerifyTokenResult(
        is_valid=bool(data["is_valid"]),
        message=str(data.get("message", "")),
        # The wire always carries a session; an empty id means there is none.
        session=parse_session(session) if session.get("id") else None,
    )


# The auth service ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthAccount:
    """An account of the auth service: a service account, or the identity a token carries.
    ``issuer`` is its namespace; ``secret`` is shown only by ``generate`` and
    ``change_secret``, and empty everywhere else."""

    id: str
    type: str
    issuer: str
    name: str
    scopes: tuple[str, ...]
    secret: str
    metadata: dict[str, str] = field(hash=False)


@dataclass(frozen=True, slots=True)
class OAuthClient:
    """An application that signs its users in through micro-user (the authorization code
    flow). ``secret`` is shown only by ``create_client``, and never for a public client."""

    id: str
    name: str
    public: bool
    first_party: bool
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    created: int
    secret: str


@dataclass(frozen=True, slots=True)
class IdentityProvider:
    """An external identity provider that users sign in with on the hosted pages: OpenID
    Connect (``kind`` "oidc", its endpoints found from its ``issuer``) or plain OAuth 2.0
    ("oauth2", who signed in read from ``userinfo_endpoint``). Its client secret is never
    shown, not even by ``create_provider``."""

    id: str
    kind: str
    name: str
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    client_id: str
    scopes: tuple[str, ...]
    subject_claim: str
    email_claim: str
    verified_claim: str
    keep_tokens: bool
    created: int


@dataclass(frozen=True, slots=True)
class FactorPolicy:
    """Who in the namespace must have a second factor: ``required`` is "none" (each user's
    choice), "everyone", or "roles" (the holders of ``roles``)."""

    required: str
    roles: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Token:
    """An access token (a JWT) and its rotating refresh token; ``expiry`` is when the access
    token ends, in unix seconds."""

    access_token: str
    refresh_token: str
    created: int
    expiry: int


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Whether the rules allow the access; ``account`` is whose token it was (None for
    nobody)."""

    allowed: bool
    account: AuthAccount | None


def parse_auth_account(data: dict[str, Any]) -> AuthAccount:
    return AuthAccount(
        id=str(data["id"]),
        type=str(data["type"]),
        issuer=str(data["issuer"]),
        name=str(data.get("name", "")),
        scopes=tuple(str(s) for s in data.get("scopes") or ()),
        secret=str(data.get("secret", "")),
        metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
    )


def parse_oauth_client(data: dict[str, Any]) -> OAuthClient:
    return OAuthClient(
        id=str(data["id"]),
        name=str(data["name"]),
        public=bool(data["public"]),
        first_party=bool(data["first_party"]),
        redirect_uris=tuple(str(u) for u in data.get("redirect_uris") or ()),
        post_logout_redirect_uris=tuple(
            str(u) for u in data.get("post_logout_redirect_uris") or ()
        ),
        scopes=tuple(str(s) for s in data.get("scopes") or ()),
        created=int(data["created"]),
        secret=str(data.get("secret", "")),
    )


def parse_identity_provider(data: dict[str, Any]) -> IdentityProvider:
    return IdentityProvider(
        id=str(data["id"]),
        kind=str(data["kind"]),
        name=str(data["name"]),
        issuer=str(data.get("issuer", "")),
        authorization_endpoint=str(data.get("authorization_endpoint", "")),
        token_endpoint=str(data.get("token_endpoint", "")),
        userinfo_endpoint=str(data.get("userinfo_endpoint", "")),
        client_id=str(data["client_id"]),
        scopes=tuple(str(s) for s in data.get("scopes") or ()),
        subject_claim=str(data.get("subject_claim", "")),
        email_claim=str(data.get("email_claim", "")),
        verified_claim=str(data.get("verified_claim", "")),
        keep_tokens=bool(data.get("keep_tokens", False)),
        created=int(data["created"]),
    )


def parse_factor_policy(data: dict[str, Any]) -> FactorPolicy:
    return FactorPolicy(
        required=str(data["required"]),
        roles=tuple(str(r) for r in data.get("roles") or ()),
    )


def parse_token(data: dict[str, Any]) -> Token:
    return Token(
        access_token=str(data["access_token"]),
        refresh_token=str(data["refresh_token"]),
        created=int(data["created"]),
        expiry=int(data["expiry"]),
    )


def parse_role(data: dict[str, Any]) -> Role:
    return Role(name=str(data["name"]), description=str(data.get("description", "")))


def parse_verify(data: dict[str, Any]) -> VerifyResult:
    account = data.get("account") or {}
    return VerifyResult(
        allowed=bool(data["allowed"]),
        # The wire always carries an account; an empty id means nobody.
        account=parse_auth_account(account) if account.get("id") else None,
    )
