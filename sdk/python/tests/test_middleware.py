"""microuser.middleware: a Starlette app, driven in-process, guarded by the live server's rules.

The app under test runs in-process (httpx.ASGITransport); micro-user is the real server, over
HTTP. The verifier's corner cases (expiry, algorithms, key fetching) are also tested against
keys made here, with a fake clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest
from conftest import unique
from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey
from sdk_testing import anyio_backend_fixture as anyio_backend_fixture
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from tests.support.services import free_port

from microuser.middleware import (
    AuthMiddleware,
    Identity,
    InvalidTokenError,
    KeySet,
    RevocationCache,
    ServerUnavailableError,
    TokenVerifier,
    identity_of,
    keys_from_jwks,
    resource_for,
)
from microuser.rules import Resource

pytestmark = pytest.mark.anyio
RULES_TTL = 1.0
MARGIN = 1.5  # seconds on top of rules_ttl for a rule change to be followed


# The app under test ----------------------------------------------------------------------


async def echo(request: Request) -> JSONResponse:
    """Shows what the middleware let through: the path and the identity."""
    identity = request.state.identity
    assert identity is identity_of(request.scope)
    shown = None if identity is None else {**vars_of(identity), "scopes": sorted(identity.scopes)}
    return JSONResponse({"path": request.url.path, "identity": shown})


def vars_of(identity: Identity) -> dict[str, Any]:
    return {"id": identity.id, "type": identity.type, "namespace": identity.namespace}


def orders_app() -> Starlette:
    return Starlette(routes=[Route("/{path:path}", echo, methods=["GET", "POST"])])


@asynccontextmanager
async def guarded(
    server: Any, key: str, app: Starlette | None = None, **options: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the orders app, wrapped in the middleware pointing at the live server."""
    options = {"address": server.base_url, "key": key, "service": "orders", **options}
    options.setdefault("rules_ttl", RULES_TTL)
    middleware = AuthMiddleware(app or orders_app(), **options)
    transport = httpx.ASGITransport(app=middleware)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://orders.test") as client:
            yield client
    finally:
        await middleware.aclose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# The live server's auth API ----------------------------------------------------------------


class Admin:
    """Calls the server's auth endpoints with the admin key."""

    def __init__(self, server: Any, key: str) -> None:
        self.http = httpx.AsyncClient(base_url=server.base_url, headers=bearer(key), timeout=30)

    async def __call__(self, endpoint: str, **body: Any) -> dict[str, Any]:
        response = await self.http.post(f"/v1/auth/{endpoint.replace('.', '/')}", json=body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def token(self, *scopes: str) -> tuple[str, str]:
        """(account id, access token) of a new service account holding ``scopes``."""
        account = (await self("Auth.Generate", scopes=list(scopes)))["account"]
        pair = await self("Auth.Token", id=account["id"], secret=account["secret"])
        return account["id"], pair["token"]["access_token"]

    async def rule(
        self, scope: str, resource: str, access: str = "GRANTED", priority: int = 0
    ) -> str:
        rule_id = unique("mw-rule-")
        type_, name, endpoint = resource.split(":", 2)
        fields = {"type": type_, "name": name, "endpoint": endpoint}
        rule = {"id": rule_id, "scope": scope, "resource": fields}
        await self("Rules.Create", rule={**rule, "access": access, "priority": priority})
        return rule_id

    async def role(self) -> str:
        name = unique("mw-role-")
        await self("Roles.Create", name=name)
        return name

    async def verify(self, token: str | None, resource: Resource) -> bool:
        target = {"type": resource.type, "name": resource.name, "endpoint": resource.endpoint}
        body = await self("Auth.Verify", resource=target, **({"token": token} if token else {}))
        return bool(body["allowed"])


@pytest.fixture(name="admin")
async def admin_fixture(server: Any, admin_key: str) -> AsyncIterator[Admin]:
    admin = Admin(server, admin_key)
    yield admin
    await admin.http.aclose()


# Allowed, forbidden, unauthenticated -------------------------------------------------------


async def test_an_allowed_request_reaches_the_app_with_the_identity(
    server: Any, admin_key: str, admin: Admin
) -> None:
    role = await admin.role()
    account_id, token = await admin.token(role)
    path = f"/orders/{unique()}"
    await admin.rule(role, f"api:orders:{path}")
    async with guarded(server, admin_key) as client:
        response = await client.get(path, headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "path": path,
        "identity": {"id": account_id, "type": "service", "namespace": "micro", "scopes": [role]},
    }


async def test_starlette_add_middleware_works(server: Any, admin_key: str, admin: Admin) -> None:
    role = await admin.role()
    _, token = await admin.token(role)
    await admin.rule(role, "service:orders:Orders.Create")
    app = orders_app()
    app.add_middleware(AuthMiddleware, address=server.base_url, key=admin_key, service="orders")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://orders.test"
    ) as client:
        allowed = await client.post("/v1/orders/Create", headers=bearer(token))
        denied = await client.post("/v1/orders/Delete", headers=bearer(token))
    assert allowed.status_code == 200 and allowed.json()["identity"]["scopes"] == [role]
    assert denied.status_code == 403
    layer: Any = app.middleware_stack
    while not isinstance(layer, AuthMiddleware):
        layer = layer.app
    await layer.aclose()


