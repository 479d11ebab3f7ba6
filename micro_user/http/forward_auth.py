"""Enforcement at API gateways: one endpoint that answers "may this request pass?".

It speaks the conventions of nginx ``auth_request`` (X-Original-Method and
X-Original-URI), Traefik ForwardAuth (X-Forwarded-Method, X-Forwarded-Uri,
X-Forwarded-Host) and Envoy ext_authz in HTTP mode (the original method, and
the original path appended to ``/auth/forward``). The request is mapped to a
resource: by the configured routes (``MICRO_USER_GATEWAY_ROUTES``), else by
the Micro convention ``/v1/{service}/{Endpoint}`` to
``service:{service}:{Service}.{Endpoint}``, else to ``api:{host}:{path}``. The
caller may present a bearer access token, an API key, a session id, or the
session cookie. The answer is 200 with identity headers for the upstream,
401 (no valid credentials) or 403 (not allowed).
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import orjson
from microuser.rules import Resource, resource_for_path
from starlette.requests import Request
from starlette.responses import Response

from micro_user.access.guard import credential_from_header
from micro_user.auth.models import Identity
from micro_user.errors import BadRequest, ServiceError, TooManyRequests
from micro_user.http.client import address_of
from micro_user.services import Services

PREFIX = "/auth/forward"


@dataclass(frozen=True, slots=True)
class Route:
    prefix: str
    type: str
    name: str
    endpoint: str = ""


def parse_routes(raw: str) -> list[Route]:
    if not raw.strip():
        return []
    try:
        items: Any = orjson.loads(raw)
        routes = [
            Route(str(i["prefix"]), str(i["type"]), str(i["name"]), str(i.get("endpoint", "")))
            for i in items
        ]
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise BadRequest(
            "settings.gateway_routes",
            f"MICRO_USER_GATEWAY_ROUTES must be a JSON list of {{prefix, type, name}} ({exc})",
        ) from None
    return sorted(routes, key=lambda r: len(r.prefix), reverse=True)


def resource_for(path: str, host: str, routes: list[Route]) -> Resource:
    for route in routes:
        if path.startswith(route.prefix):
            return Resource(route.type, route.name, route.endpoint or path)
    return resource_for_path(path, host.split(":")[0] or "gateway")


def original_request(request: Request) -> tuple[str, str, str]:
    """(method, path, host) of the request the gateway asks about."""
    headers = request.headers
    method = headers.get("x-original-method") or headers.get("x-forwarded-method")
    uri = headers.get("x-original-uri") or headers.get("x-forwarded-uri")
    if uri is None:
        # Envoy ext_authz (HTTP): the original path follows our prefix.
        uri = request.url.path[len(PREFIX) :] or "/"
        if request.url.query:
            uri += "?" + request.url.query
    host = headers.get("x-forwarded-host") or headers.get("host", "")
    return (method or request.method).upper(), urlsplit(uri).path, host


class ForwardAuth:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.routes = parse_routes(services.settings.gateway_routes)
        self.cookie = services.settings.session_cookie
        self.trusted_header = services.settings.trusted_proxy_header

    async def credential(self, request: Request) -> str | None:
        authorization = request.headers.get("authorization")
        if authorization:
            return credential_from_header(authorization)
        return request.cookies.get(self.cookie) or None

    async def check(self, request: Request) -> Response:
        _, path, host = original_request(request)
        resource = resource_for(path, host, self.routes)
        guard = self.services.guard
        try:
            credential = await self.credential(request)
        except ServiceError:
            return self.answer(401, "malformed credentials")
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
                        "auth.forward",
                    )
                except TooManyRequests as exc:
                    return self.answer(429, exc.detail, exc.retry_after)
            else:
                identity = await guard.identify(credential)
            if identity is None:
                return self.answer(401, "invalid, expired or revoked credentials")
        namespace = (
            request.headers.get("micro-namespace") or self.services.settings.default_namespace
        )
        if guard.allows(identity, namespace, resource):
            return self.allowed(identity)
        if identity is None:
            return self.answer(401, f"{resource} needs credentials")
        return self.answer(403, f"{resource} is not allowed for this account")

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
    def answer(status: int, detail: str, retry_after: int = 0) -> Response:
        headers = {"WWW-Authenticate": 'Bearer realm="micro-user"'} if status == 401 else {}
        if retry_after:
            headers["Retry-After"] = str(retry_after)
        body = {
            "id": "auth.forward",
            "code": status,
            "detail": detail,
            "status": HTTPStatus(status).phrase,
        }
        return Response(orjson.dumps(body), status, headers, media_type="application/json")
