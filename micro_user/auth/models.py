"""What the auth service deals in: identities, service accounts and tokens."""

from __future__ import annotations

from dataclasses import dataclass, field

from microuser.rules import Subject

USER, SERVICE, KEY = "user", "service", "key"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who made a request, however they proved it (API key, access token or session)."""

    id: str
    type: str
    namespace: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    via: str = "token"

    @property
    def subject(self) -> Subject:
        return Subject(self.namespace, self.scopes)


@dataclass(frozen=True, slots=True)
class AuthAccount:
    """An account of the Micro auth model; ``secret`` is set only when it is being shown once."""

    id: str
    type: str
    namespace: str
    name: str
    metadata: dict[str, str]
    scopes: tuple[str, ...]
    created: int
    secret: str = ""


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    created: int
    expiry: int
