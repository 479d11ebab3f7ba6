"""Enforcement at API gateways: one endpoint that answers "may this request pass?".

One gateway kind is configured (``MICRO_USER_GATEWAY_KIND``) and only its way of
naming the original request is read: nginx ``auth_request`` (X-Original-URI and
X-Original-Method, as the README's configuration sets them), Traefik ForwardAuth
(X-Forwarded-Uri, X-Forwarded-Method, X-Forwarded-Host) or Envoy ext_authz in HTTP
mode (the original method, and the original path appended, as sent, to
``/auth/forward``). Those gateways pass the client's own headers on, so a path
header of another kind that disagrees with the configured one is refused.

The request target is judged by its canonical path (``microuser.paths``); an
ambiguous one is refused. The canonical path is mapped to a resource: by the
configured routes (``MICRO_USER_GATEWAY_ROUTES``, prefixes matching whole
segments), else by the Micro convention ``/v1/{service}/{Endpoint}`` to
``service:{service}:{Service}.{Endpoint}``, else to ``api:{host}:{path}``. The
caller may present a bearer access token, an API key, a session id, or the
session cookie. Whose rules decide is never the client's choice: the
identity's namespace, else the route's or the gateway's
(``MICRO_USER_GATEWAY_NAMESPACE``). The answer is 200 with identity headers for
the upstream, 401 (no valid credentials) or 403 (not allowed, or a request that
cannot be judged: nginx turns any other status into a 500).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from microuser.paths import AmbiguousPath, canonical_path
from microuser.rules import SERVICE, Resource, resource_for_path
from starlette.requests import Request
from starlette.responses import Response

from micro_user.access.guard import credential_from_header
from micro_user.accounts.validation import check_namespace
from micro_user.auth.models import Identity
from micro_user.errors import BadRequest, Forbidden, ServiceError, TooManyRequests, Unauthorized
from micro_user.http.client import address_of
from micro_user.http.wire import catalogue_checked, error_response
from micro_user.services import Services

PREFIX = "/auth/forward"
ERROR_ID = "auth.forward"  # the error id of every refusal (micro_user/errors.py)
# The header that names the original request target, per gateway kind (Envoy: the path).
PATH_HEADERS = {"nginx": "x-original-uri", "traefik": "x-forwarded-uri"}
METHOD_HEADERS = {"nginx": "x-original-method", "traefik": "x-forwarded-method"}


@dataclass(frozen=True, slots=True)
class Route:
    prefix: str
    type: str
    name: str
    endpoint: str = ""
    namespace: str = ""

    def matches(self, path: str) -> bool:
        """Whole segments only: ``/api`` matches ``/api`` and ``/api/x``, not ``/apiary``."""
        base = self.prefix.rstrip("/")
        return path == base or path.startswith(base + "/")


class Refused(Exception):
    """A request the gateway endpoint cannot judge (403, with the reason)."""


def _route(item: Any) -> Route:
    route = Route(
        str(item["prefix"]),
        str(item["type"]),
        str(item["name"]),
        str(item.get("endpoint", "")),
        check_namespace(str(item["namespace"])) if item.get("namespace") else "",
    )
    try:
        canonical = canonical_path(route.prefix)
    except AmbiguousPath as exc:
        raise ValueError(f"prefix {route.prefix!r}: {exc}") from None
    if canonical != route.prefix:
        raise ValueError(f"prefix {route.prefix!r} is not canonical: write {canonical!r}")
    return route


def parse_routes(raw: str) -> list[Route]:
    if not raw.strip():
        return []
    try:
        items: Any = orjson.loads(raw)
        routes = [_route(i) for i in items]
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise BadRequest(
            "settings.gateway_routes",
            "MICRO_USER_GATEWAY_ROUTES must be a JSON list of {prefix, type, name} with"
            f" optional endpoint and namespace, prefixes canonical paths ({exc})",
        ) from None
    return sorted(routes, key=lambda r: len(r.prefix), reverse=True)


def resource_for(path: str, host: str, routes: list[Route]) -> tuple[Resource, Route | None]:
    """The resource a canonical path is judged as, and the route that named it (if one did);
    ``AmbiguousPath`` for a Micro-style path that is not one."""
    for route in routes:
        if route.matches(path):
            return Resource(route.type, route.name, route.endpoint or path), route
    return resource_for_path(path, host.split(":")[0] or "gateway"), None


def original_request(request: Request, kind: str) -> tuple[str, str, str]:
    """(method, target, host) of the request the gateway asks about, read the way ``kind``
    sends it; ``Refused`` when that way is missing or another kind's path header disagrees."""
    headers = request.headers
    if kind == "envoy":
        # The path as Envoy sent it: the decoded one would read /a%2f..%2fb as /a/../b.
        raw: bytes = request.scope.get("raw_path") or request.scope["path"].encode()
        target = raw.decode("latin-1")[len(PREFIX) :] or "/"
        method, host = request.method, headers.get("host", "")
    else:
        name = PATH_HEADERS[kind]
        found = headers.get(name)
        if found is None:
            raise Refused(f"no {name} header (MICRO_USER_GATEWAY_KIND is {kind})")
        target = found
        method = headers.get(METHOD_HEADERS[kind]) or request.method
        host = headers.get("x-forwarded-host") or headers.get("host", "")
    for other, name in PATH_HEADERS.items():
        value = headers.get(name) if other != kind else None
        if value is not None and not _same_path(value, target):
            raise Refused(f"{name} disagrees with the path {kind} sent")
    return method.upper(), target, host