async def test_a_valid_token_without_a_matching_rule_is_forbidden(
    server: Any, admin_key: str, admin: Admin
) -> None:
    _, token = await admin.token(await admin.role())
    async with guarded(server, admin_key) as client:
        response = await client.get("/orders/secret", headers=bearer(token))
    assert response.status_code == 403
    assert response.json() == {
        "id": "auth",
        "code": 403,
        "detail": "api:orders:/orders/secret is not allowed for this account",
        "status": "Forbidden",
    }
    assert "www-authenticate" not in response.headers


def segment(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def parts_of(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, claims, _ = token.split(".")
    decode = base64.urlsafe_b64decode
    return (
        json.loads(decode(header + "=" * (-len(header) % 4))),
        json.loads(decode(claims + "=" * (-len(claims) % 4))),
    )


def forgeries(token: str, jwks: dict[str, Any]) -> dict[str, str]:
    """Tokens that must not pass, made from a real one."""
    header, claims = parts_of(token)
    head, body, signature = token.split(".")
    richer = segment({**claims, "scopes": ["admin"]})
    public = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    hs_header = segment({**header, "alg": "HS256"})
    hs_signature = hmac.new(
        json.dumps(public).encode(), f"{hs_header}.{body}".encode(), hashlib.sha256
    ).digest()
    stranger = OKPKey.generate_key("Ed25519", parameters={"kid": "not-published"})
    return {
        "tampered claims": f"{head}.{richer}.{signature}",
        "tampered signature": f"{head}.{body}.{signature[:-4]}AAAA",
        "alg none": f"{segment({**header, 'alg': 'none'})}.{body}.",
        "alg none, no signature": f"{segment({'alg': 'none', 'kid': header['kid']})}.{body}",
        "HS256 with the public key as secret": (
            f"{hs_header}.{body}.{base64.urlsafe_b64encode(hs_signature).rstrip(b'=').decode()}"
        ),
        "unknown key": jwt.encode(
            {"alg": "EdDSA", "kid": "not-published"}, claims, stranger, algorithms=["EdDSA"]
        ),
        "no kid": jwt.encode({"alg": "EdDSA"}, claims, stranger, algorithms=["EdDSA"]),
        "not a JWT": "muk_not_a_token",
    }


async def test_no_invalid_or_forged_token_is_401(server: Any, admin_key: str, admin: Admin) -> None:
    role = await admin.role()
    _, token = await admin.token(role)
    path = f"/orders/{unique()}"
    await admin.rule(role, f"api:orders:{path}")
    jwks = httpx.get(server.base_url + "/.well-known/jwks.json").json()
    async with guarded(server, admin_key) as client:
        assert (await client.get(path, headers=bearer(token))).status_code == 200
        missing = await client.get(path)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        assert missing.json() == {
            "id": "auth",
            "code": 401,
            "detail": f"api:orders:{path} needs credentials: "
            "send 'Authorization: Bearer <access token>'",
            "status": "Unauthorized",
        }
        for name, forged in forgeries(token, jwks).items():
            response = await client.get(path, headers=bearer(forged))
            assert response.status_code == 401, name
            assert response.headers["www-authenticate"].startswith("Bearer"), name
            assert set(response.json()) == {"id", "code", "detail", "status"}, name
        for authorization in (f"Basic {token}", "Bearer", "Bearer ", token):
            response = await client.get(path, headers={"Authorization": authorization})
            assert response.status_code == 401, authorization
        # An API key is for the server's API: here only access tokens count.
        assert (await client.get(path, headers=bearer(admin_key))).status_code == 401


async def test_anonymous_access_follows_the_rules(
    server: Any, admin_key: str, admin: Admin
) -> None:
    path = f"/orders/open-{unique()}"
    await admin.rule("", f"api:orders:{path}")
    _, token = await admin.token()
    async with guarded(server, admin_key) as client:
        anonymous = await client.get(path)
        assert anonymous.status_code == 200 and anonymous.json()["identity"] is None
        signed_in = await client.get(path, headers=bearer(token))
        assert signed_in.status_code == 200 and signed_in.json()["identity"]["scopes"] == []


# Following the server ----------------------------------------------------------------------


async def eventually(status: int, request: Callable[[], Awaitable[httpx.Response]]) -> float:
    """Seconds until ``request`` answers ``status`` (failing after RULES_TTL + MARGIN)."""
    started = time.monotonic()
    while (await request()).status_code != status:
        elapsed = time.monotonic() - started
        assert elapsed < RULES_TTL + MARGIN, f"still not {status} after {elapsed:.1f} s"
        await anyio.sleep(0.05)
    return time.monotonic() - started


async def test_rule_changes_on_the_server_are_followed_within_rules_ttl(
    server: Any, admin_key: str, admin: Admin
) -> None:
    role = await admin.role()
    _, token = await admin.token(role)
    path = f"/orders/{unique()}"
    async with guarded(server, admin_key) as client:

        def request() -> Awaitable[httpx.Response]:
            return client.get(path, headers=bearer(token))

        assert (await request()).status_code == 403
        rule_id = await admin.rule(role, f"api:orders:{path}")
        await eventually(200, request)
        await admin("Rules.Delete", id=rule_id)
        await eventually(403, request)
        # A prefix rule, and a higher denial carving out part of it.
        await admin.rule(role, f"api:orders:{path}/*")
        await admin.rule(role, f"api:orders:{path}/private", "DENIED", 1)
        await eventually(200, lambda: client.get(f"{path}/a", headers=bearer(token)))
        assert (await client.get(f"{path}/private", headers=bearer(token))).status_code == 403


class CountingTransport(httpx.AsyncBaseTransport):
    """A real transport that counts requests by path, and can be cut off."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.counts: dict[str, int] = {}
        self.cut = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.counts[request.url.path] = self.counts.get(request.url.path, 0) + 1
        if self.cut:
            raise httpx.ConnectError("cut off by the test", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def kid_of(token: str) -> str:
    return str(parts_of(token)[0]["kid"])


async def test_tokens_of_a_rotated_key_verify_and_old_ones_still_do(
    server: Any, admin_key: str, admin: Admin
) -> None:
    role = await admin.role()
    _, old_token = await admin.token(role)
    path = f"/orders/{unique()}"
    await admin.rule(role, f"api:orders:{path}")
    counting = CountingTransport()
    async with guarded(server, admin_key, transport=counting) as client:
        assert (await client.get(path, headers=bearer(old_token))).status_code == 200
        assert counting.counts["/.well-known/jwks.json"] == 1
        rotated = server.cli("keys", "rotate", "--now")
        assert rotated.returncode == 0, rotated.stderr
        started = time.monotonic()
        while kid_of(new_token := (await admin.token(role))[1]) == kid_of(old_token):
            assert time.monotonic() - started < 10, "the server did not take up its new key"
            await anyio.sleep(0.1)
        # The new key id is unknown to the middleware: it fetches the keys once more.
        assert (await client.get(path, headers=bearer(new_token))).status_code == 200
        assert (await client.get(path, headers=bearer(old_token))).status_code == 200
        assert (await client.get(path, headers=bearer(new_token))).status_code == 200
        assert counting.counts["/.well-known/jwks.json"] == 2


async def test_decisions_agree_with_the_servers_auth_verify(
    server: Any, admin_key: str, admin: Admin
) -> None:
    role = await admin.role()
    members = f"/orders/members-{unique()}"
    rules = [
        await admin.rule(role, "service:orders:Orders.Create"),
        await admin.rule("", f"api:orders:{members}/open"),
        await admin.rule("*", f"api:orders:{members}/*"),
        await admin.rule(role, f"api:orders:{members}/staff/*", "DENIED", 1),
    ]
    tokens: dict[str, str | None] = {
        "nobody": None,
        "no roles": (await admin.token())[1],
        "role": (await admin.token(role))[1],
        "admin": (await admin.token("admin"))[1],
    }
    paths = [
        "/v1/orders/Create",
        "/v1/orders/Orders/Delete",
        "/v1/auth/Auth/Token",
        "/v1/auth/Inspect",
        "/v1/user/User/Delete",
        f"{members}/open",
        f"{members}/list",
        f"{members}/staff/pay",
        "/orders/elsewhere",
    ]
    decisions: dict[tuple[str, str], bool] = {}
    async with guarded(server, admin_key) as client:
        for who, token in tokens.items():
            for path in paths:
                response = await client.get(path, headers=bearer(token) if token else {})
                assert response.status_code in (200, 401 if token is None else 403)
                allowed = response.status_code == 200
                expected = await admin.verify(token, resource_for(path, "orders"))
                assert allowed is expected, (who, path)
                decisions[(who, path)] = allowed
    # The cases are not all alike: both answers occur, for each kind of caller.
    assert {decisions[("nobody", p)] for p in paths} == {True, False}
    assert {decisions[("role", p)] for p in paths} == {True, False}
    assert all(decisions[("admin", p)] for p in paths)
    for rule_id in rules:
        await admin("Rules.Delete", id=rule_id)


# Public paths, the server away, other traffic ----------------------------------------------


async def test_public_paths_pass_without_a_token(server: Any, admin_key: str) -> None:
    async with guarded(server, admin_key, public_paths=["/health", "/static/*"]) as client:
        for path in ("/health", "/static/app.js", "/static/img/logo.png"):
            response = await client.get(path)
            assert response.status_code == 200, path
            assert response.json() == {"path": path, "identity": None}
        # Public paths are not checked at all, so not even a broken token matters.
        assert (await client.get("/health", headers=bearer("broken"))).status_code == 200
        assert (await client.get("/healthz")).status_code == 401
        assert (await client.get("/static")).status_code == 401


async def raw_request(middleware: AuthMiddleware, raw_path: bytes) -> tuple[int, Any]:
    """Send one GET with ``raw_path`` exactly as it came off the wire (httpx would normalise
    it); (status, JSON body)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "server": ("orders.test", 80),
        "path": raw_path.decode("latin-1"),  # what a server that decodes nothing would give
        "raw_path": raw_path,
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"orders.test")],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await middleware(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], json.loads(body)


