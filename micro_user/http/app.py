"""The HTTP application: one dispatcher for every ``/v1/{service}/{endpoint}`` call.

A request flows: resolve the endpoint from the path -> check the caller
(``access.guard``) -> read the body (bounded) and merge the query -> validate
into the endpoint's request model -> call its handler -> encode. Every
``ServiceError`` becomes the wire error shape here, and nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from microuser.rules import Resource
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route

from micro_user.abuse.protection import client_address
from micro_user.auth.issuers import NAMESPACES_PATH
from micro_user.auth.models import USER, Identity
from micro_user.errors import (
    BadRequest,
    MethodNotAllowed,
    NotFound,
    ServiceError,
    Unavailable,
)
from micro_user.events import outbox
from micro_user.events.nats import NatsPublisher
from micro_user.http import auth_api, events_api, user_api  # noqa: F401  (register endpoints)
from micro_user.http import openapi as docs
from micro_user.http.client import address_of
from micro_user.http.cors import OpenToBrowsers
from micro_user.http.endpoints import Context, Endpoint, registry
from micro_user.http.federated_pages import FederatedPages
from micro_user.http.forward_auth import PREFIX as FORWARD_PREFIX
from micro_user.http.forward_auth import ForwardAuth
from micro_user.http.headers import SecurityHeaders
from micro_user.http.oauth import OAuth
from micro_user.http.pages import ASSETS_PATH, STATIC, Pages
from micro_user.http.wire import (
    WireRequest,
    catalogue_checked,
    decode_body,
    encode,
    error_response,
    parse_request,
    read_body,
)
from micro_user.observability import (
    LATENCY,
    REQUESTS,
    configure_logging,
    metrics_text,
    new_request_id,
    request_id,
)
from micro_user.services import Services
from micro_user.settings import MailSenderKind, Settings
from micro_user.storage.failures import describe
from micro_user.storage.migrate import upgrade

log = logging.getLogger("micro_user.http")

Handler = Callable[[Request], Awaitable[Response]]
METRICS_RESOURCE = Resource("service", "micro-user", "Metrics.Scrape")
JSON = "application/json"


def merged_payload(
    body: dict[str, Any], request: Request, model: type[WireRequest]
) -> dict[str, Any]:
    """The Micro gateway merged query parameters into the request; the body wins on a
    clash. A list field takes every value of its parameter (``types=a&types=b``, or one)."""
    lists = model.list_fields()
    query = request.query_params
    for key in query:
        if key not in body:
            values = query.getlist(key)
            body[key] = values if key in lists else values[-1]
    return body


def logged_path(request: Request) -> str:
    """The path a log line names: the request's, unless its handler chose what to log
    (``request.state.log_path``; the gateway endpoint's path carries the original one)."""
    chosen = request.scope.get("state", {}).get("log_path")
    return str(chosen) if chosen else str(request.scope["path"])


async def respond(
    request: Request, work: Callable[[], Awaitable[Response]], label: str
) -> Response:
    """Run one request's work, turning every failure into the wire error shape; log it,
    count it, and tag it (and its log lines) with a request id."""
    started = time.perf_counter()
    rid = new_request_id(request.headers.get("x-request-id"))
    request_id.set(rid)
    try:
        response = await work()
    except ServiceError as exc:
        response = error_response(catalogue_checked(request, exc))
    except (OperationalError, DBAPIError) as exc:
        log.error("database error on %s: %s", logged_path(request), describe(exc))
        response = error_response(
            Unavailable("micro-user.database", "the database is unavailable; try again")
        )
    except Exception:
        log.exception("unhandled error on %s", logged_path(request))
        response = error_response(
            ServiceError("micro-user.internal", "internal error; the server log has the details")
        )
    # What this request revoked or changed, this instance honours from the next request on.
    services = getattr(request.app.state, "services", None)
    if services is not None and services.auth_state.behind():
        await services.auth_state.catch_up()
    elapsed = time.perf_counter() - started
    REQUESTS.labels(label, str(response.status_code)).inc()
    LATENCY.labels(label).observe(elapsed)
    response.headers["X-Request-Id"] = rid
    # The query string is never logged: links carry tokens in it. (The scope's path: building
    # request.url for a line that the log level may drop costs more than the rest of it.)
    if log.isEnabledFor(logging.INFO):
        log.info(
            "%s %s %d %.1fms",
            request.method,
            logged_path(request),
            response.status_code,
            elapsed * 1000,
        )
    return response


def guarded(
    handler: Callable[[Request], Awaitable[Response]], label: str
) -> Callable[[Request], Awaitable[Response]]:
    """The same error handling, request log and metrics for a route outside the /v1 dispatcher."""

    async def endpoint(request: Request) -> Response:
        return await respond(request, lambda: handler(request), label)

    return endpoint


def is_own_account(identity: Identity | None, namespace: str, endpoint: Endpoint, req: Any) -> bool:
    """A user acting on their own account, on an endpoint that allows that."""
    return (
        endpoint.owner is not None
        and identity is not None
        and identity.type == USER
        and identity.namespace == namespace
        and getattr(req, endpoint.owner, None) == identity.id
    )


class Api:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings

    async def call(self, request: Request) -> Response:
        endpoint = registry.resolve([p for p in request.path_params["path"].split("/") if p])
        label = f"{endpoint.service}.{endpoint.name}" if endpoint else "unknown"
        return await respond(request, lambda: self._call(request, endpoint), label)

    async def _call(self, request: Request, endpoint: Endpoint | None) -> Response:
        if endpoint is None:
            raise NotFound("micro-user.route", f"no endpoint at {request.url.path}")
        link = endpoint.service == "user" and endpoint.name == "VerifyEmail"
        if request.method in ("GET", "HEAD") and link:
            return await self.verify_email_link(request)
        if request.method != "POST" and not (request.method in ("GET", "HEAD") and endpoint.safe):
            # HEAD is GET without the body: an endpoint that changes data answers neither.
            if endpoint.safe or link:
                detail, allow = f"{endpoint.name} takes GET or POST", "GET, HEAD, POST"
            else:
                detail, allow = f"{endpoint.name} changes data: use POST", "POST"
            raise MethodNotAllowed(endpoint.error_id, detail, allow)
        guard = self.services.guard
        client_address.set(self.client_address(request))
        identity = await guard.identify_header(request.headers.get("authorization"))
        namespace = guard.namespace_of(identity, request.headers.get("micro-namespace", ""))
        outbox.actor.set(f"{identity.type}:{identity.id}" if identity else "anonymous")
        body = await read_body(request, self.settings.max_body_bytes, endpoint.error_id)
        payload = merged_payload(decode_body(body, endpoint.error_id), request, endpoint.request)
        req = parse_request(endpoint.request, payload, endpoint.error_id)
        own = self.settings.self_service and is_own_account(identity, namespace, endpoint, req)
        guard.check(identity, namespace, endpoint.resource, own=own)
        result = await endpoint.handler(Context(self.services, identity, namespace), req)
        return Response(encode(result), media_type=JSON)

    def client_address(self, request: Request) -> str:
        return address_of(request, self.settings.trusted_proxy_header)

    async def verify_email_link(self, request: Request) -> Response:
        """The link from a verification mail, opened in a browser: verify, then redirect."""
        token = request.query_params.get("token", "")
        outbox.actor.set("email-link")
        outcome = await self.services.email.verify_email(token)
        if outcome.redirect_url:
            return RedirectResponse(outcome.redirect_url, status_code=302)
        if not outcome.ok:
            raise BadRequest("user.verifyemail", "verification link expired or already used")
        return Response(encode({}), media_type=JSON)

    async def metrics(self, request: Request) -> Response:
        """Prometheus text format, for whoever the rules let scrape (the admin scope by default)."""
        guard = self.services.guard
        client_address.set(self.client_address(request))
        identity = await guard.identify_header(request.headers.get("authorization"))
        guard.check(identity, guard.namespace_of(identity), METRICS_RESOURCE)
        return Response(metrics_text(), media_type="text/plain; version=0.0.4; charset=utf-8")

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(self, request: Request) -> Response:
        """Ready while the database answers and keeps a write (a full disk, a read-only file
        or a read-only standby answer reads but lose every change)."""
        try:
            await asyncio.wait_for(self.services.db.ping(), timeout=READY_READ_SECONDS)
        except Exception as exc:  # any failure to answer means not ready
            reason = "no answer in time" if isinstance(exc, TimeoutError) else describe(exc)
            log.warning("not ready: the database does not answer (%s)", reason)
            return error_response(Unavailable("micro-user.ready", "the database does not answer"))
        try:
            await asyncio.wait_for(self.services.check_writable(), timeout=READY_WRITE_SECONDS)
        except Exception as exc:
            reason = (
                "a write did not finish in time" if isinstance(exc, TimeoutError) else describe(exc)
            )
            log.warning("not ready: the database cannot be written (%s)", reason)
            return error_response(
                Unavailable("micro-user.ready", f"the database cannot be written: {reason}")
            )
        return JSONResponse({"status": "ready"})


READY_READ_SECONDS = 2.0
# A write may wait its turn behind other writers (SQLite has one at a time).
READY_WRITE_SECONDS = 5.0


async def not_found(request: Request, exc: Exception) -> Response:
    return error_response(NotFound("micro-user.route", f"no endpoint at {request.url.path}"))


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    # Starlette names the route's methods in Allow (RFC 9110 requires it on a 405).
    allow = (getattr(exc, "headers", None) or {}).get("Allow", "")
    return error_response(
        MethodNotAllowed("micro-user.route", f"{request.method} is not allowed here", allow)
    )


async def prepare(services: Services) -> str | None:
    """Migrate (when configured) and make sure an admin key exists; print a new one once
    and return it (None when one existed or MICRO_USER_ADMIN_KEY is set)."""
    settings = services.settings
    services.signing.check_key_ring()  # a missing or wrong one stops us before any change
    if settings.migrate_on_start:
        await asyncio.to_thread(upgrade, settings.resolved_database_url)
    await services.start()
    env_key = settings.admin_key.get_secret_value() if settings.admin_key else None
    created = await services.keys.bootstrap(settings.default_namespace, env_key)
    if created:
        print(
            "\n  micro-user created an admin API key. It is shown only this once; keep it:\n\n"
            f"      {created}\n\n"
            "  Use it as 'Authorization: Bearer <key>'. Set MICRO_USER_ADMIN_KEY to choose your own.\n",
            file=sys.stderr,
            flush=True,
        )
    return created


async def cleanup_loop(services: Services) -> None:
    while True:
        await asyncio.sleep(services.settings.cleanup_interval_seconds)
        try:
            sessions, tokens, events = await services.cleanup()
            if sessions or tokens or events:
                log.info(
                    "cleanup removed %d expired sessions, %d stale tokens and %d events past "
                    "their retention",
                    sessions,
                    tokens,
                    events,
                )
        except Exception as exc:  # keep cleaning next time; a failed round loses nothing
            log.warning("cleanup failed: %s", describe(exc))


def create_app(settings: Settings | None = None, services: Services | None = None) -> Starlette:
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_format)
    services = services or Services.build(settings)
    api = Api(services)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await prepare(services)
        if settings.mail_sender is MailSenderKind.console:
            log.warning(
                "mail goes to the log (MICRO_USER_MAIL_SENDER=console): for development only"
            )
        background = [
            asyncio.create_task(cleanup_loop(services)),
            asyncio.create_task(services.auth_state.follow(settings.auth_refresh_seconds)),
            asyncio.create_task(services.dispatcher.follow()),
            asyncio.create_task(services.mail.follow()),
        ]
        publisher = NatsPublisher(services.db, settings) if settings.nats_url else None
        if publisher is not None:
            background.append(
                asyncio.create_task(publisher.follow(settings.delivery_interval_seconds))
            )
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            if publisher is not None:
                await publisher.close()
            await services.close()

    explicit_url = settings.public_url if "public_url" in settings.model_fields_set else None
    openapi = docs.openapi_document(explicit_url)
    swagger_ui = docs.swagger_ui_folder()
    docs_headers = {"Content-Security-Policy": docs.DOCS_POLICY}

    async def docs_asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name == "docs.js":
            return FileResponse(docs.DOCS_SCRIPT, media_type="text/javascript; charset=utf-8")
        if name not in docs.DOCS_ASSETS:
            return error_response(
                NotFound("micro-user.route", f"no endpoint at {request.url.path}")
            )
        return FileResponse(swagger_ui / name, media_type=docs.DOCS_ASSETS[name])

    def asset(name: str, media_type: str) -> Callable[[Request], Awaitable[Response]]:
        async def serve(request: Request) -> Response:
            return FileResponse(
                STATIC / name,
                media_type=media_type,
                headers={"Cache-Control": "public, max-age=3600"},
            )

        return serve

    oauth = OAuth(services)
    gateway = ForwardAuth(services)
    any_method = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    issuer_prefix = NAMESPACES_PATH + "/{namespace}"
    pages = Pages(services)
    upstream = FederatedPages(pages)
    get, post, both = ["GET"], ["POST"], ["GET", "POST"]
    issuer_routes = (
        ("/.well-known/openid-configuration", oauth.discovery, "oauth.discovery", get),
        ("/oauth/token", oauth.token, "oauth.token", post),
        ("/oauth/introspect", oauth.introspect, "oauth.introspect", post),
        ("/oauth/revoke", oauth.revoke, "oauth.revoke", post),
        ("/oauth/userinfo", oauth.userinfo, "oauth.userinfo", both),
        # The hosted pages (pages.py).
        ("/oauth/authorize", pages.handled(pages.authorize), "pages.authorize", both),
        ("/oauth/logout", pages.handled(pages.logout), "pages.logout", both),
        ("/signin", pages.handled(pages.signin), "pages.signin", both),
        ("/signin/factor", pages.handled(pages.signin_factor), "pages.signin", post),
        ("/signin/setup", pages.handled(pages.signin_setup), "pages.signin", post),
        ("/signin/passkey", pages.handled(pages.signin_passkey), "pages.signin", post),
        ("/signin/with/{provider}", pages.handled(upstream.start), "pages.upstream", get),
        ("/signin/callback", pages.handled(upstream.callback), "pages.upstream", get),
        ("/signin/link", pages.handled(upstream.link), "pages.upstream", post),
        ("/signin/link/{token}", pages.handled(upstream.link_landing), "pages.upstream", both),
        ("/signup", pages.handled(pages.signup), "pages.signup", both),
        ("/forgot", pages.handled(pages.forgot), "pages.forgot", both),
        ("/reset", pages.handled(pages.reset), "pages.reset", both),
        ("/magic", pages.handled(pages.magic), "pages.magic", both),
        ("/magic/{token}", pages.handled(pages.magic_landing), "pages.magic", both),
        ("/consent", pages.handled(pages.consent), "pages.consent", post),
        ("/account", pages.handled(pages.account), "pages.account", both),
        ("/account/factors", pages.handled(pages.factors), "pages.factors", both),
    )

    def same(handler: Handler) -> Handler:
        return handler

    routes = [
        Route("/.well-known/jwks.json", oauth.jwks, methods=["GET"]),
        Route(
            "/.well-known/revocations",
            guarded(oauth.revocations, "oauth.revocations"),
            methods=["GET"],
        ),
        # Each issuer's metadata and endpoints (auth/issuers.py): the default namespace's
        # under the public URL, the others' under /namespaces/{namespace}.
        *(
            Route(prefix + path, guarded(wrap(handler), label), methods=methods)
            for prefix, wrap in (("", same), (issuer_prefix, oauth.at_issuer))
            for path, handler, label, methods in issuer_routes
        ),
        Route(ASSETS_PATH + "/pages.css", asset("pages.css", "text/css; charset=utf-8")),
        Route(ASSETS_PATH + "/passkeys.js", asset("passkeys.js", "text/javascript; charset=utf-8")),
        Route(FORWARD_PREFIX, guarded(gateway.check, "gateway.forward"), methods=any_method),
        Route(
            FORWARD_PREFIX + "/{path:path}",
            guarded(gateway.check, "gateway.forward"),
            methods=any_method,
        ),
        Route("/metrics", guarded(api.metrics, "metrics"), methods=["GET"]),
        Route("/health", api.health, methods=["GET"]),
        Route("/ready", api.ready, methods=["GET"]),
        Route("/openapi.json", lambda _: JSONResponse(openapi), methods=["GET"]),
        Route(
            "/docs", lambda _: HTMLResponse(docs.DOCS_PAGE, headers=docs_headers), methods=["GET"]
        ),
        Route("/docs/assets/{name}", docs_asset, methods=["GET"]),
        # Every method reaches the dispatcher, which knows which ones each endpoint takes.
        Route("/v1/{path:path}", api.call, methods=[*any_method, "TRACE"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: not_found, 405: method_not_allowed},
        middleware=[Middleware(SecurityHeaders), Middleware(OpenToBrowsers)],
    )
    app.state.services = services
    return app
