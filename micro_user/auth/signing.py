"""Signing keys for access tokens, and the JWKS that lets any service check them.

Keys live in the database, so every instance signs and verifies with the same
ones. ``rotate`` adds a new key to the JWKS at once and makes it the signer
``publish_seconds`` later (longer than the JWKS may be cached), so verifiers
know a key before the first token it signs; ``rotate(immediately=True)``
switches at once. Old keys keep verifying (and stay in the JWKS) until every
token they signed has expired. Private keys are never put in a response or a
log line, and are stored sealed with the key-encryption key (``key_encryption``):
``ensure`` seals any plaintext ones left from before, ``rewrap`` re-seals every one
with the current key-encryption key.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey, RSAKey

from micro_user.auth.key_encryption import KeyRing
from micro_user.clock import Clock
from micro_user.errors import BadRequest
from micro_user.storage import auth as repo
from micro_user.storage.database import Connection, Database

# RFC 9864 prefers the name "Ed25519", but "EdDSA" is what gateways and JWT libraries know.
warnings.filterwarnings("ignore", message="EdDSA is deprecated")

ALGORITHMS = ("EdDSA", "ES256", "RS256")
_KEY_TYPES: dict[str, Any] = {"EdDSA": OKPKey, "ES256": ECKey, "RS256": RSAKey}
# Tokens are accepted up to this many seconds after a key retired, on top of their lifetime.
RETIRE_GRACE_SECONDS = 60
# How long the JWKS may be cached (its Cache-Control max-age).
JWKS_MAX_AGE_SECONDS = 60


class InvalidToken(Exception):
    """A token that is malformed, forged, expired or signed by an unknown key."""


def _generate(algorithm: str, kid: str) -> Any:
    parameters: Any = {"kid": kid, "alg": algorithm, "use": "sig"}
    if algorithm == "EdDSA":
        return OKPKey.generate_key("Ed25519", parameters=parameters)
    if algorithm == "ES256":
        return ECKey.generate_key("P-256", parameters=parameters)
    if algorithm == "RS256":
        return RSAKey.generate_key(2048, parameters=parameters)
    raise BadRequest(
        "settings.jwt_algorithm",
        f"unsupported algorithm {algorithm!r}: use one of {', '.join(ALGORITHMS)}",
    )


def _header(token: str) -> dict[str, Any]:
    try:
        encoded = token.split(".", 1)[0]
        header = orjson.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        raise InvalidToken("malformed token") from None
    if not isinstance(header, dict):
        raise InvalidToken("malformed token")
    return header


@dataclass(frozen=True, slots=True)
class _Signer:
    kid: str
    algorithm: str
    key: Any
    until: int | None  # when it stops signing (None: until a rotation)


@dataclass(frozen=True, slots=True)
class _Loaded:
    signers: list[_Signer]  # by the end of their signing time; the first not ended signs
    verifiers: dict[str, tuple[str, Any]]  # kid -> (algorithm, public key)
    jwks: dict[str, Any]


class SigningKeys:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        algorithm: str,
        access_ttl: int,
        key_ring: Callable[[], KeyRing],
        *,
        publish_seconds: int = JWKS_MAX_AGE_SECONDS + 30,
    ) -> None:
        if algorithm not in ALGORITHMS:
            raise BadRequest(
                "settings.jwt_algorithm",
                f"unsupported algorithm {algorithm!r}: use one of {', '.join(ALGORITHMS)}",
            )
        self.db = db
        self.clock = clock
        self.algorithm = algorithm
        self.access_ttl = access_ttl
        self.publish_seconds = publish_seconds
        # Read when first needed: commands that never sign need no key-encryption key.
        self._make_ring = key_ring
        self._ring: KeyRing | None = None
        self._loaded: _Loaded | None = None

    @property
    def ring(self) -> KeyRing:
        if self._ring is None:
            self._ring = self._make_ring()
        return self._ring

    def check_key_ring(self) -> None:
        """Read the key-encryption key now; raises ``ServiceError`` saying what to set."""
        _ = self.ring

    async def ensure(self) -> None:
        """Seal plaintext keys, and create the first signing key unless one is active
        (safe from several instances)."""
        ring = self.ring
        async with self.db.write() as conn:
            for row in await repo.private_keys(conn, unsealed_only=True):
                await repo.store_private_key(
                    conn, row.kid, *ring.seal(row.kid, row.private_jwk.encode())
                )
            if not await repo.has_active_key(conn):
                await self._insert_new(conn)
                await repo.bump_version(conn)
        await self.load()

    async def rotate(self, *, immediately: bool = False) -> str:
        """A new key: published now, signing after ``publish_seconds`` (or now)."""
        switch = self.clock() + (0 if immediately else self.publish_seconds)
        async with self.db.write() as conn:
            await repo.retire_signing_keys(conn, switch)
            kid = await self._insert_new(conn)
            await repo.bump_version(conn)
        await self.load()
        return kid

    async def rewrap(self) -> int:
        """Seal every private key with the current key-encryption key; how many there are.
        A key sealed with a key-encryption key that is not configured stops it unchanged."""
        ring = self.ring
        async with self.db.write() as conn:
            rows = await repo.private_keys(conn)
            for row in rows:
                await repo.store_private_key(
                    conn, row.kid, *ring.seal(row.kid, self._private_json(row))
                )
        return len(rows)

    def _private_json(self, row: Any) -> bytes:
        if row.kek_id is None:  # stored before keys were sealed (until the next start)
            return str(row.private_jwk).encode()
        return self.ring.open(row.kid, row.kek_id, row.private_jwk)

    async def _insert_new(self, conn: Connection) -> str:
        kid = secrets.token_hex(8)
        key = _generate(self.algorithm, kid)
        kek_id, sealed = self.ring.seal(kid, orjson.dumps(key.as_dict(private=True)))
        await repo.insert_signing_key(
            conn,
            kid=kid,
            algorithm=self.algorithm,
            private_jwk=sealed,
            kek_id=kek_id,
            public_jwk=orjson.dumps(key.as_dict(private=False)).decode(),
            created=self.clock(),
        )
        return kid

    async def describe(self) -> list[dict[str, Any]]:
        """Every key still in use, without its private part (for operators)."""
        horizon = self.clock() - self.access_ttl - RETIRE_GRACE_SECONDS
        async with self.db.read() as conn:
            rows = await repo.signing_keys_in_use(conn, horizon)
        signer = self._signer().kid if self._loaded is not None else ""
        return [
            {
                "kid": r.kid,
                "algorithm": r.algorithm,
                "created": r.created,
                "retired": r.retired,
                "signing": r.kid == signer,
            }
            for r in rows
        ]

    async def load(self) -> None:
        horizon = self.clock() - self.access_ttl - RETIRE_GRACE_SECONDS
        async with self.db.read() as conn:
            rows = await repo.signing_keys_in_use(conn, horizon)
        if not any(row.retired is None for row in rows):
            raise RuntimeError(
                "no active signing key: run 'micro-user migrate' and start the service once"
            )
        now = self.clock()
        verifiers: dict[str, tuple[str, Any]] = {}
        published = []
        signers = []
        for row in sorted(rows, key=lambda row: (row.created, row.kid)):
            public = orjson.loads(row.public_jwk)
            published.append(public)
            verifiers[row.kid] = (row.algorithm, _KEY_TYPES[row.algorithm].import_key(public))
            if row.retired is None or row.retired > now:
                private = _KEY_TYPES[row.algorithm].import_key(
                    orjson.loads(self._private_json(row))
                )
                signers.append(_Signer(row.kid, row.algorithm, private, row.retired))
        # The key whose signing time ends first signs first; the one with no end signs last.
        signers.sort(key=lambda s: (s.until is None, s.until or 0))
        self._loaded = _Loaded(signers=signers, verifiers=verifiers, jwks={"keys": published})

    @property
    def _keys(self) -> _Loaded:
        if self._loaded is None:
            raise RuntimeError("signing keys not loaded")
        return self._loaded

    def jwks(self) -> dict[str, Any]:
        return self._keys.jwks

    def _signer(self) -> _Signer:
        now = self.clock()
        signers = self._keys.signers
        return next((s for s in signers if s.until is None or s.until > now), signers[-1])

    def current_algorithm(self) -> str:
        """The algorithm tokens are signed with now."""
        return self._signer().algorithm

    def sign(self, claims: dict[str, Any]) -> str:
        signer = self._signer()
        header = {"alg": signer.algorithm, "kid": signer.kid, "typ": "JWT"}
        return jwt.encode(header, claims, signer.key, algorithms=[signer.algorithm])

    def knows(self, token: str) -> bool:
        return _header(token).get("kid") in self._keys.verifiers

    def verify(self, token: str, *, allow_expired: bool = False) -> dict[str, Any]:
        """The claims of a token we signed and that has not expired (unless
        ``allow_expired``); else ``InvalidToken``."""
        header = _header(token)
        found = self._keys.verifiers.get(str(header.get("kid", "")))
        if found is None:
            raise InvalidToken("token signed by an unknown key")
        algorithm, key = found
        # The key decides the algorithm: a token cannot choose "none" or another family.
        if header.get("alg") != algorithm:
            raise InvalidToken("token algorithm does not match its key")
        try:
            claims = jwt.decode(token, key, algorithms=[algorithm]).claims
        except (JoseError, ValueError) as exc:
            raise InvalidToken(f"invalid token ({type(exc).__name__})") from None
        expiry = claims.get("exp")
        if not isinstance(expiry, int) or (expiry <= self.clock() and not allow_expired):
            raise InvalidToken("token expired")
        return claims