async def test_the_canonical_path_is_judged_and_served(
    server: Any, admin_key: str, admin: Admin
) -> None:
    public = f"/open-{unique()}"
    await admin.rule("", f"api:orders:{public}/*")
    middleware = AuthMiddleware(
        orders_app(), address=server.base_url, key=admin_key, service="orders", rules_ttl=RULES_TTL
    )
    try:
        # Judged as /admin, whatever it says on its way there.
        for raw in (f"{public}/../admin", f"{public}/%2e%2e/admin", f"//x{public}/../../admin"):
            status, _ = await raw_request(middleware, raw.encode())
            assert status == 401, raw
        # Ambiguous paths are refused, whatever the rules say.
        for raw in (f"{public}/..%2fadmin", f"{public}/..;/admin", f"{public}/\\..\\admin"):
            status, body = await raw_request(middleware, raw.encode())
            assert status == 400 and "ambiguous" in body["detail"], raw
        # What was judged is what the app is given.
        status, body = await raw_request(middleware, f"/admin/..{public}/./page".encode())
        assert status == 200 and body["path"] == f"{public}/page"
    finally:
        await middleware.aclose()


async def test_503_when_the_server_is_unreachable_and_nothing_is_cached(
    server: Any, admin_key: str, admin: Admin
) -> None:
    _, token = await admin.token("admin")
    closed = f"http://127.0.0.1:{free_port()}"
    async with guarded(server, admin_key, address=closed, public_paths=["/health"]) as client:
        for headers in ({}, bearer(token)):
            response = await client.get("/orders", headers=headers)
            assert response.status_code == 503, headers
            assert response.json() == {
                "id": "auth",
                "code": 503,
                "detail": "access cannot be checked now",
                "status": "Service Unavailable",
            }
        assert (await client.get("/health")).status_code == 200
        # A token that is surely not valid needs no server to say so.
        assert (await client.get("/orders", headers=bearer("broken"))).status_code == 401