def _same_path(one: str, other: str) -> bool:
    try:
        return canonical_path(one) == canonical_path(other)
    except AmbiguousPath:
        return False


class ForwardAuth:
    def __init__(self, services: Services) -> None:
        self.services = services
        settings = services.settings
        self.routes = parse_routes(settings.gateway_routes)
        self.cookie = settings.session_cookie
        self.kind = settings.gateway_kind
        self.namespace = settings.gateway_namespace or settings.default_namespace
        self.trusted_header = settings.trusted_proxy_header

    async def credential(self, request: Request) -> str | None:
        authorization = request.headers.get("authorization")
        if authorization:
            return credential_from_header(authorization)
        return request.cookies.get(self.cookie) or None

    async def check(self, request: Request) -> Response:
        # Logged as this endpoint and what it judged, never the original path (it may carry
        # tokens): see ``logged_as``.
        request.state.log_path = PREFIX
        try:
            _, target, host = original_request(request, self.kind)
            path = canonical_path(target)
            resource, route = resource_for(path, host, self.routes)
        except Refused as exc:
            return self.answer(request, Forbidden(ERROR_ID, f"refused: {exc}"))
        except AmbiguousPath as exc:
            return self.answer(
                request, Forbidden(ERROR_ID, f"ambiguous request path, refused: {exc}")
            )
        request.state.log_path = f"{PREFIX} {logged_as(resource, route)}"
        guard = self.services.guard
        try:
            credential = await self.credential(request)
        except ServiceError:
            return self.answer(request, Unauthorized(ERROR_ID, "malformed credentials"))
        identity: Identity | None = None
        if credential:
            if self.trusted_header:
                # The client's address is known only through the gateway's header; without
                # one every client would share the gateway's address, and one guesser would
                # block them all.
                try:
                    identity = await guard.identify_throttled(
                        credential,
                        lambda: address_of(request, self.trusted_header),
                        ERROR_ID,
                    )
                except TooManyRequests as exc:
                    # nginx's auth_request passes only 401 and 403 on to the client; any other
                    # status becomes nginx's own 500. Traefik and Envoy pass a 429 on.
                    if self.kind != "nginx":
                        return self.answer(request, exc)
                    refused = self.answer(request, Forbidden(ERROR_ID, exc.detail))
                    refused.headers["Retry-After"] = str(exc.retry_after)
                    return refused
            else:
                identity = await guard.identify(credential)
            if identity is None:
                return self.answer(
                    request, Unauthorized(ERROR_ID, "invalid, expired or revoked credentials")
                )
        # Never a client header: nginx and Traefik pass the client's headers on.
        if identity is not None:
            namespace = identity.namespace
        else:
            namespace = (route.namespace if route else "") or self.namespace
        if guard.allows(identity, namespace, resource):
            return self.allowed(identity)
        if identity is None:
            return self.answer(request, Unauthorized(ERROR_ID, f"{resource} needs credentials"))
        return self.answer(
            request, Forbidden(ERROR_ID, f"{resource} is not allowed for this account")
        )

    def allowed(self, identity: Identity | None) -> Response:
        headers = {}
        if identity is not None:
            headers = {
                "X-Micro-Account-Id": identity.id,
                "X-Micro-Account-Type": identity.type,
                "X-Micro-Namespace": identity.namespace,
                "X-Micro-Scopes": " ".join(sorted(identity.scopes)),
            }
        return Response(status_code=200, headers=headers)

    @staticmethod
    def answer(request: Request, error: ServiceError) -> Response:
        """The /v1 error shape, as every API error (``wire.error_response``); a 401 names
        the scheme a gateway may pass on to the client."""
        response = error_response(catalogue_checked(request, error))
        if response.status_code == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="micro-user"'
        return response


def logged_as(resource: Resource, route: Route | None) -> str:
    """What the request log says was judged: the route, a Micro resource (plain names only),
    or the host; never an ``api`` path, which may carry a magic-link token."""
    if route is not None:
        return f"route {route.prefix}"
    if resource.type == SERVICE:
        return str(resource)
    return f"{resource.type}:{resource.name}"
