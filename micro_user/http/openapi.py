"""The OpenAPI document of every route the server answers, and the interactive docs page.

The ``/v1`` endpoints are derived from the endpoint registry (one schema per model, named
uniquely by pydantic and then by service); the other routes (OAuth, forward-auth, the
well-known documents, health, metrics, these docs) are described here, beside their
handlers' behaviour. ``tests/api/test_openapi.py`` compares the document with the router.

The docs page is Swagger UI, served from the ``swagger-ui-py`` package's files (no CDN: it
works offline), started by our own script; its Content-Security-Policy allows scripts and
styles from this server only.
"""

from __future__ import annotations

import importlib.util
from http import HTTPStatus
from pathlib import Path
from typing import Any

from microuser.rules import BUILTIN_RULES
from pydantic import TypeAdapter
from pydantic.json_schema import JsonSchemaMode

from micro_user import __version__
from micro_user.auth.issuers import NAMESPACES_PATH
from micro_user.http.endpoints import Endpoint, registry
from micro_user.http.wire import NO_CONTROL

REF = "#/components/schemas/{model}"
ERROR_SCHEMA = {
    "type": "object",
    "required": ["id", "code", "detail", "status"],
    "properties": {
        "id": {
            "type": "string",
            "description": "Stable error id: the endpoint or check that failed",
        },
        "code": {"type": "integer", "description": "Equal to the HTTP status"},
        "detail": {"type": "string", "description": "What went wrong and what to fix"},
        "status": {"type": "string", "description": "The HTTP status text"},
    },
    "additionalProperties": False,
}
OAUTH_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "string",
            "description": "RFC 6749 error code (invalid_request, invalid_client, ...)",
        },
        "error_description": {"type": "string", "description": "What went wrong"},
    },
}
COMMON_ERRORS = (401, 413, 503)
# pydantic names a model by its module when two share a class name; we name it by service.
MODULE_PREFIXES = {
    "micro_user__http__user_api__": "User",
    "micro_user__http__auth_api__": "Auth",
    "micro_user__http__events_api__": "Events",
}
NAMESPACE_PATTERN = "^$|^[a-z0-9][a-z0-9_-]{0,63}$"
FORWARD_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")

# The docs page: Swagger UI's files, and the only ones of them served.
DOCS_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
}
DOCS_SCRIPT = Path(__file__).with_name("docs.js")
DOCS_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)
DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>micro-user API reference</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
</head>
<body>
<noscript>This reference needs JavaScript. The same description, machine-readable, is at
<a href="openapi.json">/openapi.json</a>.</noscript>
<div id="swagger-ui"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script src="docs/assets/docs.js"></script>
</body>
</html>
"""


def swagger_ui_folder() -> Path:
    """Where the installed ``swagger-ui-py`` package keeps Swagger UI's files (found without
    importing it: we need its files, not its code)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is missing: reinstall micro-user")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def _renamed(value: Any) -> Any:
    if isinstance(value, dict):
        return {_renamed(key): _renamed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_renamed(item) for item in value]
    if isinstance(value, str):
        for prefix, service in MODULE_PREFIXES.items():
            value = value.replace(prefix, service)
    return value


def _model_schemas() -> tuple[dict[tuple[Any, str], dict[str, str]], dict[str, Any]]:
    """Every registry model's schema, under a unique name; and a map to their references."""
    modes: tuple[JsonSchemaMode, JsonSchemaMode] = ("validation", "serialization")
    pairs = list(
        dict.fromkeys(
            pair
            for endpoint in registry
            for pair in zip((endpoint.request, endpoint.response), modes, strict=True)
        )
    )
    refs, schema = TypeAdapter.json_schemas(
        [(model, mode, TypeAdapter(model)) for model, mode in pairs],
        by_alias=False,
        ref_template=REF,
    )
    return _renamed(refs), _renamed(schema.get("$defs", {}))


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(code: int, model: str = "Error") -> dict[str, Any]:
    return _json({"$ref": REF.format(model=model)}, HTTPStatus(code).phrase)


def _query_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """A request model's fields as query parameters (for the GET form of safe endpoints)."""
    required = set(schema.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": field}
        for name, field in schema.get("properties", {}).items()
    ]