async def test_what_is_cached_keeps_deciding_while_the_server_is_away(
    server: Any, admin_key: str, admin: Admin
) -> None:
    role = await admin.role()
    _, token = await admin.token(role)
    path = f"/orders/{unique()}"
    await admin.rule(role, f"api:orders:{path}")
    counting = CountingTransport()
    clock = WallClock()
    options = {"transport": counting, "rules_ttl": 0.2, "jwks_ttl": 0.2, "clock": clock}
    async with guarded(server, admin_key, **options) as client:
        assert (await client.get(path, headers=bearer(token))).status_code == 200
        counting.cut = True
        clock.ahead += 0.3  # both caches are stale now
        assert (await client.get(path, headers=bearer(token))).status_code == 200
        assert (await client.get("/orders/other", headers=bearer(token))).status_code == 403
        assert counting.counts["/v1/auth/Rules/List"] >= 2  # tried again, in vain


async def test_other_traffic_passes_through_untouched() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append((scope["type"], dict(scope)))
        await send({"type": f"{scope['type']}.marker"})

    closed = f"http://127.0.0.1:{free_port()}"
    middleware = AuthMiddleware(app, address=closed, key="k", service="orders")
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "lifespan.startup"}

    for scope in ({"type": "lifespan", "asgi": {"version": "3.0"}}, {"type": "websocket"}):
        await middleware(dict(scope), receive, send)
    assert seen == [
        ("lifespan", {"type": "lifespan", "asgi": {"version": "3.0"}}),
        ("websocket", {"type": "websocket"}),
    ]
    assert sent == [{"type": "lifespan.marker"}, {"type": "websocket.marker"}]


