"""ASGI middleware that enforces micro-user's access rules inside your own service.

::

    from microuser.middleware import AuthMiddleware

    app.add_middleware(AuthMiddleware, address="http://micro-user:8080", key="muk_...",
                       service="orders")

For each HTTP request the middleware reads the bearer access token (a JWT that
micro-user signed), checks it locally against the server's published keys
(``/.well-known/jwks.json``), maps the request to a ``Resource`` and evaluates
the namespace's rules (fetched with ``Rules.List``, plus ``BUILTIN_RULES``) with
``microuser.rules``: the same evaluation the server itself runs. The request is
judged by the canonical form of the path it arrived with (``scope["raw_path"]``,
see ``microuser.paths``), and the app sees that canonical path in
``scope["path"]``, so what was judged is what is served; an ambiguous path (an
encoded ``/``, a ``;``, control characters, ...) is refused with 400. Allowed
requests reach the app with the caller's ``Identity`` in
``scope["state"]["identity"]`` (``request.state.identity`` in Starlette); the
others get the Micro error shape: 401 without a valid token, 403 with one, 503
when the server cannot be reached and nothing is cached yet (it fails closed).

Keys and rules are cached: keys for ``jwks_ttl`` seconds (and fetched again when
a token names a key not seen yet, at most once per 10 seconds per key id), rules
for ``rules_ttl`` seconds. When a refresh fails the last good copy is kept.

Revocations are learnt as keys are: per issuer, the server's
``/.well-known/revocations?iss=<the token's iss>`` lists the revoked token ids
(``jti``), ended sessions (``sid``) and deleted accounts (``sub``); the list is
kept for the ``max-age`` the server sends (its auth refresh interval, 1 s by
default), and a token it names is refused. When a refresh fails the last good
list is kept. So a token revoked at the server is refused here within that
max-age plus the server's refresh interval (about 2 s by default), or, while
the server cannot be reached, not until it expires. API keys and session ids
are not accepted here, only access tokens. Non-HTTP
traffic (websockets, lifespan) passes through unchecked.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import os
import time
import warnings
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import anyio
import httpx
from joserfc import jwt
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import ECKey, OKPKey, RSAKey

from microuser._client import KEY_ENV, _options
from microuser._exceptions import MicroUserError
from microuser.paths import AmbiguousPath, canonical_path
from microuser.rules import (
    BUILTIN_RULES,
    Access,
    Resource,
    Rule,
    RuleSet,
    Subject,
    resource_for_path,
)

__all__ = [
    "ALGORITHMS",
    "AuthMiddleware",
    "Identity",
    "InvalidTokenError",
    "KeySet",
    "RevocationCache",
    "Revocations",
    "RuleCache",
    "ServerUnavailableError",
    "TokenVerifier",
    "VerificationKey",
    "identity_of",
    "keys_from_jwks",
    "request_path",
    "resource_for",
]

# RFC 9864 prefers the name "Ed25519"; "EdDSA" is what micro-user and JWT libraries know.
warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)

log = logging.getLogger("microuser.middleware")

ALGORITHMS = ("EdDSA", "ES256", "RS256")
JWKS_PATH = "/.well-known/jwks.json"
REVOCATIONS_PATH = "/.well-known/revocations"
# How long a revocation list is kept when the server names no max-age.
REVOCATIONS_DEFAULT_TTL = 1.0
_ISSUERS_LIMIT = 1024
RULES_PATH = "/v1/auth/Rules/List"
ERROR_ID = "auth"
# A token naming an unknown key id makes the keys be fetched again, at most this often per id.
UNKNOWN_KID_INTERVAL = 10.0
# Whatever the reason, the server is asked for the same thing at most this often.
MIN_FETCH_INTERVAL = 1.0
_TRIED_KIDS_LIMIT = 1024
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
PublicKey = OKPKey | ECKey | RSAKey
T = TypeVar("T")
_KEY_TYPES: dict[str, type[OKPKey] | type[ECKey] | type[RSAKey]] = {
    "EdDSA": OKPKey,
    "ES256": ECKey,
    "RS256": RSAKey,
}


class InvalidTokenError(MicroUserError):
    """A token that is malformed, forged, expired, or signed by a key the server doesn't publish."""


