"""Signing keys for access tokens, and the JWKS that lets any service check them.

Keys live in the database, so every instance signs and verifies with the same
ones. ``rotate`` makes a new key the signer; the old ones keep verifying (and
stay in the JWKS) until every token they signed has expired. Private keys are
never put in a response or a log line.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import warnings
from dataclasses import dataclass
from typing import Any

import orjson
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey, RSAKey

from micro_user.clock import Clock
from micro_user.errors import BadRequest
from micro_user.storage import auth as repo
from micro_user.storage.database import Database

# RFC 9864 prefers the name "Ed25519", but "EdDSA" is what gateways and JWT libraries know.
warnings.filterwarnings("ignore", message="EdDSA is deprecated")

ALGORITHMS = ("EdDSA", "ES256", "RS256")
_KEY_TYPES: dict[str, Any] = {"EdDSA": OKPKey, "ES256": ECKey, "RS256": RSAKey}
# Tokens are accepted up to this many seconds after a key retired, on top of their lifetime.
RETIRE_GRACE_SECONDS = 60


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
class _Loaded:
    signer: Any
    signer_kid: str
    signer_alg: str
    verifiers: dict[str, tuple[str, Any]]  # kid -> (algorithm, public key)
    jwks: dict[str, Any]


class SigningKeys:
    def __init__(self, db: Database, clock: Clock, algorithm: str, access_ttl: int) -> None:
        if algorithm not in ALGORITHMS:
            raise BadRequest(
                "settings.jwt_algorithm",
                f"unsupported algorithm {algorithm!r}: use one of {', '.join(ALGORITHMS)}",
            )
        self.db = db
        self.clock = clock
        self.algorithm = algorithm
        self.access_ttl = access_ttl
        self._loaded: _Loaded | None = None

    async def ensure(self) -> None:
        """Create the first signing key, unless one is active (safe from several instances)."""
        async with self.db.write() as conn:
            if not await repo.has_active_key(conn):
                await self._insert_new(conn)
                await repo.bump_version(conn)
        await self.load()

    async def rotate(self) -> str:
        async with self.db.write() as conn:
            await repo.retire_active_keys(conn, self.clock())
            kid = await self._insert_new(conn)
            await repo.bump_version(conn)
        await self.load()
        return kid

    async def _insert_new(self, conn: Any) -> str:
        kid = secrets.token_hex(8)
        key = _generate(self.algorithm, kid)
        await repo.insert_signing_key(
            conn,
            kid=kid,
            algorithm=self.algorithm,
            private_jwk=orjson.dumps(key.as_dict(private=True)).decode(),
            public_jwk=orjson.dumps(key.as_dict(private=False)).decode(),
            created=self.clock(),
        )
        return kid

    async def describe(self) -> list[dict[str, Any]]:
        """Every key still in use, without its private part (for operators)."""
        horizon = self.clock() - self.access_ttl - RETIRE_GRACE_SECONDS
        async with self.db.read() as conn:
            rows = await repo.signing_keys_in_use(conn, horizon)
        return [
            {"kid": r.kid, "algorithm": r.algorithm, "created": r.created, "retired": r.retired}
            for r in rows
        ]

    async def load(self) -> None:
        horizon = self.clock() - self.access_ttl - RETIRE_GRACE_SECONDS
        async with self.db.read() as conn:
            rows = await repo.signing_keys_in_use(conn, horizon)
        active = next((row for row in rows if row.retired is None), None)
        if active is None:
            raise RuntimeError(
                "no active signing key: run 'micro-user migrate' and start the service once"
            )
        verifiers: dict[str, tuple[str, Any]] = {}
        published = []
        for row in rows:
            public = orjson.loads(row.public_jwk)
            published.append(public)
            verifiers[row.kid] = (row.algorithm, _KEY_TYPES[row.algorithm].import_key(public))
        self._loaded = _Loaded(
            signer=_KEY_TYPES[active.algorithm].import_key(orjson.loads(active.private_jwk)),
            signer_kid=active.kid,
            signer_alg=active.algorithm,
            verifiers=verifiers,
            jwks={"keys": published},
        )

    @property
    def _keys(self) -> _Loaded:
        if self._loaded is None:
            raise RuntimeError("signing keys not loaded")
        return self._loaded

    def jwks(self) -> dict[str, Any]:
        return self._keys.jwks

    def sign(self, claims: dict[str, Any]) -> str:
        keys = self._keys
        header = {"alg": keys.signer_alg, "kid": keys.signer_kid, "typ": "JWT"}
        return jwt.encode(header, claims, keys.signer, algorithms=[keys.signer_alg])

    def knows(self, token: str) -> bool:
        return _header(token).get("kid") in self._keys.verifiers

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a token we signed and that has not expired; else ``InvalidToken``."""
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
        if not isinstance(expiry, int) or expiry <= self.clock():
            raise InvalidToken("token expired")
        return claims
