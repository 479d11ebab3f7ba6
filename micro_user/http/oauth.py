"""Standard endpoints, so that off-the-shelf libraries and gateways need no SDK:
JWKS, OpenID discovery, the revocation lists local verifiers read, OAuth 2.0 token
(RFC 6749: authorization_code with PKCE, client_credentials and refresh_token),
introspection (RFC 7662), revocation (RFC 7009) and OpenID Connect's userinfo. (The
browser's side of the code flow, /oauth/authorize and logout, is in ``pages.py``.)

An OAuth client (``auth/clients.py``) authenticates at the token endpoint with its secret
(HTTP Basic or the form), or, when public, names itself with ``client_id`` and proves each
code with its PKCE verifier; a refresh token issued to a client is refreshed only by it.

Introspection and revocation answer clients only (RFC 7662 and RFC 7009, section
2.1): a service account authenticating with its id and secret (HTTP Basic or the
form), or an API key holding ``admin``, of the token's namespace. End-user
sessions and tokens get 401. A token of another namespace introspects as
inactive; revoking one is a 401. A client revokes only tokens issued to it,
unless it holds ``admin``."""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from micro_user.abuse.protection import client_address
from micro_user.accounts.validation import control_character
from micro_user.auth.clients import Client
from micro_user.auth.issuers import NAMESPACES_PATH
from micro_user.auth.models import KEY, Identity
from micro_user.auth.rules import ADMIN_ROLE
from micro_user.auth.signing import JWKS_MAX_AGE_SECONDS, InvalidToken
from micro_user.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServiceError,
    TooManyRequests,
    Unauthorized,
    Unavailable,
)
from micro_user.http.client import address_of
from micro_user.http.wire import read_body
from micro_user.oidc.claims import ACR_VALUES, SUPPORTED_CLAIMS, SUPPORTED_SCOPES
from micro_user.oidc.provider import GrantRefused, TokenAnswer
from micro_user.services import Services

T = TypeVar("T")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FORM_LIMIT = 16 * 1024


class OAuthError(Exception):
    """An error in the shape RFC 6749 section 5.2 prescribes."""

    def __init__(
        self, error: str, description: str, status: int = 400, retry_after: int = 0
    ) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status
        self.retry_after = retry_after

    def response(self) -> Response:
        headers = dict(NO_STORE)
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="micro-user"'
        if self.retry_after:
            headers["Retry-After"] = str(self.retry_after)
        return JSONResponse(
            {"error": self.error, "error_description": self.description}, self.status, headers
        )


async def read_form(request: Request) -> dict[str, str]:
    try:
        body = await read_body(request, FORM_LIMIT, "oauth.token")
    except PayloadTooLarge as exc:
        raise OAuthError("invalid_request", exc.detail, 413) from None
    try:
        form = dict(parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=False))
    except UnicodeDecodeError:
        raise OAuthError(
            "invalid_request", "the body must be application/x-www-form-urlencoded"
        ) from None
    for name, value in form.items():
        refuse_control(name, "a parameter name")
        refuse_control(value, f"parameter '{name}'")
    return form


def refuse_control(
    text: str, where: str, error: str = "invalid_request", status: int = 400
) -> None:
    """Control characters never reach the database (PostgreSQL refuses NUL outright)."""
    found = control_character(text)
    if found is not None:
        raise OAuthError(
            error, f"{where} contains the control character U+{ord(found):04X}", status
        )


