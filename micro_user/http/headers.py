"""Security headers on every answer, added in one place: an ASGI middleware around the app.

Every answer: ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` and a
Content-Security-Policy that allows nothing (the docs page sets its own) and forbids
framing (``frame-ancestors 'none'``, and ``X-Frame-Options`` for older browsers). Answers
under ``/v1``, ``/oauth`` and ``/auth`` may hold session ids, tokens or secrets, so none of
them is stored by a cache: ``Cache-Control: no-store`` and ``Pragma: no-cache``.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PRIVATE_PREFIXES = ("/v1/", "/oauth/", "/auth/")
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
_EVERY_ANSWER = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
]
_PRIVATE_ANSWER = [*_EVERY_ANSWER, (b"cache-control", b"no-store"), (b"pragma", b"no-cache")]


class SecurityHeaders:
    """Adds the headers above to every HTTP answer; a header the handler set is kept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        extra = _PRIVATE_ANSWER if path.startswith(PRIVATE_PREFIXES) else _EVERY_ANSWER

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(header for header in extra if header[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
