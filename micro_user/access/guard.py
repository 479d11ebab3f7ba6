"""The one place that decides whether a request may reach the API.

Today: a valid API key (Bearer, or Basic with the key as password, as the
Micro gateway accepted). A later issue replaces this with the rule engine.
"""

from __future__ import annotations

import base64
import binascii

from micro_user.access.keys import Caller, KeyService
from micro_user.errors import Unauthorized

ERROR_ID = "auth"


def credential_from_header(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized(ERROR_ID, "missing credentials: send 'Authorization: Bearer <api key>'")
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized(ERROR_ID, "malformed Basic credentials") from None
        _, _, password = decoded.partition(":")
        if password:
            return password
    raise Unauthorized(ERROR_ID, "unsupported Authorization header: use 'Bearer <api key>'")


async def authorize(keys: KeyService, authorization: str | None) -> Caller:
    caller = await keys.authenticate(credential_from_header(authorization))
    if caller is None:
        raise Unauthorized(ERROR_ID, "invalid or revoked API key")
    return caller
