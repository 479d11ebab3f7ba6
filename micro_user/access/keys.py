"""API keys: how programs prove they may call the API.

A key is ``muk_`` followed by 256 random bits, shown once; only its SHA-256 is
stored. The recognisable prefix lets secret scanners and people spot a leaked
key. Lookups are cached for ``key_cache_seconds``, which bounds how long a
revoked key keeps working on an instance that has just used it.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from cachetools import TTLCache
from sqlalchemy.exc import IntegrityError

from micro_user.accounts.validation import check_namespace
from micro_user.auth.models import KEY, Identity
from micro_user.auth.rules import check_role_name
from micro_user.clock import Clock
from micro_user.crypto import digest, new_token
from micro_user.errors import BadRequest, NotFound
from micro_user.events import outbox
from micro_user.events.outbox import Outbox
from micro_user.storage import keys as repo
from micro_user.storage.auth import bump_version
from micro_user.storage.database import Database

KEY_PREFIX = "muk_"
HINT_LENGTH = 12
BOOTSTRAP_KEY_ID = "key_admin"
ENV_KEY_ID = "key_env_admin"
_CACHE_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    namespace: str
    name: str
    hint: str
    created: int
    revoked: int | None
    scopes: tuple[str, ...] = ("admin",)


class KeyService:
    def __init__(
        self, db: Database, outbox: Outbox, clock: Clock, cache_seconds: float = 5.0
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.clock = clock
        self.cache_seconds = cache_seconds
        # Unknown keys are remembered too (as None), so the bound matters: guesses evict
        # the least recently used lookups, not every lookup at once.
        self._cache: TTLCache[str, Identity | None] = TTLCache(
            _CACHE_LIMIT, ttl=cache_seconds or 1.0, timer=time.monotonic
        )

    def _row(
        self,
        namespace: str,
        name: str,
        secret: str,
        key_id: str,
        scopes: tuple[str, ...] = ("admin",),
    ) -> dict[str, object]:
        return {
            "id": key_id,
            "namespace": namespace,
            "name": name,
            "secret_hash": digest(secret),
            "hint": secret[:HINT_LENGTH],
            "created": self.clock(),
            "scopes": " ".join(scopes),
        }

    async def create(
        self, namespace: str, name: str = "", scopes: tuple[str, ...] = ("admin",)
    ) -> tuple[ApiKey, str]:
        check_namespace(namespace)
        if len(name) > 128:
            raise BadRequest("key.create", "a key name is at most 128 characters")
        if not scopes:
            raise BadRequest("key.create", "a key needs at least one scope")
        for scope in scopes:
            check_role_name(scope)
        secret = KEY_PREFIX + new_token()
        key_id = "key_" + secrets.token_hex(8)
        async with self.db.write() as conn:
            await repo.insert_key(conn, **self._row(namespace, name, secret, key_id, scopes))
            await self.outbox.record(
                conn,
                namespace,
                outbox.KEY_CREATED,
                self.clock(),
                payload={"key": key_id, "name": name, "scopes": list(scopes)},
            )
        return ApiKey(
            key_id, namespace, name, secret[:HINT_LENGTH], self.clock(), None, scopes
        ), secret

    async def list(
        self, namespace: str | None = None, include_revoked: bool = False
    ) -> list[ApiKey]:
        async with self.db.read() as conn:
            rows = await repo.list_keys(conn, namespace, include_revoked)
        return [
            ApiKey(r.id, r.namespace, r.name, r.hint, r.created, r.revoked, tuple(r.scopes.split()))
            for r in rows
        ]

    async def revoke(self, key_id: str) -> None:
        async with self.db.write() as conn:
            namespace = await repo.revoke_key(conn, key_id, self.clock())
            if namespace is None:
                raise NotFound("key.revoke", f"no active key with id {key_id!r}")
            await bump_version(conn)
            await self.outbox.record(
                conn, namespace, outbox.KEY_REVOKED, self.clock(), payload={"key": key_id}
            )
        self.forget()

    def forget(self) -> None:
        """Drop cached lookups (called whenever auth data changed, here or elsewhere)."""
        self._cache.clear()

    async def authenticate(self, secret: str) -> Identity | None:
        secret_hash = digest(secret)
        try:
            return self._cache[secret_hash]
        except KeyError:  # never looked up, or expired
            pass
        async with self.db.read() as conn:
            row = await repo.find_active_by_hash(conn, secret_hash)
        identity = (
            Identity(row.id, KEY, row.namespace, frozenset(row.scopes.split()), via="key")
            if row
            else None
        )
        if self.cache_seconds > 0:
            self._cache[secret_hash] = identity
        return identity

    async def bootstrap(self, namespace: str, env_key: str | None) -> str | None:
        """Make sure an admin key exists. With ``env_key`` that key is the admin key;
        otherwise the first start of a fresh install creates one and returns it, once."""
        try:
            return await self._bootstrap(namespace, env_key)
        except IntegrityError:
            # Another instance starting at the same moment wrote the row first: now it exists.
            return await self._bootstrap(namespace, env_key)

    async def _bootstrap(self, namespace: str, env_key: str | None) -> str | None:
        async with self.db.write() as conn:
            if env_key is not None:
                await repo.upsert_key(
                    conn,
                    **self._row(namespace, "admin (MICRO_USER_ADMIN_KEY)", env_key, ENV_KEY_ID),
                )
                return None
            secret = KEY_PREFIX + new_token()
            created = await repo.insert_key_if_absent(
                conn,
                **self._row(namespace, "admin (created at first start)", secret, BOOTSTRAP_KEY_ID),
            )
            return secret if created else None
