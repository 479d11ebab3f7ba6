"""What every instance caches of the auth data, and how it learns of changes.

Rules, revoked access tokens, signing keys and API key lookups are cached in
each process. Every change to them bumps one counter in the database (in the
changing transaction); each instance polls that counter every
``auth_refresh_seconds`` and reloads when it moved. So a rule change, a
revoked token or key, or a rotated signing key is honoured by every instance
within that interval plus one reload.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from cachetools import LRUCache
from microuser.rules import RuleSet

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
        self.revoked: frozenset[str] = frozenset()
        self._lock = asyncio.Lock()

    def ruleset(self, namespace: str) -> RuleSet:
        found = self.rulesets.get(namespace) or self.builtin_only.get(namespace)
        if found is None:
            found = self.builtin_only[namespace] = RuleSet(namespace, BUILTIN_RULES)
        return found

    async def refresh(self, force: bool = False) -> bool:
        """Reload when the database says something changed; True if it reloaded."""
        async with self._lock:
            async with self.db.read() as conn:
                version = await repo.read_version(conn)
                if version == self.version and not force:
                    return False
                revoked = await repo.live_revocations(conn, self.clock())
            rulesets = await self.rules.load_all()
            await self.signing.load()
            self.rulesets, self.revoked, self.version = rulesets, frozenset(revoked), version
            self.builtin_only.clear()
            self.on_change()
            return True

    async def follow(self, interval: float) -> None:
        """Poll for changes until cancelled."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh()
            except Exception as exc:  # the database may be away for a moment; try again next time
                log.warning("auth state refresh failed: %s", type(exc).__name__)