class ServerUnavailableError(MicroUserError):
    """micro-user could not be asked (for keys or rules), and no earlier answer is cached."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who made a request, as its access token says."""

    id: str
    type: str
    namespace: str
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def subject(self) -> Subject:
        """The identity as rule evaluation sees it."""
        return Subject(self.namespace, self.scopes)


def identity_of(scope: Mapping[str, Any]) -> Identity | None:
    """The identity the middleware put in an ASGI scope (``request.scope``), if any."""
    found = scope.get("state", {}).get("identity")
    return found if isinstance(found, Identity) else None


# Requests to resources ----------------------------------------------------------------------


def resource_for(path: str, service: str) -> Resource:
    """What the rules see a canonical request path as (``microuser.rules.resource_for_path``);
    ``AmbiguousPath`` for a Micro-style path whose segments are not plain names."""
    return resource_for_path(path, service)


def request_path(scope: Scope) -> str:
    """The canonical path of an ASGI request, from the bytes it arrived with
    (``raw_path``; the decoded ``path`` when the server gives no raw path);
    ``AmbiguousPath`` when it has none."""
    raw = scope.get("raw_path")
    if isinstance(raw, bytes | bytearray):
        return canonical_path(bytes(raw).decode("latin-1"))
    return canonical_path(quote(str(scope["path"]), safe="/"))


# Signing keys -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """One public key of the server's JWKS, with the one algorithm it verifies."""

    kid: str
    algorithm: str
    key: PublicKey


def _shape_fits(algorithm: str, jwk: Mapping[str, Any]) -> bool:
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if algorithm == "EdDSA":
        return kty == "OKP" and crv in ("Ed25519", "Ed448")
    if algorithm == "ES256":
        return kty == "EC" and crv == "P-256"
    return kty == "RSA"


def _import_key(jwk: Any) -> VerificationKey | None:
    """A usable signature key, or None for anything else (other algorithms, other uses)."""
    if not isinstance(jwk, dict):
        return None
    kid, algorithm = jwk.get("kid"), jwk.get("alg")
    if not isinstance(kid, str) or not kid or algorithm not in ALGORITHMS:
        return None
    if jwk.get("use", "sig") != "sig" or not _shape_fits(algorithm, jwk):
        return None
    public = {name: value for name, value in jwk.items() if name not in _PRIVATE_MEMBERS}
    try:
        return VerificationKey(kid, algorithm, _KEY_TYPES[algorithm].import_key(public))
    except (JoseError, ValueError, TypeError):
        return None


def keys_from_jwks(document: Any) -> dict[str, VerificationKey]:
    """The usable keys of a JWKS document, by key id; ValueError if it is no JWKS."""
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("not a JWKS document")
    keys = (_import_key(entry) for entry in entries)
    return {key.kid: key for key in keys if key is not None}


# Caching ------------------------------------------------------------------------------------


