"""Access and refresh tokens.

Access tokens are short-lived JWTs (``iss`` the namespace, ``sub`` the
account, ``type``, ``scopes``, ``iat``, ``exp``, ``jti``) that any service can
check with the published keys. Refresh tokens are opaque, stored as digests,
and rotate on every use; presenting a spent one revokes its whole family, and
tokens got for a login session end with the session.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache

from micro_user.auth.accounts import ServiceAccounts
from micro_user.auth.models import SERVICE, USER, Identity, TokenPair
from micro_user.auth.signing import InvalidToken, SigningKeys
from micro_user.auth.state import AuthState
from micro_user.clock import Clock
from micro_user.crypto import digest, new_token
from micro_user.errors import BadRequest, NotFound, Unauthorized
from micro_user.settings import Settings
from micro_user.storage import accounts as accounts_repo
from micro_user.storage import auth as repo
from micro_user.storage.database import Connection, Database

REFRESH_PREFIX = "mur_"
_VERIFIED_LIMIT = 10_000


def looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2 and credential.startswith("eyJ")


@dataclass(frozen=True, slots=True)
class _Grant:
    """What a grant stored, from which its tokens are made."""

    namespace: str
    account_type: str
    account_id: str
    scopes: list[str]
    refresh: str
    now: int


class TokenService:
    def __init__(
        self,
        db: Database,
        signing: SigningKeys,
        accounts: ServiceAccounts,
        state: AuthState,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.db = db
        self.signing = signing
        self.accounts = accounts
        self.state = state
        self.settings = settings
        self.clock = clock
        # Tokens already checked: the signature of a token never changes, only its
        # revocation (checked on every use) and its expiry (kept with it).
        self._verified: LRUCache[str, tuple[Identity, dict[str, Any]]] = LRUCache(_VERIFIED_LIMIT)

    def lifetime(self, asked: int = 0) -> int:
        """Seconds an access token lives: as asked (Auth.Token's ``token_expiry``), never
        longer than ``access_token_ttl_seconds``; 0 asks for that default."""
        if asked < 0:
            raise BadRequest("auth.token", "token_expiry must be 0 (the default) or positive")
        default = self.settings.access_token_ttl_seconds
        return min(asked, default) if asked else default

    def _access(
        self,
        namespace: str,
        account_type: str,
        account_id: str,
        scopes: list[str],
        now: int,
        lifetime: int = 0,
    ) -> tuple[str, int]:
        expiry = now + (lifetime or self.settings.access_token_ttl_seconds)
        claims = {
            "iss": namespace,
            "sub": account_id,
            "type": account_type,
            "scopes": scopes,
            "scope": " ".join(scopes),
            "iat": now,
            "exp": expiry,
            "jti": secrets.token_hex(16),
        }
        return self.signing.sign(claims), expiry

    async def _grant(
        self,
        conn: Connection,
        namespace: str,
        account_type: str,
        account_id: str,
        *,
        session_hash: str | None = None,
        family: str | None = None,
        refresh_until: int | None = None,
    ) -> _Grant:
        """Store a new refresh token and read the roles, in the caller's transaction. The
        access token is signed by ``_tokens`` after the commit: signing takes longer than
        the statements, and a SQLite writer holds the write lock until it commits."""
        now = self.clock()
        scopes = await repo.roles_of(conn, namespace, account_type, account_id)
        refresh = REFRESH_PREFIX + new_token()
        await repo.insert_refresh(
            conn,
            token_hash=digest(refresh),
            family=family or secrets.token_hex(16),
            namespace=namespace,
            account_type=account_type,
            account_id=account_id,
            session_hash=session_hash,
            created=now,
            expires=min(refresh_until or 2**62, now + self.settings.refresh_token_ttl_seconds),
        )
        return _Grant(namespace, account_type, account_id, scopes, refresh, now)

    def _tokens(self, grant: _Grant, lifetime: int = 0) -> TokenPair:
        access, expiry = self._access(
            grant.namespace,
            grant.account_type,
            grant.account_id,
            grant.scopes,
            grant.now,
            self.lifetime(lifetime),
        )
        return TokenPair(access, grant.refresh, grant.now, expiry)

    async def client_credentials(
        self, namespace: str, id: str, secret: str, *, lifetime: int = 0
    ) -> TokenPair:
        # One transaction: check the secret, read the roles, store the refresh token.
        async with self.db.write() as conn:
            await self.accounts.check_secret(conn, namespace, id, secret)
            grant = await self._grant(conn, namespace, SERVICE, id)
        return self._tokens(grant, lifetime)

    async def issue(self, namespace: str, account_type: str, account_id: str) -> TokenPair:
        """Tokens for an account, on an operator's word (the CLI): no secret is asked."""
        async with self.db.write() as conn:
            if account_type == SERVICE:
                found = await repo.find_account(conn, namespace, account_id) is not None
            elif account_type == USER:
                found = await accounts_repo.find_account(conn, namespace, id=account_id) is not None
            else:
                raise BadRequest("auth.token", "tokens are issued to user or service accounts")
            if not found:
                raise NotFound("auth.token", f"no {account_type} account {account_id!r}")
            grant = await self._grant(conn, namespace, account_type, account_id)
        return self._tokens(grant)

    async def from_session(
        self, namespace: str, session_id: str, *, lifetime: int = 0
    ) -> TokenPair:
        """Exchange a live login session for tokens that end when it ends."""
        session_hash = digest(session_id)
        async with self.db.write() as conn:
            found = await accounts_repo.find_session(conn, namespace, session_hash, self.clock())
            if found is None:
                raise Unauthorized("auth.token", "session not found, expired or ended")
            _, expires, account = found
            grant = await self._grant(
                conn, namespace, USER, account.id, session_hash=session_hash, refresh_until=expires
            )
        return self._tokens(grant, lifetime)

    async def refresh(self, refresh_token: str, *, lifetime: int = 0) -> TokenPair:
        token_hash = digest(refresh_token)
        now = self.clock()
        async with self.db.write() as conn:
            row = await repo.find_refresh(conn, token_hash)
            if row is None:
                raise Unauthorized("auth.token", "unknown refresh token")
            if not await repo.spend_refresh(conn, token_hash, now):
                if row.used is not None and row.revoked is None:
                    # A spent token came back: someone holds a copy. End the whole family.
                    await repo.revoke_family(conn, row.family, now)
                    reused = True
                else:
                    reused = False
            else:
                reused = None
            if reused is None:
                grant = await self._grant(
                    conn,
                    row.namespace,
                    row.account_type,
                    row.account_id,
                    session_hash=row.session_hash,
                    family=row.family,
                    refresh_until=row.expires,
                )
        if reused is None:
            return self._tokens(grant, lifetime)
        # Outside the transaction, so that the family's revocation is committed.
        detail = (
            "refresh token reused: every token of its family is revoked"
            if reused
            else "refresh token expired or revoked"
        )
        raise Unauthorized("auth.token", detail)

    def inspect(self, token: str) -> Identity:
        """The identity an access token carries; ``InvalidToken`` if it is not valid now."""
        return self.checked(token)[0]

    def checked(self, token: str) -> tuple[Identity, dict[str, Any]]:
        """The identity and claims of a valid access token (verified once, then remembered
        until it expires; its revocation is looked at every time)."""
        cached = self._verified.get(token)
        if cached is None or int(cached[1]["exp"]) <= self.clock():
            claims = self.signing.verify(token)
            identity = Identity(
                id=str(claims.get("sub", "")),
                type=str(claims.get("type", "")),
                namespace=str(claims.get("iss", "")),
                scopes=frozenset(str(s) for s in claims.get("scopes", []) if isinstance(s, str)),
                via="token",
            )
            if not identity.id or not identity.namespace:
                raise InvalidToken("token without subject or issuer")
            cached = self._verified[token] = (identity, claims)
        if str(cached[1].get("jti", "")) in self.state.revoked:
            raise InvalidToken("token revoked")
        return cached

    async def revoke(self, token: str) -> None:
        """RFC 7009: a refresh token ends with its family; an access token is refused
        everywhere until it expires. Unknown tokens are ignored, as the RFC says."""
        now = self.clock()
        async with self.db.write() as conn:
            if looks_like_jwt(token):
                try:
                    claims = self.signing.verify(token)
                except InvalidToken:
                    return
                await repo.revoke_jti(conn, str(claims.get("jti", "")), int(claims["exp"]))
            else:
                row = await repo.find_refresh(conn, digest(token))
                if row is None:
                    return
                await repo.revoke_family(conn, row.family, now)
            await repo.bump_version(conn)
        await self.state.refresh()

    async def introspect(self, token: str) -> dict[str, Any]:
        """RFC 7662: ``{"active": false}`` for anything not valid now."""
        if looks_like_jwt(token):
            try:
                identity, claims = self.checked(token)
            except InvalidToken:
                return {"active": False}
            return {
                "active": True,
                "token_type": "access_token",
                "sub": identity.id,
                "iss": identity.namespace,
                "scope": " ".join(sorted(identity.scopes)),
                "exp": claims["exp"],
                "iat": claims.get("iat"),
                "jti": claims.get("jti"),
                "account_type": identity.type,
            }
        async with self.db.read() as conn:
            row = await repo.find_refresh(conn, digest(token))
        if (
            row is None
            or row.used is not None
            or row.revoked is not None
            or row.expires <= self.clock()
        ):
            return {"active": False}
        return {
            "active": True,
            "token_type": "refresh_token",
            "sub": row.account_id,
            "iss": row.namespace,
            "exp": row.expires,
            "iat": row.created,
            "account_type": row.account_type,
        }

    def check_grant_request(
        self, *, id: str, secret: str, refresh_token: str, session_id: str
    ) -> str:
        given = [
            name
            for name, value in (
                ("id and secret", id or secret),
                ("refresh_token", refresh_token),
                ("session_id", session_id),
            )
            if value
        ]
        if len(given) != 1:
            raise BadRequest(
                "auth.token", "give exactly one of: id and secret, refresh_token, or session_id"
            )
        return given[0]