def _open_to_anyone(endpoint: Endpoint) -> bool:
    return any(rule.scope == "" and rule.resource == endpoint.resource for rule in BUILTIN_RULES)


def _endpoint_operations(
    endpoint: Endpoint, refs: dict[tuple[Any, str], dict[str, str]], schemas: dict[str, Any]
) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": _json(refs[(endpoint.response, "serialization")])}
    for code in sorted({*endpoint.errors, *COMMON_ERRORS, 403, 429}):
        responses[str(code)] = _error(code)
    request_ref = refs[(endpoint.request, "validation")]
    operation: dict[str, Any] = {
        "operationId": f"{endpoint.service}.{endpoint.name}",
        # A built-in rule lets anyone (scope "") call it: credentials are optional.
        **({"security": [{"apiKey": []}, {}]} if _open_to_anyone(endpoint) else {}),
        "summary": endpoint.summary,
        "tags": [endpoint.service],
        "description": (
            "Field names may also be sent in lowerCamel form; int64 values travel as strings."
        ),
    }
    operations: dict[str, Any] = {
        "post": {
            **operation,
            "requestBody": {
                # A body is needed exactly when the request has fields that must be given.
                "required": bool(
                    endpoint.request.required_fields
                    or endpoint.request.one_of_fields
                    or endpoint.request.exactly_one_of
                ),
                "content": {"application/json": {"schema": request_ref}},
            },
            "responses": responses,
        }
    }
    if endpoint.safe:
        model = schemas[request_ref["$ref"].rsplit("/", 1)[1]]
        operations["get"] = {
            **operation,
            "operationId": f"{endpoint.service}.{endpoint.name}.get",
            "summary": endpoint.summary + " (GET, fields as query parameters)",
            "parameters": _query_parameters(model),
            "responses": responses,
        }
    if endpoint.service == "user" and endpoint.name == "VerifyEmail":
        operations["get"] = {
            **operation,
            "operationId": "user.VerifyEmail.link",
            "summary": "The mailed verification link: verifies, then redirects",
            "security": [],
            "parameters": [
                {
                    "name": "token",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1, "pattern": NO_CONTROL},
                }
            ],
            "responses": {
                "302": {"description": "Verified (or not): redirect to the page the mail named"},
                "400": _error(400),
            },
        }
    return operations


def _form(
    fields: dict[str, str],
    required: list[str],
    enums: dict[str, list[str]] | None = None,
    **rules: Any,
) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, text in fields.items():
        field: dict[str, Any] = {"type": "string", "description": text, "pattern": NO_CONTROL}
        if name in required:
            field["minLength"] = 1
        if enums and name in enums:
            field["enum"] = enums[name]
        properties[name] = field
    schema = {
        "type": "object",
        "properties": properties,
        "required": required,
        # Other parameters are ignored, but checked for control characters like these.
        "propertyNames": {"pattern": NO_CONTROL},
        "additionalProperties": {"type": "string", "pattern": NO_CONTROL},
        **rules,
    }
    return {
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": schema}},
    }


def _oauth_errors(*codes: int) -> dict[str, Any]:
    return {str(code): _error(code, "OAuthError") for code in codes}


