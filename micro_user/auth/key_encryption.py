"""The key-encryption key (KEK): private signing keys are stored sealed with it.

A copy of the database (a backup, a dump, a read-only SQL injection) then holds no key
that can sign a token. The KEK lives outside the database: the setting
``MICRO_USER_KEY_ENCRYPTION_KEY`` or the file ``MICRO_USER_KEY_ENCRYPTION_KEY_FILE``,
each holding base64 of 32 random bytes. Several keys may be given (separated by commas
or whitespace): the first seals, every one opens, so a KEK is rotated by putting the new
one first, restarting, and running ``micro-user keys rewrap``. Each sealed key is stored
with the id of the KEK that sealed it (a digest of the KEK, not the KEK).

On SQLite with neither set, a KEK is made at first start in a file next to the database
(0600), so a first ``micro-user serve`` just works; PostgreSQL instances must share one,
so there it has to be configured.

Sealing is AES-256-GCM with a random 96-bit nonce; the signing key's id is the associated
data, so a sealed key copied to another row does not open.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import re
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from micro_user.crypto import check_secret_strength
from micro_user.errors import ServiceError
from micro_user.settings import Settings
from micro_user.storage.database import is_sqlite, parse_url

KEY_BYTES = 32
NONCE_BYTES = 12
# The file made next to a SQLite database when no key-encryption key is configured.
GENERATED_FILE_NAME = "key-encryption.key"
ERROR_ID = "settings.key_encryption_key"
_SEPARATORS = re.compile(r"[\s,]+")
log = logging.getLogger("micro_user.key_encryption")


def new_key() -> str:
    """A fresh key-encryption key, in the form the setting takes."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def parse_keys(text: str) -> list[bytes]:
    """The keys in a setting or file: base64 of 32 bytes each, the current one first."""
    keys = []
    for number, part in enumerate((p for p in _SEPARATORS.split(text) if p), start=1):
        try:
            key = base64.b64decode(part.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"key-encryption key {number} is not base64") from None
        if len(key) != KEY_BYTES:
            raise ValueError(
                f"key-encryption key {number} is {len(key)} bytes, not {KEY_BYTES}: "
                "make one with 'openssl rand -base64 32'"
            )
        check_secret_strength(key, f"key-encryption key {number}")
        keys.append(key)
    if not keys:
        raise ValueError("no key-encryption key given: make one with 'openssl rand -base64 32'")
    return keys


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"micro-user key-encryption key\x00" + key).hexdigest()[:16]


class KeyRing:
    """The configured key-encryption keys: the first seals, any of them opens."""

    def __init__(self, keys: list[bytes]) -> None:
        self._ciphers = {key_id(key): AESGCM(key) for key in keys}
        self.current = key_id(keys[0])

    def seal(self, kid: str, plaintext: bytes) -> tuple[str, str]:
        """(id of the sealing KEK, base64 of nonce and ciphertext) for signing key ``kid``."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._ciphers[self.current].encrypt(nonce, plaintext, _associated(kid))
        return self.current, base64.b64encode(nonce + sealed).decode()

    def open(self, kid: str, kek_id: str, sealed: str) -> bytes:
        cipher = self._ciphers.get(kek_id)
        if cipher is None:
            raise ServiceError(
                ERROR_ID,
                f"signing key {kid} is sealed with key-encryption key {kek_id}, which is not "
                f"configured (configured: {', '.join(self._ciphers)}): set "
                "MICRO_USER_KEY_ENCRYPTION_KEY (or _FILE) to the key used before, or list it "
                "after the new one (lost it? 'micro-user keys rotate --now' replaces the key)",
            )
        try:
            raw = base64.b64decode(sealed)
            return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _associated(kid))
        except (InvalidTag, binascii.Error, ValueError):
            raise ServiceError(
                ERROR_ID, f"signing key {kid} does not open with key-encryption key {kek_id}"
            ) from None


def _associated(kid: str) -> bytes:
    return b"micro-user signing key\x00" + kid.encode()


def load_key_ring(settings: Settings) -> KeyRing:
    """The key ring the settings name; on SQLite with none named, the generated one."""
    if settings.key_encryption_key is not None and settings.key_encryption_key_file is not None:
        raise ServiceError(
            ERROR_ID,
            "set MICRO_USER_KEY_ENCRYPTION_KEY or MICRO_USER_KEY_ENCRYPTION_KEY_FILE, not both",
        )
    if settings.key_encryption_key is not None:
        return KeyRing(parse_keys(settings.key_encryption_key.get_secret_value()))
    if settings.key_encryption_key_file is not None:
        return KeyRing(
            _read(settings.key_encryption_key_file, "MICRO_USER_KEY_ENCRYPTION_KEY_FILE")
        )
    url = parse_url(settings.resolved_database_url)
    if not is_sqlite(url):
        raise ServiceError(
            ERROR_ID,
            "MICRO_USER_KEY_ENCRYPTION_KEY (or _FILE) must be set on PostgreSQL, the same on "
            "every instance: make one with 'openssl rand -base64 32'",
        )
    if not url.database or url.database == ":memory:":
        return KeyRing([secrets.token_bytes(KEY_BYTES)])  # the keys die with the database
    path = Path(url.database).expanduser().parent / GENERATED_FILE_NAME
    if not path.exists():
        _create(path)
    return KeyRing(_read(path, "the key-encryption key file"))


def _read(path: Path, what: str) -> list[bytes]:
    try:
        return parse_keys(path.read_text())
    except OSError as exc:
        raise ServiceError(ERROR_ID, f"cannot read {what} {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ServiceError(ERROR_ID, f"{what} {path}: {exc}") from None


def _create(path: Path) -> None:
    """Write a new key readable by this user only; whoever links it first wins a race."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(new_key() + "\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return  # another process made it first: that one holds
    finally:
        temporary.unlink()
    log.warning(
        "made a key-encryption key in %s: back it up apart from the database, or set "
        "MICRO_USER_KEY_ENCRYPTION_KEY from a separate place",
        path,
    )
