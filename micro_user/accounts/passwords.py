"""Password hashing: argon2id for everything we write, and the Micro bcrypt scheme for imports.

Hashing runs on a small thread pool of its own (argon2 releases the GIL), so
the event loop keeps serving while a login is being checked, and at most
``hash_threads`` hashes (each ``argon2_memory_kib`` of memory) run at once.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import secrets
from concurrent.futures import ThreadPoolExecutor

import argon2
import bcrypt

from micro_user.observability import HASH_SECONDS

# Imported from the Micro user service: bcrypt(cost 10) over "cruft123" + salt + password,
# stored as  micro-bcrypt$<salt>$<base64 of the bcrypt hash>.
LEGACY_PREFIX = "micro-bcrypt$"
LEGACY_PEPPER = "cruft123"
BCRYPT_MAX_BYTES = 72  # bcrypt ignores the rest; Go's bcrypt of that era truncated too


def legacy_hash(salt: str, encoded_bcrypt: str) -> str:
    """The stored form of a password exported from Micro (its salt and base64 hash)."""
    return f"{LEGACY_PREFIX}{salt}${encoded_bcrypt}"


def _legacy_verify(stored: str, password: str) -> bool:
    try:
        salt, encoded = stored[len(LEGACY_PREFIX) :].split("$", 1)
        digest = base64.b64decode(encoded, validate=True)
        material = (LEGACY_PEPPER + salt + password).encode()[:BCRYPT_MAX_BYTES]
        return bcrypt.checkpw(material, digest)
    except (ValueError, binascii.Error):
        return False


def make_legacy_hash(password: str, salt: str | None = None) -> str:
    """Hash as the Micro user service did; for tests and for tooling that imports such data."""
    salt = salt or "".join(
        secrets.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        for _ in range(16)
    )
    material = (LEGACY_PEPPER + salt + password).encode()[:BCRYPT_MAX_BYTES]
    digest = bcrypt.hashpw(material, bcrypt.gensalt(rounds=10))
    return legacy_hash(salt, base64.b64encode(digest).decode())


def is_supported_hash(stored: str) -> bool:
    return stored.startswith("$argon2id$") or stored.startswith(LEGACY_PREFIX)


class PasswordHasher:
    """argon2id with configurable parameters (OWASP defaults: 19456 KiB, t=2, p=1)."""

    def __init__(
        self, *, memory_kib: int = 19456, time_cost: int = 2, parallelism: int = 1, threads: int = 1
    ) -> None:
        self._argon2 = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="password-hash")
        # Checked against when the account does not exist, so that the answer takes as long.
        self._dummy = self._argon2.hash(secrets.token_urlsafe(16))

    def hash_sync(self, password: str) -> str:
        return self._argon2.hash(password)

    def verify_sync(self, stored: str | None, password: str) -> tuple[bool, bool]:
        """Return (matches, needs_rehash)."""
        if stored is None:
            self._check_argon2(self._dummy, password)
            return False, False
        if stored.startswith(LEGACY_PREFIX):
            return _legacy_verify(stored, password), True
        if not self._check_argon2(stored, password):
            return False, False
        return True, self._argon2.check_needs_rehash(stored)

    def _check_argon2(self, stored: str, password: str) -> bool:
        try:
            return self._argon2.verify(stored, password)
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self._timed_hash, password
        )

    async def verify(self, stored: str | None, password: str) -> tuple[bool, bool]:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self._timed_verify, stored, password
        )

    def _timed_hash(self, password: str) -> str:
        with HASH_SECONDS.labels("hash").time():
            return self.hash_sync(password)

    def _timed_verify(self, stored: str | None, password: str) -> tuple[bool, bool]:
        with HASH_SECONDS.labels("verify").time():
            return self.verify_sync(stored, password)

    def close(self) -> None:
        self._pool.shutdown(wait=False)
