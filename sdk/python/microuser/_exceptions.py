"""Everything the SDK raises, as one tree: catch broadly or precisely.

    MicroUserError               anything the SDK raises (also: an answer it cannot read)
     +-- TransportError          the server could not be reached; wraps the httpx error
     +-- APIError                the server answered with an error: .id .code .detail .status
          +-- BadRequestError        400  a client mistake; .detail says what to fix
          +-- UnauthorizedError      401  missing or bad API key, bad credentials, dead session
          +-- ForbiddenError         403
          +-- NotFoundError          404
          +-- PayloadTooLargeError   413
          +-- RateLimitedError       429
          +-- ServerError            5xx

Other HTTP errors are raised as a plain ``APIError``. Branch on ``.id`` (stable, e.g.
``"users-email-check"``), never on ``.detail`` (text for people).
"""

from __future__ import annotations

from http import HTTPStatus

import httpx

__all__ = [
    "APIError",
    "BadRequestError",
    "ForbiddenError",
    "MicroUserError",
    "NotFoundError",
    "PayloadTooLargeError",
    "RateLimitedError",
    "ServerError",
    "TransportError",
    "UnauthorizedError",
]

_DETAIL_MAX = 500


class MicroUserError(Exception):
    """The root of every error the SDK raises."""


class TransportError(MicroUserError):
    """The request did not get an answer (connection refused, timeout, broken connection).
    The httpx error is the ``__cause__``."""


class APIError(MicroUserError):
    """The server answered with an error.

    ``id`` names what failed (stable: branch on it), ``code`` is the HTTP status,
    ``detail`` explains for people, ``status`` is the status text (``"Not Found"``).
    """

    def __init__(self, id: str, code: int, detail: str, status: str) -> None:
        super().__init__(id, code, detail, status)  # all of them, so that errors pickle
        self.id = id
        self.code = code
        self.detail = detail
        self.status = status

    def __str__(self) -> str:
        return f"{self.detail} ({self.code} {self.status}, id {self.id!r})"


class BadRequestError(APIError):
    """400: the request is wrong (a taken email, a short password, a missing field...)."""


class UnauthorizedError(APIError):
    """401: no or a bad API key, wrong credentials at login, or a session that is over."""


class ForbiddenError(APIError):
    """403: the key may not do this."""


class NotFoundError(APIError):
    """404: no such account, session or endpoint."""


class PayloadTooLargeError(APIError):
    """413: the request body is larger than the server accepts."""


class RateLimitedError(APIError):
    """429: too many requests; try again later."""


class ServerError(APIError):
    """5xx: the server (or its database or mail server) failed; try again later."""


_BY_CODE: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    413: PayloadTooLargeError,
    429: RateLimitedError,
}


def error_class(code: int) -> type[APIError]:
    if code >= 500:
        return ServerError
    return _BY_CODE.get(code, APIError)


def _wire_error(response: httpx.Response) -> dict[str, object]:
    """The ``{id, code, detail, status}`` body, or {} when the body is something else
    (a proxy's HTML page, say)."""
    try:
        body = response.json()
    except ValueError:  # not JSON (json.JSONDecodeError and UnicodeDecodeError are ValueErrors)
        return {}
    return body if isinstance(body, dict) else {}


def _status_text(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return ""


def error_from_response(response: httpx.Response) -> APIError:
    """The error for an HTTP error answer, of the class its status code maps to."""
    code = response.status_code
    body = _wire_error(response)
    detail = body.get("detail")
    if not isinstance(detail, str):
        detail = response.text.strip()[:_DETAIL_MAX] or _status_text(code)
    error_id, status = body.get("id"), body.get("status")
    return error_class(code)(
        id=error_id if isinstance(error_id, str) else "",
        code=code,
        detail=detail,
        status=status if isinstance(status, str) else _status_text(code),
    )


def transport_error(exc: httpx.TransportError) -> TransportError:
    reason = str(exc) or type(exc).__name__
    try:
        where = f" at {exc.request.url}"
    except RuntimeError:  # httpx raises when the error has no request attached
        where = ""
    return TransportError(f"no answer from micro-user{where}: {reason}")
