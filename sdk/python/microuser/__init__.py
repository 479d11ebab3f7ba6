"""Python client for micro-user, the self-hosted user service speaking the Micro user API.

A first call::

    from microuser import Client

    with Client("http://localhost:8080", key="muk_...") as users:
        account = users.create(email="ada@example.com", password="correct horse battery")
"""

from microuser._client import AsyncClient, Client
from microuser._exceptions import (
    APIError,
    BadRequestError,
    ForbiddenError,
    MicroUserError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnauthorizedError,
)
from microuser._models import Account, Session, VerifyTokenResult
from microuser._version import __version__

__all__ = [
    "APIError",
    "Account",
    "AsyncClient",
    "BadRequestError",
    "Client",
    "ForbiddenError",
    "MicroUserError",
    "NotFoundError",
    "PayloadTooLargeError",
    "RateLimitedError",
    "ServerError",
    "Session",
    "TransportError",
    "UnauthorizedError",
    "VerifyTokenResult",
    "__version__",
]
