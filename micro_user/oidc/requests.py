"""Authorization requests (RFC 6749 section 4.1.1, OpenID Connect Core 1.0 section 3.1.2.1),
read and checked before anything is shown to the user.

Two kinds of refusal, in the order the RFC sets (section 4.1.2.1): while the client or its
redirect URI is not established, nothing may be sent to the redirect URI, so the user sees
an error page (``RequestRefused``); after that, errors go back to the client at its
redirect URI with the request's ``state`` (``AuthorizationError``)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from micro_user.accounts.validation import control_character
from micro_user.auth.clients import Client

MAX_PARAMETER = 512
# RFC 7636 section 4.1: 43 to 128 characters of the unreserved set.
CODE_CHALLENGE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
PROMPTS = frozenset({"none", "login", "consent"})
# The parameters a request carries through the sign-in and consent pages.
CARRIED = (
    "client_id",
    "redirect_uri",
    "response_type",
    "response_mode",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
)


class RequestRefused(Exception):
    """A request that cannot be answered at any redirect URI: shown to the user."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class AuthorizationError(Exception):
    """An error answered at the client's redirect URI (RFC 6749 section 4.1.2.1), with the
    request's ``state`` and the issuer (RFC 9207)."""

    def __init__(self, error: str, description: str, request: AuthorizationRequest) -> None:
        super().__init__(description)
        self.error, self.description, self.request = error, description, request

    def location(self, issuer: str) -> str:
        return self.request.respond(
            {"error": self.error, "error_description": self.description}, issuer
        )


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    namespace: str
    client: Client
    redirect_uri: str
    state: str
    params: dict[str, str]
    scopes: tuple[str, ...] = ()
    nonce: str = ""
    code_challenge: str = ""
    prompt: frozenset[str] = field(default_factory=frozenset)
    max_age: int | None = None
    login_hint: str = ""

    def respond(self, answer: dict[str, str], issuer: str) -> str:
        """The redirect URI with ``answer``, the state and the issuer in its query."""
        query = dict(answer)
        if self.state:
            query["state"] = self.state
        query["iss"] = issuer
        separator = "&" if "?" in self.redirect_uri else "?"
        return f"{self.redirect_uri}{separator}{urlencode(query)}"

    def carried(self, *, drop_prompts: Iterable[str] = ()) -> dict[str, str]:
        """The parameters to carry through a page's form; ``drop_prompts`` are prompts
        already answered (a sign-in just made answers ``login``)."""
        params = dict(self.params)
        prompts = [p for p in params.get("prompt", "").split() if p not in set(drop_prompts)]
        if prompts:
            params["prompt"] = " ".join(prompts)
        else:
            params.pop("prompt", None)
        return params


def single_values(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str], str | None]:
    """The parameters, and the name of one given more than once (RFC 6749 section 3.1)."""
    params: dict[str, str] = {}
    repeated = None
    for name, value in pairs:
        if name in params and repeated is None:
            repeated = name
        params[name] = value
    return params, repeated


def read_request(
    namespace: str, pairs: Iterable[tuple[str, str]], find: Mapping[str, Client]
) -> AuthorizationRequest:
    """Check an authorization request; ``find`` holds the client its ``client_id`` names
    (empty when there is none)."""
    params, repeated = single_values(pairs)
    controlled = [name for name, value in params.items() if control_character(name + value)]
    if set(controlled) & {"client_id", "redirect_uri"}:
        raise RequestRefused("the client_id or redirect_uri holds a control character")
    client_id = params.get("client_id", "")
    if not client_id:
        raise RequestRefused("the request names no client (client_id is missing)")
    client = find.get(client_id)
    if client is None:
        raise RequestRefused("the application that sent you here is not registered")
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri:
        raise RequestRefused("the request has no redirect_uri")
    # Compared character for character (RFC 9700 section 2.1): no prefix, no normalising.
    if redirect_uri not in client.redirect_uris:
        raise RequestRefused(
            "the redirect_uri is not one the application registered; it may be an attempt "
            "to send you somewhere else"
        )
    if repeated in ("client_id", "redirect_uri"):
        raise RequestRefused(f"the parameter {repeated} is given more than once")
    carried = {name: params[name] for name in CARRIED if name in params}
    request = AuthorizationRequest(
        namespace, client, redirect_uri, params.get("state", "")[:MAX_PARAMETER], carried
    )

    def refuse(error: str, description: str) -> AuthorizationError:
        return AuthorizationError(error, description, request)

    if repeated is not None:
        raise refuse("invalid_request", f"the parameter {repeated} is given more than once")
    if controlled:
        raise refuse("invalid_request", f"{controlled[0]} holds a control character")
    for name, value in params.items():
        if len(value) > MAX_PARAMETER:
            raise refuse("invalid_request", f"{name} is longer than {MAX_PARAMETER} characters")
    if "request" in params:
        raise refuse("request_not_supported", "request objects are not supported")
    if "request_uri" in params:
        raise refuse("request_uri_not_supported", "request_uri is not supported")
    response_type = params.get("response_type", "")
    if response_type != "code":
        raise refuse(
            "unsupported_response_type" if response_type else "invalid_request",
            "response_type must be code",
        )
    if params.get("response_mode", "query") != "query":
        raise refuse("invalid_request", "response_mode must be query (or absent)")
    scopes = tuple(dict.fromkeys(params.get("scope", "").split()))
    if "openid" not in scopes:
        raise refuse("invalid_scope", "scope must include openid")
    refused = [scope for scope in scopes if scope not in client.scopes]
    if refused:
        raise refuse("invalid_scope", f"the client may not ask for: {' '.join(refused)}")
    challenge = params.get("code_challenge", "")
    method = params.get("code_challenge_method", "")
    if not challenge:
        raise refuse("invalid_request", "code_challenge is required (PKCE, RFC 7636)")
    if method != "S256":
        raise refuse("invalid_request", "code_challenge_method must be S256")
    if not CODE_CHALLENGE.match(challenge):
        raise refuse("invalid_request", "code_challenge must be 43 to 128 unreserved characters")
    prompt = frozenset(params.get("prompt", "").split())
    if prompt - PROMPTS:
        raise refuse("invalid_request", f"prompt may hold {', '.join(sorted(PROMPTS))}; not others")
    if "none" in prompt and len(prompt) > 1:
        raise refuse("invalid_request", "prompt=none goes with no other prompt")
    max_age = None
    if "max_age" in params:
        if not params["max_age"].isdigit() or len(params["max_age"]) > 10:
            raise refuse("invalid_request", "max_age must be a number of seconds")
        max_age = int(params["max_age"])
    return AuthorizationRequest(
        namespace,
        client,
        redirect_uri,
        request.state,
        carried,
        scopes=scopes,
        nonce=params.get("nonce", ""),
        code_challenge=challenge,
        prompt=prompt,
        max_age=max_age,
        login_hint=params.get("login_hint", ""),
    )