def test_the_middleware_wants_a_key_and_a_way_to_name_resources(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MICRO_USER_KEY", raising=False)
    with pytest.raises(ValueError, match="key"):
        AuthMiddleware(orders_app(), service="orders")
    with pytest.raises(ValueError, match="service"):
        AuthMiddleware(orders_app(), key="k")
    monkeypatch.setenv("MICRO_USER_KEY", "from-the-environment")
    AuthMiddleware(orders_app(), resource=lambda scope: Resource("api", "x", scope["path"]))


async def test_a_resource_function_decides_what_a_request_is(
    server: Any, admin_key: str, admin: Admin
) -> None:
    role = await admin.role()
    _, token = await admin.token(role)
    name = unique("reports-")
    await admin.rule(role, f"api:{name}:GET")

    def by_method(scope: Any) -> Resource:
        return Resource("api", name, scope["method"])

    async with guarded(server, admin_key, resource=by_method) as client:
        assert (await client.get("/anything", headers=bearer(token))).status_code == 200
        assert (await client.post("/anything", headers=bearer(token))).status_code == 403


# Mapping requests to resources -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "resource"),
    [
        ("/v1/orders/Create", "service:orders:Orders.Create"),
        ("/v1/orders/create", "service:orders:Orders.Create"),
        ("/v1/Orders/Orders/List", "service:orders:Orders.List"),
        ("/v1/auth/Rules/List", "service:auth:Rules.List"),
        ("/v1/orders/Create/", "service:orders:Orders.Create"),
        ("/v1/orders", "api:orders:/v1/orders"),
        ("/v1/a/b/c/d", "api:orders:/v1/a/b/c/d"),
        ("/v2/orders/Create", "api:orders:/v2/orders/Create"),
        ("/orders/42", "api:orders:/orders/42"),
        ("/", "api:orders:/"),
        ("", "api:orders:/"),
    ],
)
def test_resource_for(path: str, resource: str) -> None:
    assert str(resource_for(path, "orders")) == resource