def _other_paths() -> dict[str, Any]:
    """The routes outside /v1, as their handlers answer them."""
    forward_responses = {
        "200": {
            "description": "Allowed. With an identity, X-Micro-Account-Id, X-Micro-Account-Type, "
            "X-Micro-Namespace and X-Micro-Scopes say who (the gateway passes them upstream)",
        },
        "401": _error(401),
        "403": _error(403),
        # A path with a line break in it matches no route: refused before it is judged.
        "404": _error(404),
        "429": _error(429),
    }
    forward_parameters = [
        {
            "name": name,
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": text,
        }
        for name, text in (
            ("X-Original-URI", "The request judged, as nginx sends it (gateway kind nginx)"),
            ("X-Forwarded-Uri", "The request judged, as Traefik sends it (gateway kind traefik)"),
            ("X-Forwarded-Method", "The method judged (Traefik)"),
            ("X-Forwarded-Host", "The host of api: resources"),
        )
    ]

    def forward(path_parameter: bool) -> dict[str, Any]:
        parameters = list(forward_parameters)
        if path_parameter:
            parameters.append(
                {
                    "name": "path",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "The request judged, in Envoy's form (gateway kind envoy)",
                }
            )
        summary = (
            "Judge a request behind a gateway (Envoy: the path follows)"
            if path_parameter
            else "Judge a request behind a gateway (nginx auth_request, Traefik ForwardAuth)"
        )
        return {
            method: {
                "operationId": f"gateway.forward{'.path' if path_parameter else ''}.{method}",
                "summary": summary,
                "tags": ["gateway"],
                "security": [{"apiKey": []}, {}],
                "parameters": parameters,
                "responses": forward_responses,
            }
            for method in FORWARD_METHODS
        }

    def page(operation_id: str, summary: str, media: str, tag: str = "service") -> dict[str, Any]:
        return {
            "get": {
                "operationId": operation_id,
                "summary": summary,
                "tags": [tag],
                "security": [],
                "responses": {"200": {"description": "OK", "content": {media: {}}}},
            }
        }

    open_json = "application/json"
    return {
        "/.well-known/jwks.json": page(
            "oauth.jwks", "The public keys that sign access tokens (JWKS)", open_json, "oauth"
        ),
        "/.well-known/openid-configuration": page(
            "oauth.discovery", "The discovery document of the token endpoints", open_json, "oauth"
        ),
        "/.well-known/revocations": {
            "get": {
                "operationId": "oauth.revocations",
                "summary": "What is revoked in a namespace, for local token verifiers",
                "tags": ["oauth"],
                "security": [],
                "parameters": [
                    {
                        "name": "iss",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "The issuer (a token's iss) or the namespace; the "
                        "default namespace when left out",
                    }
                ],
                "responses": {
                    "200": {"description": "OK", "content": {open_json: {}}},
                    "400": _error(400),
                },
            }
        },
        "/oauth/token": {
            "post": {
                "operationId": "oauth.token",
                "summary": "Tokens: authorization_code (with PKCE), client_credentials and "
                "refresh_token grants (RFC 6749)",
                "tags": ["oauth"],
                "security": [{"clientSecret": []}, {}],
                "requestBody": _form(
                    {
                        "grant_type": "authorization_code, client_credentials or refresh_token",
                        "code": "for the authorization_code grant",
                        "redirect_uri": "the authorization request's, exactly",
                        "code_verifier": "the PKCE verifier of the code's challenge (RFC 7636)",
                        "refresh_token": "for the refresh_token grant",
                        "client_id": "with client_secret instead of HTTP Basic; alone for a "
                        "public client",
                        "client_secret": "the service account's or OAuth client's secret",
                        "namespace": "the client's namespace (default namespace when left out)",
                    },
                    ["grant_type"],
                    {"grant_type": ["authorization_code", "client_credentials", "refresh_token"]},
                    allOf=[
                        {
                            "if": {"properties": {"grant_type": {"const": "refresh_token"}}},
                            "then": {
                                "required": ["refresh_token"],
                                "properties": {"refresh_token": {"minLength": 1}},
                            },
                        },
                        {
                            "if": {"properties": {"grant_type": {"const": "authorization_code"}}},
                            "then": {
                                "required": ["code", "redirect_uri", "code_verifier"],
                                "properties": {
                                    name: {"minLength": 1}
                                    for name in ("code", "redirect_uri", "code_verifier")
                                },
                            },
                        },
                    ],
                ),
                "responses": {
                    "200": _json({"$ref": REF.format(model="OAuthToken")}),
                    **_oauth_errors(400, 401, 413, 429, 503),
                },
            }
        },
        "/oauth/introspect": {
            "post": {
                "operationId": "oauth.introspect",
                "summary": "Is this token active, and whose is it (RFC 7662)",
                "tags": ["oauth"],
                "security": [{"clientSecret": []}, {"apiKey": []}],
                "requestBody": _form({"token": "an access or refresh token"}, ["token"]),
                "responses": {
                    "200": _json({"type": "object", "required": ["active"]}),
                    **_oauth_errors(400, 401, 413, 429),
                },
            }
        },
        "/oauth/revoke": {
            "post": {
                "operationId": "oauth.revoke",
                "summary": "Revoke a token and what was issued with it (RFC 7009)",
                "tags": ["oauth"],
                "security": [{"clientSecret": []}, {"apiKey": []}],
                "requestBody": _form({"token": "an access or refresh token"}, ["token"]),
                "responses": {
                    "200": {"description": "Revoked, or was not active"},
                    **_oauth_errors(400, 401, 413, 429),
                },
            }
        },
        "/oauth/userinfo": {
            method: {
                "operationId": f"oauth.userinfo.{method}",
                "summary": "Claims about the signed-in user (OpenID Connect Core 5.3), for an "
                "access token of the authorization code flow",
                "tags": ["oauth"],
                "security": [{"apiKey": []}],
                "responses": {
                    "200": _json({"type": "object", "required": ["sub"]}),
                    "401": {"description": "No valid token (RFC 6750's WWW-Authenticate)"},
                },
            }
            for method in ("get", "post")
        },
        **_page_paths(),
        "/auth/forward": forward(False),
        "/auth/forward/{path}": forward(True),
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics of this process (the admin role by default)",
                "tags": ["service"],
                "responses": {
                    "200": {"description": "OK", "content": {"text/plain": {}}},
                    "401": _error(401),
                    "403": _error(403),
                },
            }
        },
        "/health": page("health", "Answers while the process runs", open_json),
        "/ready": {
            "get": {
                **page("ready", "Answers only while the database answers", open_json)["get"],
                "responses": {
                    "200": {"description": "Ready", "content": {open_json: {}}},
                    "503": _error(503),
                },
            }
        },
        "/openapi.json": page("openapi", "This document", open_json),
        "/assets/pages.css": page("pages.stylesheet", "The hosted pages' styles", "text/css"),
        "/assets/passkeys.js": page(
            "pages.passkeys", "The hosted pages' one script (passkeys)", "text/javascript"
        ),
        "/docs": page("docs", "This reference, to read and try", "text/html"),
        "/docs/assets/{name}": {
            "get": {
                **page("docs.assets", "The reference page's scripts and styles", "text/css")["get"],
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {"text/javascript": {}, "text/css": {}},
                    },
                    "404": _error(404),
                },
            }
        },
    }