class _Cached(Generic[T]):
    """A value fetched from the server and kept for ``ttl`` seconds.

    One fetch at a time; at most one attempt per ``min_interval`` (a refresh asked for sooner
    is skipped, or waits for its turn); a failed refresh keeps the last good value. Until a
    first fetch succeeds, ``get`` raises ``ServerUnavailableError``.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[T]],
        what: str,
        *,
        ttl: float,
        clock: Clock,
        sleep: Sleep,
        min_interval: float = MIN_FETCH_INTERVAL,
    ) -> None:
        self._fetch = fetch
        self._what = what
        self.ttl = ttl
        self._clock = clock
        self._sleep = sleep
        self._min_interval = min(min_interval, ttl)
        self._value: T | None = None
        self._fetched = -math.inf
        self.attempted = -math.inf
        self._generation = 0
        self._lock: anyio.Lock | None = None

    def stale(self) -> bool:
        return self._value is None or self._clock() - self._fetched >= self.ttl

    def refreshing(self) -> bool:
        return self._lock is not None and self._lock.locked()

    def get(self) -> T:
        if self._value is None:
            raise ServerUnavailableError(f"micro-user could not be asked for its {self._what}")
        return self._value

    async def current(self) -> T:
        """The value; a stale one is refreshed first, unless a refresh is under way."""
        if self.stale() and not (self._value is not None and self.refreshing()):
            await self.refresh()
        return self.get()

    async def refresh(self, *, wait_for_turn: bool = False) -> None:
        """Fetch again, unless a fetch under way (waited for) brought a new value, or the last
        attempt was too recent (then skip, or wait for the turn). Failures are logged."""
        if self._lock is None:
            self._lock = anyio.Lock()
        seen = self._generation
        async with self._lock:
            if self._generation != seen:
                return
            too_soon = self.attempted + self._min_interval - self._clock()
            if too_soon > 0:
                if not wait_for_turn:
                    return
                await self._sleep(too_soon)
            self.attempted = self._clock()
            try:
                value = await self._fetch()
            except ServerUnavailableError as exc:
                log.warning("%s not refreshed: %s", self._what, exc)
                return
            self._value, self._fetched = value, self.attempted
            self._generation += 1


class KeySet:
    """The server's signing keys: fetched, cached for ``ttl`` seconds, and fetched again when
    a token names a key id not seen yet: at most once per ``UNKNOWN_KID_INTERVAL`` per id, and
    at most once per ``MIN_FETCH_INTERVAL`` in all (such a token waits for the next turn)."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Any]],
        *,
        ttl: float = 300.0,
        clock: Clock = time.time,
        sleep: Sleep = anyio.sleep,
    ) -> None:
        async def fetch_keys() -> dict[str, VerificationKey]:
            try:
                return keys_from_jwks(await fetch())
            except ValueError as exc:
                raise ServerUnavailableError(f"unreadable JWKS ({exc})") from None

        self._cache = _Cached(fetch_keys, "signing keys", ttl=ttl, clock=clock, sleep=sleep)
        self._clock = clock
        self._tried: dict[str, float] = {}

    async def get(self, kid: str) -> VerificationKey | None:
        """The key with this id, or None; ``ServerUnavailableError`` when no keys were ever had."""
        found = (await self._cache.current()).get(kid)
        if found is None and (self._cache.refreshing() or self._may_refetch(kid)):
            await self._cache.refresh(wait_for_turn=True)
            found = self._cache.get().get(kid)
        return found

    def _may_refetch(self, kid: str) -> bool:
        """True, and noted, unless this key id made the keys be fetched in the last 10 s."""
        now = self._clock()
        if now - self._tried.get(kid, -math.inf) < UNKNOWN_KID_INTERVAL:
            return False
        if len(self._tried) >= _TRIED_KIDS_LIMIT:
            self._tried = {k: t for k, t in self._tried.items() if now - t < UNKNOWN_KID_INTERVAL}
            if len(self._tried) >= _TRIED_KIDS_LIMIT:
                self._tried.clear()
        self._tried[kid] = now
        return True


@dataclass(frozen=True, slots=True)
class Revocations:
    """One issuer's revocation list (``/.well-known/revocations``)."""

    jti: frozenset[str] = frozenset()
    sid: frozenset[str] = frozenset()
    sub: frozenset[str] = frozenset()

    @classmethod
    def from_document(cls, document: Any, issuer: str) -> Revocations:
        """ValueError unless it is the list of ``issuer``."""
        if not isinstance(document, dict) or document.get("iss") != issuer:
            raise ValueError("not the revocation list of this issuer")
        lists = []
        for name in ("jti", "sid", "sub"):
            values = document.get(name, [])
            if not isinstance(values, list):
                raise ValueError(f"{name} is not a list")
            lists.append(frozenset(v for v in values if isinstance(v, str)))
        return cls(*lists)

    def refuses(self, claims: Mapping[str, Any]) -> bool:
        """Whether a token of this issuer is revoked: its id, its session or its account."""
        return (
            str(claims.get("jti", "")) in self.jti
            or str(claims.get("sid", "")) in self.sid
            or str(claims.get("sub", "")) in self.sub
        )