# The verifier, with keys made here and a fake clock ----------------------------------------


class WallClock:
    """The time of day, moved ``ahead`` when a test says so (tokens of the live server
    carry real times)."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def __call__(self) -> float:
        return time.time() + self.ahead


class Clock:
    """Time that passes only when told to, or when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Issuer:
    """Signs tokens with local keys and serves their JWKS, counting the fetches."""

    keys: list[Any]
    fetches: int = 0
    down: bool = False

    async def jwks(self) -> Any:
        self.fetches += 1
        if self.down:
            raise ServerUnavailableError("down")
        return {"keys": [key.as_dict(private=False) for key in self.keys]}

    def sign(self, key: Any, alg: str, **claims: Any) -> str:
        body = {"iss": "micro", "sub": "svc-1", "type": "service", "scopes": ["a"], **claims}
        return jwt.encode({"alg": alg, "kid": key.kid}, body, key, algorithms=[alg])


def ed25519(kid: str) -> Any:
    return OKPKey.generate_key("Ed25519", parameters={"kid": kid, "alg": "EdDSA", "use": "sig"})


@pytest.fixture(name="clock")
def clock_fixture() -> Clock:
    return Clock()


@pytest.fixture(name="issuer")
def issuer_fixture() -> Iterator[Issuer]:
    yield Issuer([ed25519("k1")])


def verifier_of(issuer: Issuer, clock: Clock, ttl: float = 300.0) -> TokenVerifier:
    return TokenVerifier(KeySet(issuer.jwks, ttl=ttl, clock=clock, sleep=clock.sleep), clock)


async def test_a_token_is_valid_until_it_expires(issuer: Issuer, clock: Clock) -> None:
    verifier = verifier_of(issuer, clock)
    token = issuer.sign(issuer.keys[0], "EdDSA", exp=int(clock.now) + 60)
    assert await verifier.verify(token) == Identity("svc-1", "service", "micro", frozenset({"a"}))
    clock.now += 59.5
    assert (await verifier.verify(token)).id == "svc-1"
    clock.now += 0.5
    with pytest.raises(InvalidTokenError, match="expired"):
        await verifier.verify(token)


