"""What every instance caches of the auth data, and how it learns of changes.

Rules, revocations of access tokens (by ``jti``, session ``sid`` and deleted
account ``sub``), signing keys and API key lookups are cached in each process. Every change to them bumps one counter in the database (in the
changing transaction); each instance polls that counter every
``auth_refresh_seconds`` and reloads when it moved. So a rule change, a
revoked token or key, or a rotated signing key is honoured by every instance
within that interval plus one reload.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from cachetools import LRUCache
from microuser.rules import RuleSet

from micro_user.auth.issuers import namespace_of
from micro_user.auth.rules import BUILTIN_RULES, RuleService
from micro_user.auth.signing import SigningKeys
from micro_user.clock import Clock
from micro_user.storage import auth as repo
from micro_user.storage.database import Database

log = logging.getLogger("micro_user.auth")
# Namespaces without rules of their own are evaluated with the built-in rules alone; their
# rule sets are made on demand (any client can name a namespace), so at most this many are kept.
BUILTIN_ONLY_CACHE_SIZE = 1024


class AuthState:
    def __init__(
        self,
        db: Database,
        rules: RuleService,
        signing: SigningKeys,
        clock: Clock,
        on_change: Callable[[], None],
    ) -> None:
        self.db = db
        self.rules = rules
        self.signing = signing
        self.clock = clock
        self.on_change = on_change
        self.version = -1
        self.rulesets: dict[str, RuleSet] = {}  # as loaded: the namespaces that have rules
        self.builtin_only: LRUCache[str, RuleSet] = LRUCache(BUILTIN_ONLY_CACHE_SIZE)
        # What is refused, looked up on every use of an access token (a set lookup each).
        self.revoked_jti: frozenset[str] = frozenset()
        self.revoked_sid: frozenset[str] = frozenset()
        self.revoked_sub: frozenset[tuple[str, str]] = frozenset()
        # The published lists (/.well-known/revocations), per issuer.
        self.revocations: dict[str, dict[str, list[str]]] = {}
        # When the first cached revocation lapses: then the lists are read again.
        self._lapses = 2**62
        self._seen_changes = -1
        self._lock = asyncio.Lock()

    def behind(self) -> bool:
        """Whether this process changed auth data since the last load."""
        return repo.local_changes != self._seen_changes

    async def catch_up(self) -> None:
        """Reload now if this process changed auth data since the last load (after each
        request that did: what an instance revoked it refuses at once)."""
        if self.behind():
            try:
                await self.refresh()
            except Exception as exc:  # the change is committed: the next request tries again
                self._seen_changes = -1
                log.warning("auth state refresh failed: %s", type(exc).__name__)

    def refuses(self, claims: Mapping[str, Any]) -> bool:
        """Whether a verified token's claims are revoked: its jti, its session or its account."""
        return (
            str(claims.get("jti", "")) in self.revoked_jti
            or str(claims.get("sid", "")) in self.revoked_sid
            or (namespace_of(claims), str(claims.get("sub", ""))) in self.revoked_sub
        )

    def revocation_document(self, namespace: str, issuer: str) -> dict[str, Any]:
        lists = self.revocations.get(namespace, {})
        return {
            "iss": issuer,
            "jti": lists.get("jti", []),
            "sid": lists.get("sid", []),
            "sub": lists.get("sub", []),
        }

    def ruleset(self, namespace: str) -> RuleSet:
        found = self.rulesets.get(namespace) or self.builtin_only.get(namespace)
        if found is None:
            found = self.builtin_only[namespace] = RuleSet(namespace, BUILTIN_RULES)
        return found

    async def refresh(self, force: bool = False) -> bool:
        """Reload when the database says something changed; True if it reloaded."""
        async with self._lock:
            self._seen_changes = repo.local_changes
            async with self.db.read() as conn:
                version = await repo.read_version(conn)
                now = self.clock()
                if version == self.version and not force:
                    if now >= self._lapses:
                        self._cache_revocations(await repo.live_revocations(conn, now))
                    return False
                revoked = await repo.live_revocations(conn, now)
            rulesets = await self.rules.load_all()
            await self.signing.load()
            self.rulesets, self.version = rulesets, version
            self._cache_revocations(revoked)
            self.builtin_only.clear()
            self.on_change()
            return True

    def _cache_revocations(self, rows: list[tuple[str, str, str, int]]) -> None:
        lists: dict[str, dict[str, list[str]]] = {}
        for namespace, kind, value, _ in sorted(rows):
            if namespace:  # (jtis revoked before 0005 have no issuer: refused, not listed)
                lists.setdefault(namespace, {}).setdefault(kind, []).append(value)
        self.revoked_jti = frozenset(v for _, k, v, _ in rows if k == repo.JTI)
        self.revoked_sid = frozenset(v for _, k, v, _ in rows if k == repo.SID)
        self.revoked_sub = frozenset((n, v) for n, k, v, _ in rows if k == repo.SUB)
        self.revocations = lists
        self._lapses = min((expires for *_, expires in rows), default=2**62)

    async def follow(self, interval: float) -> None:
        """Poll for changes until cancelled."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh()
            except Exception as exc:  # the database may be away for a moment; try again next time
                log.warning("auth state refresh failed: %s", type(exc).__name__)