class RevocationCache:
    """The revocation lists of the issuers whose tokens are seen: each fetched, kept for the
    max-age the server sent, fetched again after it; a failed refresh keeps the last good
    list. Until an issuer's list was fetched once, ``ServerUnavailableError``."""

    def __init__(
        self,
        fetch: Callable[[str], Awaitable[tuple[Any, float | None]]],
        *,
        clock: Clock = time.time,
        sleep: Sleep = anyio.sleep,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._sleep = sleep
        self._issuers: dict[str, _Cached[Revocations]] = {}

    def _cache(self, issuer: str) -> _Cached[Revocations]:
        found = self._issuers.get(issuer)
        if found is not None:
            return found
        if len(self._issuers) >= _ISSUERS_LIMIT:
            self._issuers.clear()

        async def fetch() -> Revocations:
            document, max_age = await self._fetch(issuer)
            try:
                revoked = Revocations.from_document(document, issuer)
            except ValueError as exc:
                raise ServerUnavailableError(f"unreadable revocation list ({exc})") from None
            cache.ttl = REVOCATIONS_DEFAULT_TTL if max_age is None else max_age
            return revoked

        cache = self._issuers[issuer] = _Cached(
            fetch,
            f"revocation list of {issuer!r}",
            ttl=REVOCATIONS_DEFAULT_TTL,
            clock=self._clock,
            sleep=self._sleep,
        )
        return cache

    async def current(self, issuer: str) -> Revocations:
        return await self._cache(issuer).current()

    async def refuses(self, claims: Mapping[str, Any]) -> bool:
        return (await self.current(str(claims.get("iss", "")))).refuses(claims)


def max_age(cache_control: str | None) -> float | None:
    """The ``max-age`` of a Cache-Control header value, if it names one."""
    for directive in (cache_control or "").split(","):
        name, _, value = directive.strip().partition("=")
        if name.lower() == "max-age":
            try:
                return max(0.0, float(value.strip().strip('"')))
            except ValueError:
                return None
    return None


class RuleCache:
    """A namespace's rules, with the built-in ones, refreshed every ``ttl`` seconds."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[list[Rule]]],
        namespace: str,
        *,
        ttl: float = 2.0,
        clock: Clock = time.time,
    ) -> None:
        async def fetch_rules() -> RuleSet:
            return RuleSet(namespace, [*BUILTIN_RULES, *await fetch()])

        self._cache = _Cached(fetch_rules, "rules", ttl=ttl, clock=clock, sleep=anyio.sleep)

    async def current(self) -> RuleSet:
        """The rules to decide with; ``ServerUnavailableError`` when they were never fetched."""
        return await self._cache.current()


# Tokens -------------------------------------------------------------------------------------


def token_header(token: str) -> dict[str, Any]:
    """The (unverified) header of a compact JWS."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidTokenError("malformed token")
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except (ValueError, binascii.Error):
        raise InvalidTokenError("malformed token") from None
    if not isinstance(header, dict):
        raise InvalidTokenError("malformed token")
    return header


def identity_from_claims(claims: Mapping[str, Any], now: float) -> Identity:
    """The identity of verified claims, unless they expired or lack a subject or issuer."""
    expiry, not_before = claims.get("exp"), claims.get("nbf", 0)
    if not isinstance(expiry, int) or isinstance(expiry, bool):
        raise InvalidTokenError("token without expiry")
    if expiry <= now:
        raise InvalidTokenError("token expired")
    if not isinstance(not_before, int | float) or not_before > now:
        raise InvalidTokenError("token not valid yet")
    subject, issuer = claims.get("sub"), claims.get("iss")
    if not isinstance(subject, str) or not subject or not isinstance(issuer, str) or not issuer:
        raise InvalidTokenError("token without subject or issuer")
    # The namespace: its own claim; tokens of before issuers were URLs had it as the issuer.
    namespace = claims.get("namespace")
    scopes = claims.get("scopes")
    return Identity(
        id=subject,
        type=str(claims.get("type", "")),
        namespace=namespace if isinstance(namespace, str) and namespace else issuer,
        scopes=frozenset(s for s in scopes if isinstance(s, str))
        if isinstance(scopes, list)
        else frozenset(),
    )


class TokenVerifier:
    """Checks access tokens against the server's keys and, when given, its revocation lists,
    without asking the server on each request."""

    def __init__(
        self,
        keys: KeySet,
        clock: Clock = time.time,
        revocations: RevocationCache | None = None,
    ) -> None:
        self.keys = keys
        self._clock = clock
        self.revocations = revocations

    async def verify(self, token: str) -> Identity:
        """The identity a valid token carries; ``InvalidTokenError`` otherwise."""
        header = token_header(token)
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in ALGORITHMS:
            raise InvalidTokenError(f"token algorithm not accepted (only {', '.join(ALGORITHMS)})")
        if not isinstance(kid, str) or not kid:
            raise InvalidTokenError("token without a key id")
        key = await self.keys.get(kid)
        if key is None:
            raise InvalidTokenError("token signed by an unknown key")
        # The key decides the algorithm: a token cannot choose "none" or another family.
        if algorithm != key.algorithm:
            raise InvalidTokenError("token algorithm does not match its key")
        try:
            claims = jwt.decode(token, key.key, algorithms=[key.algorithm]).claims
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidTokenError(f"invalid token ({type(exc).__name__})") from None
        identity = identity_from_claims(claims, self._clock())
        if self.revocations is not None and await self.revocations.refuses(claims):
            raise InvalidTokenError("token revoked")
        return identity


# The server ---------------------------------------------------------------------------------


def rule_from_json(data: Mapping[str, Any]) -> Rule:
    """A rule as ``Rules.List`` writes it."""
    resource = data["resource"]
    return Rule(
        id=str(data["id"]),
        scope=str(data["scope"]),
        resource=Resource(str(resource["type"]), str(resource["name"]), str(resource["endpoint"])),
        access=Access(data["access"]),
        priority=int(data["priority"]),
    )


class _Server:
    """The two questions the middleware asks micro-user, over one lazily made httpx client."""

    def __init__(
        self,
        address: str | None,
        key: str,
        transport: httpx.AsyncBaseTransport | None,
        timeout: float,
    ) -> None:
        # The key goes with Rules.List only: the JWKS is public.
        self._options = {**_options(address, None, timeout, None), "transport": transport}
        self._authorization = {"Authorization": f"Bearer {key}"}
        self._http: httpx.AsyncClient | None = None

    async def _call(self, method: str, path: str, **options: Any) -> Any:
        return (await self._respond(method, path, **options))[0]

    async def _respond(self, method: str, path: str, **options: Any) -> tuple[Any, httpx.Response]:
        if self._http is None:
            self._http = httpx.AsyncClient(**self._options)
        try:
            response = await self._http.request(method, path, **options)
        except httpx.HTTPError as exc:
            raise ServerUnavailableError(f"{path}: {type(exc).__name__} {exc}".strip()) from None
        if response.is_error:
            detail = response.text[:200]
            raise ServerUnavailableError(f"{path} answered {response.status_code}: {detail}")
        try:
            return response.json(), response
        except ValueError:
            raise ServerUnavailableError(f"{path} answered something other than JSON") from None

    async def jwks(self) -> Any:
        return await self._call("GET", JWKS_PATH)

    async def revocations(self, issuer: str) -> tuple[Any, float | None]:
        body, response = await self._respond("GET", REVOCATIONS_PATH, params={"iss": issuer})
        return body, max_age(response.headers.get("cache-control"))

    async def rules(self) -> list[Rule]:
        body = await self._call("POST", RULES_PATH, json={}, headers=self._authorization)
        try:
            return [rule_from_json(rule) for rule in body["rules"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise ServerUnavailableError(f"unreadable rules ({type(exc).__name__})") from None

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


# The middleware -----------------------------------------------------------------------------


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def bearer_token(authorization: str) -> str:
    """The token of an ``Authorization: Bearer <token>`` header value."""
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidTokenError("unsupported Authorization header: use 'Bearer <access token>'")
    return token.strip()


def _is_public(path: str, public_paths: tuple[str, ...]) -> bool:
    return any(
        path.startswith(public[:-1]) if public.endswith("/*") else path == public
        for public in public_paths
    )


async def _answer(
    send: Send, status: int, detail: str, headers: Iterable[tuple[str, str]] = ()
) -> None:
    """An error in the Micro shape: ``{id, code, detail, status}``."""
    body = json.dumps(
        {"id": ERROR_ID, "code": status, "detail": detail, "status": HTTPStatus(status).phrase}
    ).encode()
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((name.lower().encode(), value.encode()) for name, value in headers),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class AuthMiddleware:
    """Lets a request reach ``app`` only when micro-user's rules allow it (see the module)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        address: str | None = None,
        key: str | None = None,
        service: str | None = None,
        namespace: str = "micro",
        resource: Callable[[Scope], Resource] | None = None,
        jwks_ttl: float = 300.0,
        rules_ttl: float = 2.0,
        public_paths: Iterable[str] = (),
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 5.0,
        clock: Clock = time.time,
    ) -> None:
        """``address`` and ``key`` default to $MICRO_USER_ADDRESS and $MICRO_USER_KEY, as for
        ``Client``; the key (an API key or token of ``namespace``) must be allowed to call
        ``Rules.List``. Requests map to resources by ``resource(scope)`` when given, else by
        ``resource_for(path, service)``. ``public_paths`` (exact, or a prefix when ending
        in ``/*``) pass unchecked."""
        key = key if key is not None else os.environ.get(KEY_ENV)
        if not key:
            raise ValueError("AuthMiddleware needs key= (or $MICRO_USER_KEY) to read the rules")
        if service is None and resource is None:
            raise ValueError("AuthMiddleware needs service= (or resource=) to name resources")
        self.app = app
        self.namespace = namespace
        self.public_paths = tuple(public_paths)
        self._service = service or ""
        self._resource = resource
        self._server = _Server(address, key, transport, timeout)
        self.verifier = TokenVerifier(
            KeySet(self._server.jwks, ttl=jwks_ttl, clock=clock),
            clock,
            RevocationCache(self._server.revocations, clock=clock),
        )
        self.rules = RuleCache(self._server.rules, namespace, ttl=rules_ttl, clock=clock)

    def resource(self, scope: Scope) -> Resource:
        """The resource a request asks for."""
        if self._resource is not None:
            return self._resource(scope)
        return resource_for(str(scope["path"]), self._service)

    async def identify(self, scope: Scope) -> Identity | None:
        """The caller, or None without credentials; ``InvalidTokenError`` for a bad token."""
        authorization = _header(scope, b"authorization")
        if authorization is None:
            return None
        return await self.verifier.verify(bearer_token(authorization))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        try:
            path = request_path(scope)
        except AmbiguousPath as exc:
            await _answer(send, 400, f"ambiguous request path, refused: {exc}")
            return
        # The app serves what was judged: the canonical path.
        scope["path"], scope["raw_path"] = path, quote(path, safe="/").encode("ascii")
        if _is_public(path, self.public_paths):
            state["identity"] = None
            await self.app(scope, receive, send)
            return
        try:
            resource = self.resource(scope)
        except AmbiguousPath as exc:
            await _answer(send, 400, f"ambiguous request path, refused: {exc}")
            return
        try:
            identity = await self.identify(scope)
            ruleset = await self.rules.current()
        except InvalidTokenError as exc:
            challenge = 'Bearer error="invalid_token"'
            await _answer(send, 401, str(exc), [("WWW-Authenticate", challenge)])
            return
        except ServerUnavailableError as exc:
            log.debug("refused a request: %s", exc)  # the failed fetch itself is a warning
            await _answer(send, 503, "access cannot be checked now", [("Retry-After", "1")])
            return
        if ruleset.allows(identity.subject if identity else None, resource):
            state["identity"] = identity
            await self.app(scope, receive, send)
        elif identity is None:
            detail = f"{resource} needs credentials: send 'Authorization: Bearer <access token>'"
            await _answer(send, 401, detail, [("WWW-Authenticate", "Bearer")])
        else:
            await _answer(send, 403, f"{resource} is not allowed for this account")

    async def aclose(self) -> None:
        """Close the connections to micro-user (they are made again when needed)."""
        await self._server.aclose()
