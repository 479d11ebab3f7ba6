"""Cross-origin reads of what a browser application (a public client: a single-page app)
calls directly: each issuer's discovery document, the key set, the token endpoint and
userinfo. Any origin may read them (``Access-Control-Allow-Origin: *``), and none with
the browser's credentials: none of them reads a cookie, so a page of another site gains
nothing it could not get by calling them from a server. Every other route keeps the
same-origin policy."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from micro_user.auth.issuers import NAMESPACES_PATH

OPEN_PATHS = re.compile(
    rf"^(?:{re.escape(NAMESPACES_PATH)}/[^/]+)?"
    r"/(?:\.well-known/openid-configuration|\.well-known/jwks\.json|oauth/token|oauth/userinfo)$"
)
_ALLOW = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-expose-headers", b"WWW-Authenticate"),
]
_PREFLIGHT = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET, POST"),
    (b"access-control-allow-headers", b"Authorization, Content-Type"),
    (b"access-control-max-age", b"600"),
    (b"content-length", b"0"),
]


class OpenToBrowsers:
    """Answers the CORS preflight of the open paths, and lets any origin read their
    answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not OPEN_PATHS.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            await send({"type": "http.response.start", "status": 204, "headers": _PREFLIGHT})
            await send({"type": "http.response.body", "body": b""})
            return

        async def with_allow(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *_ALLOW]}
            await send(message)

        await self.app(scope, receive, with_allow)
