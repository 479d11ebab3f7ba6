"""Python client for micro-user, the self-hosted user service speaking the Micro user API.

A first call::

    from microuser import Client

    with Client("http://localhost:8080", key="muk_...") as users:
        account = users.create(email="ada@example.com", password="correct horse battery")
"""

from microuser._auth_client import AsyncAuthClient, AuthClient
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
from microuser._models import (
    Account,
    AuthAccount,
    FactorPolicy,
    IdentityProvider,
    OAuthClient,
    Role,
    Session,
    Token,
    VerifyResult,
    VerifyTokenResult,
)
from microuser._version import __version__

__all__ = [
    "APIError",
    "Account",
    "AsyncAuthClient",
    "AsyncClient",
    "AuthAccount",
    "AuthClient",
    "BadRequestError",
    "Client",
    "FactorPolicy",
    "ForbiddenError",
    "IdentityProvider",
    "MicroUserError",
    "NotFoundError",
    "OAuthClient",
    "PayloadTooLargeError",
    "RateLimitedError",
    "Role",
    "ServerError",
    "Session",
    "Token",
    "TransportError",
    "UnauthorizedError",
    "VerifyResult",
    "VerifyTokenResult",
    "__version__",
]