async def test_revocation_lists_are_kept_for_their_max_age_and_kept_when_a_refresh_fails(
    issuer: Issuer, clock: Clock
) -> None:
    listed: dict[str, Any] = {"iss": "micro", "jti": [], "sid": [], "sub": []}
    server = {"down": False, "fetches": 0}

    async def revocations(iss: str) -> tuple[Any, float | None]:
        server["fetches"] += 1
        if server["down"]:
            raise ServerUnavailableError("down")
        return ({**listed, "iss": iss} if iss == "micro" else {"iss": "someone else"}), 2.0

    verifier = TokenVerifier(
        KeySet(issuer.jwks, clock=clock, sleep=clock.sleep),
        clock,
        RevocationCache(revocations, clock=clock, sleep=clock.sleep),
    )
    exp = int(clock.now) + 600
    token = issuer.sign(issuer.keys[0], "EdDSA", exp=exp, jti="j1", sid="s1")
    assert (await verifier.verify(token)).id == "svc-1"
    listed["sid"] = ["s1"]
    clock.now += 1.5  # within the max-age the server sent: the list is not asked again
    assert (await verifier.verify(token)).id == "svc-1" and server["fetches"] == 1
    clock.now += 0.5
    with pytest.raises(InvalidTokenError, match="revoked"):
        await verifier.verify(token)
    for claim, value in (("jti", "j2"), ("sub", "svc-2")):
        listed[claim] = [value]
        clock.now += 2
        with pytest.raises(InvalidTokenError, match="revoked"):
            await verifier.verify(issuer.sign(issuer.keys[0], "EdDSA", exp=exp, **{claim: value}))
    # The server goes away: the last good list keeps deciding.
    server["down"] = True
    clock.now += 10
    with pytest.raises(InvalidTokenError, match="revoked"):
        await verifier.verify(token)
    assert server["fetches"] >= 5
    assert (await verifier.verify(issuer.sign(issuer.keys[0], "EdDSA", exp=exp))).id == "svc-1"
    # A list that is not the issuer's is not taken: with none yet, nothing can be decided.
    server["down"] = False
    other = issuer.sign(issuer.keys[0], "EdDSA", exp=exp, iss="elsewhere")
    with pytest.raises(ServerUnavailableError):
        await verifier.verify(other)


LATER = int(Clock().now) + 60


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        ({}, "without expiry"),
        ({"exp": str(LATER)}, "without expiry"),
        ({"exp": True}, "without expiry"),
        ({"exp": LATER, "sub": ""}, "without subject"),
        ({"exp": LATER, "iss": None}, "without subject"),
        ({"exp": LATER, "nbf": LATER}, "not valid yet"),
    ],
)
async def test_claims_that_make_a_token_invalid(
    issuer: Issuer, clock: Clock, claims: dict[str, Any], error: str
) -> None:
    token = issuer.sign(issuer.keys[0], "EdDSA", **claims)
    with pytest.raises(InvalidTokenError, match=error):
        await verifier_of(issuer, clock).verify(token)


async def test_the_namespace_is_its_own_claim_and_iss_the_issuer_url(
    issuer: Issuer, clock: Clock
) -> None:
    verifier = verifier_of(issuer, clock)
    exp = int(clock.now) + 60
    url = "https://id.example/namespaces/shop"
    token = issuer.sign(issuer.keys[0], "EdDSA", exp=exp, iss=url, namespace="shop")
    assert (await verifier.verify(token)).namespace == "shop"
    # A token of before issuers were URLs: its iss is the namespace.
    assert (await verifier.verify(issuer.sign(issuer.keys[0], "EdDSA", exp=exp))).namespace == (
        "micro"
    )


async def test_the_key_decides_the_algorithm(issuer: Issuer, clock: Clock) -> None:
    ec = ECKey.generate_key("P-256", parameters={"kid": "k2", "alg": "ES256"})
    issuer.keys.append(ec)
    verifier = verifier_of(issuer, clock)
    exp = int(clock.now) + 60
    assert (await verifier.verify(issuer.sign(ec, "ES256", exp=exp))).id == "svc-1"
    # A token naming the EC key but claiming EdDSA (signed by the EdDSA key) is refused.
    mixed = jwt.encode(
        {"alg": "EdDSA", "kid": "k2"}, {"exp": exp}, issuer.keys[0], algorithms=["EdDSA"]
    )
    with pytest.raises(InvalidTokenError, match="does not match"):
        await verifier.verify(mixed)
    for alg in ("none", "HS256", "", None, ["EdDSA"]):
        header = segment({"alg": alg, "kid": "k1"})
        with pytest.raises(InvalidTokenError, match="algorithm not accepted"):
            await verifier.verify(f"{header}.{segment({'exp': exp})}.c2ln")