def client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str] | None:
    """client_secret_basic (preferred) or client_secret_post."""
    authorization = request.headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            client_id, _, secret = (
                base64.b64decode(value.strip(), validate=True).decode().partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError("invalid_client", "malformed Basic credentials", 401) from None
        client_id, secret = unquote(client_id), unquote(secret)
        refuse_control(client_id + secret, "the Basic credentials", "invalid_client", 401)
        return client_id, secret
    if form.get("client_id"):
        return form["client_id"], form.get("client_secret", "")
    return None


def namespace_of(request: Request, form: dict[str, str], services: Services) -> str:
    """The client's namespace (clients authenticate after it is known: their id is only
    unique within it), in RFC 6749's error shape when it is malformed: the issuer's whose
    endpoint this is, else the one the form or ``Micro-Namespace`` names, else the default."""
    named = form.get("namespace") or request.headers.get("micro-namespace") or ""
    issuer_namespace = issuer_of_path(request, services)
    if issuer_namespace is not None:
        if named and named != issuer_namespace:
            raise OAuthError(
                "invalid_request",
                f"this is the endpoint of namespace {issuer_namespace!r}, not of {named!r}",
            )
        return issuer_namespace
    try:
        return services.guard.namespace_of(None, named)
    except BadRequest as exc:
        raise OAuthError("invalid_request", exc.detail) from None


def issuer_of_path(request: Request, services: Services) -> str | None:
    """The namespace an issuer's path names (``/namespaces/{namespace}/...``), None under the
    public URL's own paths (the default namespace's issuer)."""
    named = request.path_params.get("namespace")
    if named is None:
        return None
    namespace = services.issuers.under_namespaces(named)
    if namespace is None:
        raise NoSuchIssuer(named)
    return namespace


class NoSuchIssuer(NotFound):
    """A path under /namespaces/ that is no issuer: a malformed namespace, or the default
    namespace, whose issuer is the public URL itself."""

    def __init__(self, named: str) -> None:
        super().__init__(
            "micro-user.route",
            f"no issuer at {NAMESPACES_PATH}/{named}: a namespace other than the default one "
            "(whose issuer is the public URL itself)",
        )


class OAuth:
    def __init__(self, services: Services) -> None:
        self.services = services

    def at_issuer(
        self, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """``handler`` under ``/namespaces/{namespace}``: a path that is no issuer is a 404
        before anything else is read."""

        async def endpoint(request: Request) -> Response:
            issuer_of_path(request, self.services)
            return await handler(request)

        return endpoint

    async def check_client(
        self, request: Request, namespace: str, client_id: str, check: Callable[[], Awaitable[T]]
    ) -> T:
        """``check()`` of a client secret, throttled per (client id, address): 429 (or 503
        while the counters' store does not answer) in RFC 6749's error shape."""
        client_address.set(address_of(request, self.services.settings.trusted_proxy_header))
        abuse = self.services.sessions.abuse
        try:
            return await abuse.secret_checked(
                "auth.token", namespace, f"client:{client_id}", check, per_address=False
            )
        except TooManyRequests as exc:
            raise OAuthError("temporarily_unavailable", exc.detail, 429, exc.retry_after) from None
        except Unavailable as exc:
            raise OAuthError("temporarily_unavailable", exc.detail, 503) from None

    async def jwks(self, request: Request) -> Response:
        return JSONResponse(
            self.services.signing.jwks(),
            headers={"Cache-Control": f"max-age={JWKS_MAX_AGE_SECONDS}"},
        )

    async def revocations(self, request: Request) -> Response:
        """What is revoked in one namespace (``?iss=``, the default namespace without it):
        open like the JWKS, so that local verifiers refuse revoked tokens too."""
        named = request.query_params.get("iss", "")
        issuers = self.services.issuers
        namespace = issuers.namespace(named) if named else self.services.settings.default_namespace
        if namespace is None:
            raise BadRequest(
                "oauth.revocations",
                f"iss: {named!r} is not an issuer of this server (nor a namespace)",
            )
        max_age = max(1, math.ceil(self.services.settings.auth_refresh_seconds))
        return JSONResponse(
            self.services.auth_state.revocation_document(namespace, issuers.issuer(namespace)),
            headers={"Cache-Control": f"public, max-age={max_age}"},
        )

    async def discovery(self, request: Request) -> Response:
        """The issuer's metadata (OpenID Connect Discovery 1.0, section 4), under the issuer:
        its endpoints are the issuer's own; the key set is every namespace's."""
        issuers = self.services.issuers
        namespace = issuer_of_path(request, self.services)
        issuer = issuers.issuer(
            self.services.settings.default_namespace if namespace is None else namespace
        )
        algorithm = self.services.settings.jwt_algorithm
        return JSONResponse(
            {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/oauth/authorize",
                "token_endpoint": f"{issuer}/oauth/token",
                "userinfo_endpoint": f"{issuer}/oauth/userinfo",
                "end_session_endpoint": f"{issuer}/oauth/logout",
                "jwks_uri": f"{issuers.base}/.well-known/jwks.json",
                "introspection_endpoint": f"{issuer}/oauth/introspect",
                "revocation_endpoint": f"{issuer}/oauth/revoke",
                "scopes_supported": list(SUPPORTED_SCOPES),
                "response_types_supported": ["code"],
                "response_modes_supported": ["query"],
                "grant_types_supported": [
                    "authorization_code",
                    "client_credentials",
                    "refresh_token",
                ],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                    "none",
                ],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": [algorithm],
                "claims_supported": list(SUPPORTED_CLAIMS),
                "acr_values_supported": list(ACR_VALUES),
                "prompt_values_supported": ["none", "login", "consent"],
                "authorization_response_iss_parameter_supported": True,
                "request_parameter_supported": False,
                "request_uri_parameter_supported": False,
                "claims_parameter_supported": False,
            }
        )

    async def token(self, request: Request) -> Response:
        try:
            form = await read_form(request)
            grant = form.get("grant_type", "")
            tokens = self.services.tokens
            if grant == "client_credentials":
                client = client_credentials(request, form)
                if client is None:
                    raise OAuthError("invalid_client", "client authentication is required", 401)
                namespace = namespace_of(request, form, self.services)
                try:
                    pair = await self.check_client(
                        request,
                        namespace,
                        client[0],
                        lambda: tokens.client_credentials(namespace, *client),
                    )
                except Unauthorized:
                    raise OAuthError("invalid_client", "invalid client credentials", 401) from None
            elif grant == "authorization_code":
                for name in ("code", "redirect_uri", "code_verifier"):
                    if not form.get(name):
                        raise OAuthError("invalid_request", f"{name} is required")
                oauth_client = await self.oauth_client(request, form)
                if oauth_client is None:
                    raise OAuthError("invalid_client", "no such client", 401)
                return await self.answer(
                    lambda: self.services.provider.exchange(
                        oauth_client, form["code"], form["redirect_uri"], form["code_verifier"]
                    )
                )
            elif grant == "refresh_token":
                if not form.get("refresh_token"):
                    raise OAuthError("invalid_request", "refresh_token is required")
                refreshing = await self.oauth_client(request, form)
                if refreshing is not None:
                    return await self.answer(
                        lambda: self.services.provider.refresh(refreshing, form["refresh_token"])
                    )
                try:
                    pair = await tokens.refresh(form["refresh_token"])
                except Unauthorized as exc:
                    raise OAuthError("invalid_grant", exc.detail) from None
            elif not grant:
                raise OAuthError("invalid_request", "grant_type is required")
            else:
                raise OAuthError(
                    "unsupported_grant_type", f"grant_type {grant!r} is not supported here"
                )
        except OAuthError as exc:
            return exc.response()
        identity = tokens.inspect(pair.access_token)
        body = {
            "access_token": pair.access_token,
            "token_type": "Bearer",
            "expires_in": pair.expiry - pair.created,
            "refresh_token": pair.refresh_token,
            "scope": " ".join(sorted(identity.scopes)),
        }
        return JSONResponse(body, headers=NO_STORE)

    async def oauth_client(self, request: Request, form: dict[str, str]) -> Client | None:
        """The OAuth client the request authenticates as; None when it names none (or names
        an id no OAuth client has: a refresh token of the Micro API is refreshed without
        one). A confidential client's secret is checked (throttled like any secret); a
        public client has none to send."""
        credentials = client_credentials(request, form)
        if credentials is None:
            return None
        namespace = namespace_of(request, form, self.services)
        client_id, secret = credentials
        clients = self.services.clients
        client = await clients.find(namespace, client_id)
        if client is None:
            return None
        if client.public:
            if secret:
                raise OAuthError("invalid_client", "a public client has no secret to send", 401)
            return client

        async def check() -> Client:
            found = await clients.authenticate(namespace, client_id, secret)
            if found is None:
                raise Unauthorized("auth.token", "invalid client credentials")
            return found

        try:
            return await self.check_client(request, namespace, client_id, check)
        except Unauthorized:
            raise OAuthError("invalid_client", "invalid client credentials", 401) from None

    async def answer(self, grant: Callable[[], Awaitable[TokenAnswer]]) -> Response:
        try:
            answer = await grant()
        except GrantRefused as exc:
            raise OAuthError(exc.error, exc.description) from None
        body: dict[str, Any] = {
            "access_token": answer.access_token,
            "token_type": "Bearer",
            "expires_in": answer.expires_in,
            "refresh_token": answer.refresh_token,
            "scope": answer.scope,
        }
        if answer.id_token:
            body["id_token"] = answer.id_token
        return JSONResponse(body, headers=NO_STORE)

    async def userinfo(self, request: Request) -> Response:
        """OpenID Connect Core section 5.3: the user's claims for an access token issued to
        a client with the openid scope (RFC 6750 errors otherwise)."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return Response(
                status_code=401,
                headers={**NO_STORE, "WWW-Authenticate": 'Bearer realm="micro-user"'},
            )
        try:
            claims = await self.services.provider.userinfo(token.strip())
        except InvalidToken as exc:
            challenge = f'Bearer error="invalid_token", error_description="{exc}"'
            return Response(status_code=401, headers={**NO_STORE, "WWW-Authenticate": challenge})
        return JSONResponse(claims, headers=NO_STORE)

    async def _caller(self, request: Request, form: dict[str, str]) -> Identity:
        """The client asking (RFC 7662 and RFC 7009, section 2.1): a service account by its
        id and secret (Basic or form), or an API key holding admin. Anything else is a 401."""
        client = client_credentials(request, form)
        if client is not None:
            namespace = namespace_of(request, form, self.services)
            try:
                account = await self.check_client(
                    request,
                    namespace,
                    client[0],
                    lambda: self.services.service_accounts.authenticate(namespace, *client),
                )
            except Unauthorized:
                raise OAuthError("invalid_client", "invalid client credentials", 401) from None
            return Identity(account.id, account.type, account.namespace, frozenset(account.scopes))
        client_address.set(address_of(request, self.services.settings.trusted_proxy_header))
        try:
            identity = await self.services.guard.identify_header(
                request.headers.get("authorization")
            )
        except TooManyRequests as exc:
            raise OAuthError("temporarily_unavailable", exc.detail, 429, exc.retry_after) from None
        except ServiceError:
            identity = None
        issuer_namespace = issuer_of_path(request, self.services)
        if (
            identity is None
            or identity.via != KEY
            or ADMIN_ROLE not in identity.scopes
            or (issuer_namespace is not None and identity.namespace != issuer_namespace)
        ):
            raise OAuthError(
                "invalid_client",
                "authenticate as a client: a service account's id and secret (HTTP Basic), "
                "or an admin API key",
                401,
            )
        return identity

    async def introspect(self, request: Request) -> Response:
        try:
            form = await read_form(request)
            client = await self._caller(request, form)
            if not form.get("token"):
                raise OAuthError("invalid_request", "token is required")
        except OAuthError as exc:
            return exc.response()
        answer: dict[str, Any] = await self.services.tokens.introspect(
            form["token"], client.namespace
        )
        return JSONResponse(answer, headers=NO_STORE)

    async def revoke(self, request: Request) -> Response:
        try:
            form = await read_form(request)
            client = await self._caller(request, form)
            if not form.get("token"):
                raise OAuthError("invalid_request", "token is required")
            try:
                await self.services.tokens.revoke(form["token"], client)
            except Unauthorized as exc:
                raise OAuthError("invalid_client", exc.detail, 401) from None
            except Forbidden as exc:
                raise OAuthError("unauthorized_client", exc.detail) from None
        except OAuthError as exc:
            return exc.response()
        return Response(status_code=200, headers=NO_STORE)
