"""The one error family of micro-user.

Domain code raises these; the HTTP layer turns them into the wire shape
``{id, code, detail, status}`` in one place (``micro_user.http.wire``), and the
CLI turns them into a message and an exit code.

    ServiceError
     +-- BadRequest        400
     |    +-- Conflict     400  (a unique value is taken; Micro answers 400)
     +-- Unauthorized      401
     +-- Forbidden         403
     +-- NotFound          404
     +-- MethodNotAllowed  405
     +-- PayloadTooLarge   413
     +-- TooManyRequests   429
     +-- Unavailable       503
"""

from __future__ import annotations

from http import HTTPStatus


class ServiceError(Exception):
    """A failure the caller can act on. ``id`` is stable; branch on it, not on ``detail``."""

    code: int = 500

    def __init__(self, id: str, detail: str) -> None:
        super().__init__(detail)
        self.id = id
        self.detail = detail

    @property
    def status(self) -> str:
        return HTTPStatus(self.code).phrase

    def to_wire(self) -> dict[str, object]:
        return {"id": self.id, "code": self.code, "detail": self.detail, "status": self.status}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, detail={self.detail!r})"


class BadRequest(ServiceError):
    code = 400


class Conflict(BadRequest):
    """A unique value (id, username, email) already belongs to another account."""


class Unauthorized(ServiceError):
    code = 401


class Forbidden(ServiceError):
    code = 403


class NotFound(ServiceError):
    code = 404


class MethodNotAllowed(ServiceError):
    code = 405

    def __init__(self, id: str, detail: str, allow: str) -> None:
        super().__init__(id, detail)
        self.allow = allow  # the methods that are allowed: the Allow header (RFC 9110)


class PayloadTooLarge(ServiceError):
    code = 413


class TooManyRequests(ServiceError):
    code = 429
    retry_after: int = 1


class Unavailable(ServiceError):
    code = 503