HTML: dict[str, Any] = {"text/html": {}}
# Query parameters of an authorization request (RFC 6749 4.1.1, OpenID Connect Core 3.1.2.1).
AUTHORIZE_PARAMETERS = {
    "client_id": "The OAuth client",
    "redirect_uri": "One of the client's redirect URIs, exactly",
    "response_type": "code",
    "scope": "openid, and profile, email, offline_access as the client may",
    "state": "Echoed back to the client",
    "nonce": "Echoed in the ID token",
    "code_challenge": "The PKCE challenge (RFC 7636)",
    "code_challenge_method": "S256",
    "prompt": "none, login or consent",
    "max_age": "Seconds since the user last signed in, at most",
    "login_hint": "The username or email to fill in",
}
LOGOUT_PARAMETERS = {
    "id_token_hint": "An ID token of the session to end",
    "client_id": "The client asking",
    "post_logout_redirect_uri": "One of the client's post-logout redirect URIs, exactly",
    "state": "Echoed back at the post-logout redirect URI",
}


def _query(fields: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": text,
        }
        for name, text in fields.items()
    ]


def _page_paths() -> dict[str, Any]:
    """The hosted pages (``pages.py``): HTML for a browser, each form with its CSRF token."""
    shown = {"description": "The page", "content": HTML}
    moved = {"description": "On to the next page, or back to the client (303 See Other)"}
    refused = {"description": "A page that says what is wrong", "content": HTML}

    def operations(
        name: str,
        summary: str,
        methods: tuple[str, ...],
        *,
        query: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
        statuses: tuple[int, ...] = (),
        path_parameter: str = "",
    ) -> dict[str, Any]:
        described: dict[str, Any] = {}
        for method in methods:
            operation: dict[str, Any] = {
                "operationId": f"pages.{name}.{method}",
                "summary": summary,
                "tags": ["pages"],
                "security": [],
                "responses": {
                    "200": shown,
                    "303": moved,
                    **{str(code): refused for code in statuses},
                },
            }
            parameters = _query(query or {}) if method == "get" else []
            if path_parameter:
                parameters.append(
                    {
                        "name": path_parameter,
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                )
            if parameters:
                operation["parameters"] = parameters
            if method == "post":
                fields = {"csrf": "The page's CSRF token (equal to the mu_csrf cookie)"}
                operation["requestBody"] = _form({**fields, **(form or {})}, ["csrf"])
                operation["responses"]["403"] = refused
            described[method] = operation
        return described

    both = ("get", "post")
    return {
        "/oauth/authorize": {
            method: {
                "operationId": f"pages.authorize.{method}",
                "summary": "Authorization endpoint (RFC 6749 4.1): sign in, consent, then back "
                "to the client with a code",
                "tags": ["pages"],
                "security": [],
                **(
                    {"parameters": _query(AUTHORIZE_PARAMETERS)}
                    if method == "get"
                    else {
                        "requestBody": {
                            "required": False,
                            "content": {
                                "application/x-www-form-urlencoded": {"schema": {"type": "object"}}
                            },
                        }
                    }
                ),
                "responses": {"303": moved, "400": refused, "429": refused},
            }
            for method in both
        },
        "/oauth/logout": operations(
            "logout",
            "RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0)",
            both,
            query=LOGOUT_PARAMETERS,
            form=LOGOUT_PARAMETERS,
            statuses=(400,),
        ),
        "/signin": operations(
            "signin",
            "Sign in",
            both,
            query={**AUTHORIZE_PARAMETERS, "verified": "1 after an email confirmation"},
            form={"login": "Username or email", "password": "Password"},
            statuses=(400, 401, 429),
        ),
        "/signin/factor": operations(
            "signin.factor",
            "The second step of signing in: a code from the authenticator app, or a recovery code",
            ("post",),
            form={"pending": "The sign-in the password began", "code": "The code"},
            statuses=(400, 401, 429),
        ),
        "/signin/passkey": operations(
            "signin.passkey",
            "Sign in with a passkey alone: the browser's WebAuthn answer to the page's options",
            ("post",),
            form={"credential": "The WebAuthn answer (JSON), which the page's script fills"},
            statuses=(400, 401, 429),
        ),
        "/signin/with/{provider}": operations(
            "signin.with",
            "Sign in through an external identity provider: off to it (link=1: link it to "
            "the signed-in account)",
            ("get",),
            query={**AUTHORIZE_PARAMETERS, "link": "1 to link to the signed-in account"},
            statuses=(400, 404),
            path_parameter="provider",
        ),
        "/signin/callback": operations(
            "signin.callback",
            "Where an external identity provider sends the browser back (its redirect URI)",
            ("get",),
            query={"code": "The provider's code", "state": "The state sent", "error": ""},
            statuses=(400, 401, 404, 429),
        ),
        "/signin/link": operations(
            "signin.link",
            "Link an external identity to the account its verified email names: the "
            "account's password",
            ("post",),
            form={"password": "The account's password"},
            statuses=(400, 401, 429),
        ),
        "/signin/link/{token}": operations(
            "signin.link.mailed",
            "The mailed link that proves the account's address before an external identity "
            "is linked to it: a button that links and signs in",
            both,
            query={"i": "The identity to link, sealed"},
            statuses=(400, 429),
            path_parameter="token",
        ),
        "/signin/setup": operations(
            "signin.setup",
            "Setting up the second factor a namespace requires, inside sign-in: the "
            "authenticator's first code",
            ("post",),
            form={"pending": "The sign-in the password began", "code": "The code"},
            statuses=(400, 401, 429),
        ),
        "/signup": operations(
            "signup",
            "Create an account, where the namespace's rules let anyone call User.Create",
            both,
            form={"username": "", "email": "", "password": "", "confirm": ""},
            statuses=(400, 403, 429),
        ),
        "/forgot": operations(
            "forgot",
            "Ask for a password reset code",
            both,
            form={"email": ""},
            statuses=(400, 429),
        ),
        "/reset": operations(
            "reset",
            "Choose a new password with the mailed code",
            both,
            query={"email": "The address the code was sent to"},
            form={"email": "", "code": "", "password": "", "confirm": ""},
            statuses=(400, 429),
        ),
        "/magic": operations(
            "magic",
            "Ask for a sign-in link",
            both,
            form={"email": ""},
            statuses=(400, 429),
        ),
        "/magic/{token}": operations(
            "magic.landing",
            "The mailed sign-in link: a button that signs in",
            both,
            statuses=(400, 429),
            path_parameter="token",
        ),
        "/consent": operations(
            "consent",
            "The user's answer to a third-party client's request",
            ("post",),
            form={"decision": "allow or deny"},
            statuses=(400, 429),
        ),
        "/account/factors": operations(
            "account.factors",
            "Two-step sign-in: set up an authenticator app, new recovery codes, turn it off",
            both,
            form={"action": "start, confirm, codes or remove", "code": "A current code"},
            statuses=(400, 401, 429),
        ),
        "/account": operations(
            "account",
            "The signed-in user's account: applications let in, sign out",
            both,
            form={"revoke": "A client to take access back from"},
            statuses=(429,),
        ),
    }


# Each issuer's routes: the default namespace's at the public URL, the others' under
# /namespaces/{namespace}.
ISSUER_ROUTES = (
    "/.well-known/openid-configuration",
    "/oauth/token",
    "/oauth/introspect",
    "/oauth/revoke",
    "/oauth/userinfo",
    "/oauth/authorize",
    "/oauth/logout",
    "/signin",
    "/signin/factor",
    "/signin/setup",
    "/signin/passkey",
    "/signin/with/{provider}",
    "/signin/callback",
    "/signin/link",
    "/signin/link/{token}",
    "/signup",
    "/forgot",
    "/reset",
    "/magic",
    "/magic/{token}",
    "/consent",
    "/account",
    "/account/factors",
)


def _issuer_paths(paths: dict[str, Any]) -> dict[str, Any]:
    """The issuer of each namespace but the default one (``auth/issuers.py``) has the
    default issuer's discovery and token endpoints under ``/namespaces/{namespace}``."""
    namespace = {
        "name": "namespace",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": NAMESPACE_PATTERN},
        "description": "A namespace other than the default one (whose issuer is the public "
        "URL itself)",
    }
    described: dict[str, Any] = {}
    for route in ISSUER_ROUTES:
        operations = {}
        for method, operation in paths[route].items():
            responses = {**operation["responses"]}
            unknown = _error(404)  # an unknown namespace, as JSON
            if "404" in responses:  # the page's own 404 (a page), beside it
                unknown = {
                    "description": f"{responses['404']['description']}; or no such namespace",
                    "content": {**responses["404"]["content"], **unknown["content"]},
                }
            responses["404"] = unknown
            operations[method] = {
                **operation,
                "operationId": f"{operation['operationId']}.namespace",
                "parameters": [*operation.get("parameters", []), namespace],
                "responses": responses,
            }
        described[f"{NAMESPACES_PATH}/{{namespace}}{route}"] = operations
    return described


def openapi_document(public_url: str | None = None) -> dict[str, Any]:
    """The whole description. ``servers`` is this server ("/", so a client calls whichever
    address it read the document from), and the public URL first when one is configured."""
    refs, schemas = _model_schemas()
    paths: dict[str, Any] = {}
    for endpoint in sorted(registry, key=lambda e: e.path):
        paths[endpoint.path] = _endpoint_operations(endpoint, refs, schemas)
    paths.update(_other_paths())
    paths.update(_issuer_paths(paths))
    servers = [{"url": "/", "description": "this server"}]
    if public_url:
        servers.insert(0, {"url": public_url.rstrip("/"), "description": "public address"})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "micro-user",
            "version": __version__,
            "description": "User and access service, wire-compatible with the Micro user and "
            "auth APIs. Authorize with an API key (muk_...) to try the calls.",
        },
        "servers": servers,
        "security": [{"apiKey": []}],
        "paths": paths,
        "components": {
            "schemas": {
                **schemas,
                "Error": ERROR_SCHEMA,
                "OAuthError": OAUTH_ERROR_SCHEMA,
                "OAuthToken": {
                    "type": "object",
                    "required": ["access_token", "token_type", "expires_in"],
                    "properties": {
                        "access_token": {"type": "string"},
                        "token_type": {"const": "Bearer"},
                        "expires_in": {"type": "integer"},
                        "refresh_token": {"type": "string"},
                        "scope": {"type": "string"},
                        "id_token": {"type": "string"},
                    },
                },
            },
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key (muk_...), a session id or an access token",
                },
                "clientSecret": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "A service account's id and secret",
                },
            },
        },
    }
