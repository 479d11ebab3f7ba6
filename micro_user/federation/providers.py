"""External identity providers: "Sign in with ..." on the hosted pages.

Two kinds, configured per namespace (auth API ``Providers.*``, CLI ``micro-user provider``):

- ``oidc``: any OpenID Connect provider, by its issuer. Its discovery document gives the
  endpoints; the ID token is checked fully (signature from the provider's JWKS, ``iss``,
  ``aud``, ``azp``, ``exp``, ``iat``, ``nonce``), and its ``sub`` names the identity.
- ``oauth2``: a plain OAuth 2.0 provider with a userinfo endpoint (GitHub-style): the
  identity is the userinfo's ``subject_claim`` field; an email counts as verified only
  where ``verified_claim`` names a field that says so.

Every request uses the authorization code flow with PKCE (S256) and a ``state`` bound to
the browser. The client secret is sealed with the key-encryption key. The provider's tokens
are dropped after sign-in unless the provider was created with ``keep_tokens``; kept ones
are sealed, bound to the identity."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from micro_user.accounts import validation as v
from micro_user.accounts.models import Account
from micro_user.auth.key_encryption import KeyRing
from micro_user.clock import Clock
from micro_user.errors import BadRequest, Conflict, NotFound, Unauthorized
from micro_user.events import outbox
from micro_user.events.outbox import Outbox
from micro_user.storage import federation as repo
from micro_user.storage.database import Database

ERROR_ID = "auth.providers.create"
SIGN_IN_ERROR = "federation.signin"
KINDS = ("oidc", "oauth2")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
HTTP_TIMEOUT = 10.0
JWKS_CACHE_SECONDS = 300
ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")


@dataclass(frozen=True, slots=True)
class IdentityProvider:
    namespace: str
    id: str
    kind: str
    name: str
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    client_id: str
    scopes: tuple[str, ...]
    subject_claim: str
    email_claim: str
    verified_claim: str
    keep_tokens: bool
    created: int

    @classmethod
    def of(cls, row: dict[str, Any]) -> IdentityProvider:
        fields = {k: v for k, v in row.items() if k not in ("kek_id", "sealed_secret")}
        fields["scopes"] = tuple(str(row["scopes"]).split())
        fields["keep_tokens"] = bool(row["keep_tokens"])
        return cls(**fields)


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the provider says signed in."""

    provider: IdentityProvider
    subject: str
    email: str
    email_verified: bool
    username: str
    tokens: dict[str, Any]


def _url(value: str, what: str) -> str:
    """An https URL (http only on a loopback host, for development and tests)."""
    parts = urlsplit(value.strip())
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if (
        not parts.hostname
        or parts.scheme not in ("https", "http")
        or (parts.scheme == "http" and not loopback)
    ):
        raise BadRequest(ERROR_ID, f"{what} must be an https URL")
    if parts.fragment:
        raise BadRequest(ERROR_ID, f"{what} must not have a fragment")
    return value.strip()


def _email_of(claimed: object, verified: object) -> tuple[str, bool]:
    """The provider's email as accounts here compare it, and whether it counts as
    verified: only when the provider says so (true, not "true"), and only for an address
    that normalising changes in nothing but ASCII case (a verified "\u212a@..." is not a
    verified "k@...")."""
    if not isinstance(claimed, str) or not claimed.strip():
        return "", False
    raw = claimed.strip()
    try:
        email = v.normalize_email(raw, check_id=SIGN_IN_ERROR)
    except BadRequest:
        return "", False
    return email, verified is True and raw.isascii() and email == raw.lower()


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