async def test_unknown_key_ids_refetch_the_keys_at_a_bounded_rate(
    issuer: Issuer, clock: Clock
) -> None:
    verifier = verifier_of(issuer, clock)
    exp = int(clock.now) + 3600
    assert (await verifier.verify(issuer.sign(issuer.keys[0], "EdDSA", exp=exp))).id
    assert issuer.fetches == 1
    stranger = ed25519("k-new")
    forged = issuer.sign(stranger, "EdDSA", exp=exp)
    clock.now += 2
    with pytest.raises(InvalidTokenError, match="unknown key"):
        await verifier.verify(forged)
    assert issuer.fetches == 2  # an unknown key id: the keys are fetched again
    clock.now += 2
    for _ in range(5):
        with pytest.raises(InvalidTokenError, match="unknown key"):
            await verifier.verify(forged)
    assert issuer.fetches == 2  # the same id again within 10 s: not fetched again
    # Many made-up ids: each waits for its turn, and the keys are fetched once a second at most.
    started, fetches = clock.now, issuer.fetches
    for number in range(20):
        other = issuer.sign(ed25519(f"made-up-{number}"), "EdDSA", exp=exp)
        with pytest.raises(InvalidTokenError, match="unknown key"):
            await verifier.verify(other)
    assert issuer.fetches - fetches == 20 and clock.now - started >= 19
    # The key is published now (a rotation): 10 s later its id is looked up again.
    issuer.keys.append(stranger)
    clock.now += 10
    assert (await verifier.verify(forged)).id == "svc-1"
    assert issuer.fetches == 23


async def test_a_new_key_right_after_a_fetch_waits_for_its_turn(
    issuer: Issuer, clock: Clock
) -> None:
    verifier = verifier_of(issuer, clock)
    exp = int(clock.now) + 3600
    await verifier.verify(issuer.sign(issuer.keys[0], "EdDSA", exp=exp))
    clock.now += 0.25
    rotated = ed25519("k2")
    issuer.keys.append(rotated)
    assert (await verifier.verify(issuer.sign(rotated, "EdDSA", exp=exp))).id == "svc-1"
    assert issuer.fetches == 2 and clock.now == pytest.approx(1_800_000_001.0)


async def test_keys_are_fetched_again_after_their_ttl(issuer: Issuer, clock: Clock) -> None:
    verifier = verifier_of(issuer, clock, ttl=60)
    token = issuer.sign(issuer.keys[0], "EdDSA", exp=int(clock.now) + 3600)
    await verifier.verify(token)
    clock.now += 59
    await verifier.verify(token)
    assert issuer.fetches == 1
    clock.now += 1
    await verifier.verify(token)
    assert issuer.fetches == 2
    # The server away: the keys in hand keep verifying.
    issuer.down = True
    clock.now += 60
    assert (await verifier.verify(token)).id == "svc-1"
    assert issuer.fetches == 3


async def test_no_keys_at_all_is_unavailable_not_invalid(issuer: Issuer, clock: Clock) -> None:
    issuer.down = True
    token = issuer.sign(issuer.keys[0], "EdDSA", exp=int(clock.now) + 60)
    verifier = verifier_of(issuer, clock)
    with pytest.raises(ServerUnavailableError):
        await verifier.verify(token)
    issuer.down = False
    with pytest.raises(ServerUnavailableError):  # asked again only a second later
        await verifier.verify(token)
    clock.now += 1
    assert (await verifier.verify(token)).id == "svc-1"


def test_keys_from_jwks_keeps_only_usable_signature_keys() -> None:
    good = ed25519("good").as_dict(private=False)
    private = ed25519("private").as_dict(private=True)
    document = {
        "keys": [
            good,
            {**good, "kid": "enc", "use": "enc"},
            {**good, "kid": "hs", "alg": "HS256"},
            {**good, "kid": "no-alg", "alg": None},
            {**good, "kid": "wrong-shape", "alg": "ES256"},
            {**good, "kid": ""},
            {"kid": "broken", "alg": "EdDSA", "kty": "OKP", "crv": "Ed25519", "x": "!"},
            "not a key",
            private,
        ]
    }
    keys = keys_from_jwks(document)
    assert sorted(keys) == ["good", "private"]
    assert keys["good"].algorithm == "EdDSA"
    assert not keys["private"].key.is_private
    with pytest.raises(ValueError):
        keys_from_jwks({"nothing": []})
