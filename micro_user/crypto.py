"""Random secrets and the one way we store them: SHA-256, compared by lookup of the digest."""

from __future__ import annotations

import hashlib
import secrets

# Reset codes are typed by people: no 0/O or 1/I/L to misread.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random string of ``nbytes`` bytes of entropy (256 bits by default)."""
    return secrets.token_urlsafe(nbytes)


def new_code(length: int = 10) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def digest(secret: str) -> str:
    """The at-rest form of a high-entropy secret. Looking up the digest, not the secret,
    means a timing difference in the lookup tells an attacker nothing usable."""
    return hashlib.sha256(secret.encode()).hexdigest()
