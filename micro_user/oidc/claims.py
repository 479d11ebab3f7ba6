"""What an ID token and the userinfo endpoint say about a user (OpenID Connect Core 1.0
sections 2, 5.1 and 5.4): ``sub`` always; with ``profile`` the username and profile; with
``email`` the address and whether it is verified."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

from micro_user.accounts.models import Account

# The hash of at_hash (section 3.1.3.6): the one of the ID token's algorithm. For EdDSA
# with Ed25519 that is SHA-512, as the OpenID Foundation's errata and relying parties
# (openid-client's oidc-token-hash) have it.
_HALF_HASH: dict[str, Callable[[bytes], Any]] = {
    "EdDSA": hashlib.sha512,
    "ES256": hashlib.sha256,
    "RS256": hashlib.sha256,
}
SUPPORTED_SCOPES = ("openid", "profile", "email", "offline_access")
SUPPORTED_CLAIMS = (
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "amr",
    "acr",
    "sid",
    "at_hash",
    "azp",
    "preferred_username",
    "name",
    "updated_at",
    "email",
    "email_verified",
)


# The authentication context classes (OpenID Connect Core section 2, ``acr``): "1" one
# factor (a password, or a mailed link), "2" two (a password and a second factor).
ACR_VALUES = ("1", "2")


def acr_of(amr: list[str]) -> str:
    return "2" if "mfa" in amr else "1"


def half_hash(value: str, algorithm: str) -> str:
    """The left half of the value's hash, base64url without padding (``at_hash``)."""
    digest = _HALF_HASH[algorithm](value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def user_claims(account: Account, scopes: tuple[str, ...] | list[str]) -> dict[str, Any]:
    claims: dict[str, Any] = {"sub": account.id}
    if "profile" in scopes:
        claims["preferred_username"] = account.username
        name = account.profile.get("name")
        if name:
            claims["name"] = name
        claims["updated_at"] = account.updated
    if "email" in scopes and account.email:
        claims["email"] = account.email
        claims["email_verified"] = account.verified
    return claims
