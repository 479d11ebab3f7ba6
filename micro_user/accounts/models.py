"""What an account is, independent of storage and wire format."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Account:
    namespace: str
    id: str
    username: str
    email: str
    created: int
    updated: int
    verified: bool = False
    verification_date: int = 0
    profile: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Session:
    """A login session. ``id`` is the secret the client holds; only its hash is stored."""

    id: str
    namespace: str
    account_id: str
    created: int
    expires: int
    # How the user proved who they are (RFC 8176): "pwd" a password, "otp" a magic link.
    amr: str = "pwd"