class Federation:
    def __init__(
        self,
        db: Database,
        ring: Callable[[], KeyRing],
        events: Outbox,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.db = db
        self.ring = ring
        self.outbox = events
        self.clock = clock
        self.transport = transport
        self._jwks: dict[str, tuple[float, KeySet]] = {}

    def _http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=HTTP_TIMEOUT, transport=self.transport, follow_redirects=False
        )

    @staticmethod
    def _bound(namespace: str, provider_id: str, what: str) -> str:
        return f"identity-provider:{namespace}:{provider_id}:{what}"

    # -- configuration ----------------------------------------------------------------

    async def create(
        self,
        namespace: str,
        *,
        id: str,
        kind: str,
        name: str,
        client_id: str,
        client_secret: str,
        issuer: str = "",
        authorization_endpoint: str = "",
        token_endpoint: str = "",
        userinfo_endpoint: str = "",
        scopes: list[str] | None = None,
        subject_claim: str = "",
        email_claim: str = "",
        verified_claim: str = "",
        keep_tokens: bool = False,
    ) -> IdentityProvider:
        """A provider; an OpenID Connect one's endpoints come from its discovery document,
        fetched now (and its issuer must be the one it names)."""
        id = id.strip().lower()
        if not ID_PATTERN.match(id):
            raise BadRequest(
                ERROR_ID, "id is 1 to 63 lower-case letters, digits and hyphens (e.g. github)"
            )
        if kind not in KINDS:
            raise BadRequest(ERROR_ID, f"kind is one of {', '.join(KINDS)}")
        name = " ".join(name.split())
        if not name or len(name) > 128:
            raise BadRequest(ERROR_ID, "name (the button says 'Sign in with <name>') is required")
        if not client_id.strip() or not client_secret:
            raise BadRequest(ERROR_ID, "client_id and client_secret are required")
        jwks_uri = ""
        if kind == "oidc":
            issuer = _url(issuer, "issuer").rstrip("/")
            found = await self._discover(issuer)
            authorization_endpoint = _url(
                str(found.get("authorization_endpoint", "")), "the authorization_endpoint"
            )
            token_endpoint = _url(str(found.get("token_endpoint", "")), "the token_endpoint")
            jwks_uri = _url(str(found.get("jwks_uri", "")), "the jwks_uri")
            userinfo_endpoint = found.get("userinfo_endpoint") or ""
            if userinfo_endpoint:
                userinfo_endpoint = _url(str(userinfo_endpoint), "the userinfo_endpoint")
            methods = found.get("code_challenge_methods_supported")
            if isinstance(methods, list) and "S256" not in methods:
                raise BadRequest(ERROR_ID, "the provider does not support PKCE with S256")
            chosen = scopes or ["openid", "email", "profile"]
            if "openid" not in chosen:
                raise BadRequest(ERROR_ID, "an OpenID Connect provider's scopes include openid")
        else:
            authorization_endpoint = _url(authorization_endpoint, "authorization_endpoint")
            token_endpoint = _url(token_endpoint, "token_endpoint")
            userinfo_endpoint = _url(userinfo_endpoint, "userinfo_endpoint")
            chosen = scopes or []
            issuer = ""
        provider_row: dict[str, Any] = {
            "namespace": namespace,
            "id": id,
            "kind": kind,
            "name": name,
            "issuer": issuer,
            "authorization_endpoint": authorization_endpoint,
            "token_endpoint": token_endpoint,
            "userinfo_endpoint": userinfo_endpoint,
            "jwks_uri": jwks_uri,
            "client_id": client_id.strip(),
            "scopes": " ".join(dict.fromkeys(s.strip() for s in chosen if s.strip())),
            "subject_claim": subject_claim.strip() or ("sub" if kind == "oidc" else "id"),
            "email_claim": email_claim.strip() or "email",
            "verified_claim": verified_claim.strip() if kind == "oauth2" else "email_verified",
            "keep_tokens": keep_tokens,
            "created": self.clock(),
        }
        kek_id, sealed = self.ring().seal(
            self._bound(namespace, id, "secret"), client_secret.encode()
        )
        async with self.db.write() as conn:
            if await repo.find_provider(conn, namespace, id) is not None:
                raise Conflict(ERROR_ID, f"a provider with id {id} exists already")
            await repo.insert_provider(conn, kek_id=kek_id, sealed_secret=sealed, **provider_row)
            await self.outbox.record(
                conn,
                namespace,
                outbox.PROVIDER_CREATED,
                self.clock(),
                payload={"provider": id, "kind": kind},
            )
        return IdentityProvider.of(provider_row)

    async def _discover(self, issuer: str) -> dict[str, Any]:
        url = f"{issuer}/.well-known/openid-configuration"
        try:
            async with self._http() as http:
                answer = await http.get(url)
            found = answer.json() if answer.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            found = None
        if not isinstance(found, dict):
            raise BadRequest(ERROR_ID, f"no OpenID Connect discovery document at {url}")
        if found.get("issuer") != issuer:
            raise BadRequest(
                ERROR_ID, f"the discovery document at {url} names another issuer than {issuer}"
            )
        return found

    async def of_namespace(self, namespace: str) -> list[IdentityProvider]:
        async with self.db.read() as conn:
            return [IdentityProvider.of(row) for row in await repo.providers(conn, namespace)]

    async def get(self, namespace: str, id: str) -> IdentityProvider:
        async with self.db.read() as conn:
            row = await repo.find_provider(conn, namespace, id)
        if row is None:
            raise NotFound(SIGN_IN_ERROR, f"no identity provider {id!r}")
        return IdentityProvider.of(row)

    async def delete(self, namespace: str, id: str) -> None:
        """Remove a provider and every link to it (accounts stay)."""
        async with self.db.write() as conn:
            if not await repo.delete_provider(conn, namespace, id):
                raise NotFound("auth.providers.delete", f"no identity provider {id!r}")
            await self.outbox.record(
                conn, namespace, outbox.PROVIDER_DELETED, self.clock(), payload={"provider": id}
            )

    # -- signing in -------------------------------------------------------------------

    def authorization_url(
        self, provider: IdentityProvider, redirect_uri: str, state: str, nonce: str, challenge: str
    ) -> str:
        query = {
            "response_type": "code",
            "client_id": provider.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        if provider.scopes:
            query["scope"] = " ".join(provider.scopes)
        if provider.kind == "oidc":
            query["nonce"] = nonce
        separator = "&" if urlsplit(provider.authorization_endpoint).query else "?"
        return f"{provider.authorization_endpoint}{separator}{urlencode(query)}"

    async def identity(
        self, provider: IdentityProvider, code: str, verifier: str, redirect_uri: str, nonce: str
    ) -> Identity:
        """Exchange the code and say who signed in; Unauthorized for anything that does not
        check out (the message says what, for the page)."""
        tokens = await self._exchange(provider, code, verifier, redirect_uri)
        if provider.kind == "oidc":
            claims = await self._id_token_claims(provider, tokens, nonce)
        else:
            claims = await self._userinfo(provider, str(tokens.get("access_token", "")))
        subject = claims.get(provider.subject_claim)
        if (
            not isinstance(subject, str | int)
            or isinstance(subject, bool)
            or not 0 < len(str(subject)) <= 255  # never cut: two long ids would collide
        ):
            raise Unauthorized(SIGN_IN_ERROR, f"{provider.name} did not say who signed in")
        email, verified = _email_of(
            claims.get(provider.email_claim),
            claims.get(provider.verified_claim) if provider.verified_claim else False,
        )
        username = claims.get("preferred_username") or claims.get("login") or ""
        return Identity(
            provider,
            str(subject),
            email,
            verified,
            username if isinstance(username, str) else "",
            tokens if provider.keep_tokens else {},
        )

    async def _exchange(
        self, provider: IdentityProvider, code: str, verifier: str, redirect_uri: str
    ) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = await repo.find_provider(conn, provider.namespace, provider.id)
        if row is None:
            raise Unauthorized(SIGN_IN_ERROR, f"{provider.name} is no longer configured")
        secret = self.ring().open(
            self._bound(provider.namespace, provider.id, "secret"),
            row["kek_id"],
            row["sealed_secret"],
        )
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        try:
            async with self._http() as http:
                answer = await http.post(
                    provider.token_endpoint,
                    data=form,
                    auth=(provider.client_id, secret.decode()),
                    headers={"Accept": "application/json"},
                )
            tokens = answer.json()
        except (httpx.HTTPError, ValueError):
            raise Unauthorized(SIGN_IN_ERROR, f"{provider.name} did not answer") from None
        if answer.status_code != 200 or not isinstance(tokens, dict) or "error" in tokens:
            raise Unauthorized(SIGN_IN_ERROR, f"{provider.name} refused the sign-in")
        return tokens

    async def _keys(self, provider: IdentityProvider, refresh: bool) -> KeySet:
        cached = self._jwks.get(provider.jwks_uri)
        if cached is not None and not refresh and cached[0] > time.monotonic():
            return cached[1]
        try:
            async with self._http() as http:
                answer = await http.get(provider.jwks_uri)
            keys = KeySet.import_key_set(answer.json())
        except (httpx.HTTPError, ValueError, JoseError, TypeError, KeyError):
            raise Unauthorized(SIGN_IN_ERROR, f"{provider.name}'s keys could not be read") from None
        self._jwks[provider.jwks_uri] = (time.monotonic() + JWKS_CACHE_SECONDS, keys)
        return keys

    async def _id_token_claims(
        self, provider: IdentityProvider, tokens: dict[str, Any], nonce: str
    ) -> dict[str, Any]:
        value = tokens.get("id_token")
        if not isinstance(value, str):
            raise Unauthorized(SIGN_IN_ERROR, f"{provider.name} sent no ID token")
        refused = Unauthorized(SIGN_IN_ERROR, f"{provider.name}'s ID token does not check out")
        token = None
        for refresh in (False, True):  # a key rotated since the last fetch: fetch again
            try:
                token = jwt.decode(value, await self._keys(provider, refresh), ID_TOKEN_ALGORITHMS)
                break
            except JoseError:
                continue
        if token is None:
            raise refused
        claims = token.claims
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        registry = jwt.JWTClaimsRegistry(
            now=self.clock(),
            leeway=60,
            iss={"essential": True, "value": provider.issuer},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except JoseError:
            raise refused from None
        if provider.client_id not in audiences or (
            len(audiences) > 1 and claims.get("azp") != provider.client_id
        ):
            raise refused
        if "azp" in claims and claims["azp"] != provider.client_id:
            raise refused
        if not claims.get(provider.email_claim) and provider.userinfo_endpoint:
            info = await self._userinfo(provider, str(tokens.get("access_token", "")))
            if info.get("sub") == claims.get("sub"):
                claims = {**info, **claims}
        return dict(claims)

    async def _userinfo(self, provider: IdentityProvider, access_token: str) -> dict[str, Any]:
        try:
            async with self._http() as http:
                answer = await http.get(
                    provider.userinfo_endpoint,
                    headers={
                        "Authorization": f"Bearer {access_token}",
                        "Accept": "application/json",
                    },
                )
            info = answer.json()
        except (httpx.HTTPError, ValueError):
            info = None
        if answer.status_code != 200 or not isinstance(info, dict):
            raise Unauthorized(SIGN_IN_ERROR, f"{provider.name} did not say who signed in")
        return info

    # -- linked identities ------------------------------------------------------------

    async def linked_account(self, identity: Identity) -> str | None:
        """The account this identity signs in, noting the use (and the tokens, if kept)."""
        provider = identity.provider
        async with self.db.write() as conn:
            account_id = await repo.find_link(
                conn, provider.namespace, provider.id, identity.subject
            )
            if account_id is not None:
                await repo.touch_link(
                    conn,
                    provider.namespace,
                    provider.id,
                    identity.subject,
                    self.clock(),
                    self._sealed_tokens(identity),
                )
        return account_id

    def _sealed_tokens(self, identity: Identity) -> tuple[str, str] | None:
        if not identity.tokens:
            return None
        provider = identity.provider
        return self.ring().seal(
            self._bound(provider.namespace, provider.id, f"tokens:{identity.subject}"),
            json.dumps(identity.tokens).encode(),
        )

    async def link(self, account: Account, identity: Identity) -> None:
        provider = identity.provider
        sealed = self._sealed_tokens(identity)
        async with self.db.write() as conn:
            owner = await repo.find_link(conn, provider.namespace, provider.id, identity.subject)
            if owner is not None and owner != account.id:
                raise Conflict(
                    SIGN_IN_ERROR, f"this {provider.name} identity is linked to another account"
                )
            if owner is None:
                await repo.insert_link(
                    conn,
                    namespace=account.namespace,
                    provider_id=provider.id,
                    subject=identity.subject,
                    account_id=account.id,
                    email=identity.email,
                    created=self.clock(),
                    last_used=self.clock(),
                    kek_id=sealed[0] if sealed else None,
                    sealed_tokens=sealed[1] if sealed else None,
                )
                await self.outbox.record(
                    conn,
                    account.namespace,
                    outbox.IDENTITY_LINKED,
                    self.clock(),
                    account_id=account.id,
                    payload={"provider": provider.id},
                )

    async def links_of(self, namespace: str, account_id: str) -> list[dict[str, Any]]:
        """The account's linked identities: provider, subject, email, created, last_used
        (never the tokens)."""
        async with self.db.read() as conn:
            rows = await repo.links_of(conn, namespace, account_id)
        keep = ("provider_id", "subject", "email", "created", "last_used")
        return [{k: row[k] for k in keep} for row in rows]

    async def tokens_of(self, namespace: str, account_id: str, provider_id: str) -> dict[str, Any]:
        """The provider's tokens kept for this account's identity ({} when none are)."""
        async with self.db.read() as conn:
            rows = await repo.links_of(conn, namespace, account_id)
        for row in rows:
            if row["provider_id"] == provider_id and row["sealed_tokens"]:
                bound = self._bound(namespace, provider_id, f"tokens:{row['subject']}")
                found = json.loads(self.ring().open(bound, row["kek_id"], row["sealed_tokens"]))
                return found if isinstance(found, dict) else {}
        return {}

    async def unlink(self, account: Account, provider_id: str) -> None:
        async with self.db.write() as conn:
            if not await repo.delete_link(conn, account.namespace, account.id, provider_id):
                raise NotFound(SIGN_IN_ERROR, "this account is not linked to that provider")
            await self.outbox.record(
                conn,
                account.namespace,
                outbox.IDENTITY_UNLINKED,
                self.clock(),
                account_id=account.id,
                payload={"provider": provider_id},
            )
