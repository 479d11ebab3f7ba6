"""Access and refresh tokens.

Access tokens are short-lived JWTs (``iss`` the namespace's issuer URL and
``namespace`` the namespace (``auth/issuers.py``), ``sub`` the account, ``type``,
``scopes``, ``iat``, ``exp``, ``jti``, and ``sid`` when minted from a login session) that any service can check with the published
keys. Refresh tokens are opaque, stored as digests, and rotate on every use;
presenting a spent one revokes its whole family, and tokens got for a login
session end with the session. Each refresh row keeps the ``jti`` of the access
token minted with it, so that revoking a family refuses those access tokens
too; ending a session refuses its ``sid``, deleting an account its ``sub``
(``AuthState`` caches what is refused; the check is a set lookup).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache

from micro_user.auth.accounts import ServiceAccounts
from micro_user.auth.issuers import NAMESPACE_CLAIM, Issuers, namespace_of
from micro_user.auth.models import SERVICE, USER, Identity, TokenPair
from micro_user.auth.rules import ADMIN_ROLE
from micro_user.auth.signing import InvalidToken, SigningKeys
from micro_user.auth.state import AuthState
from micro_user.clock import Clock
from micro_user.crypto import digest, new_token
from micro_user.errors import BadRequest, Forbidden, NotFound, Unauthorized
from micro_user.settings import Settings
from micro_user.storage import accounts as accounts_repo
from micro_user.storage import auth as repo
from micro_user.storage.database import Connection, Database

REFRESH_PREFIX = "mur_"
_VERIFIED_LIMIT = 10_000


def looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2 and credential.startswith("eyJ")


def _may_revoke(
    client: Identity | None, namespace: str, account_type: str, account_id: str
) -> None:
    """RFC 7009 section 2.1: a client revokes the tokens issued to it; one holding admin,
    any of its namespace."""
    if client is None:
        return
    if namespace != client.namespace:
        raise Unauthorized("oauth.revoke", "the token was issued in another namespace")
    own = account_type == client.type and account_id == client.id
    if not own and ADMIN_ROLE not in client.scopes:
        raise Forbidden("oauth.revoke", "the token was not issued to this client")


@dataclass(frozen=True, slots=True)
class _Grant:
    """What a grant stored, from which its tokens are made."""

    namespace: str
    account_type: str
    account_id: str
    scopes: list[str]
    refresh: str
    now: int
    jti: str
    expiry: int
    sid: str | None
    family: str
    # The OAuth client the tokens are for, and the scopes granted to it (the code flow).
    client_id: str | None = None
    scope: str | None = None


class TokenService:
    def __init__(
        self,
        db: Database,
        signing: SigningKeys,
        accounts: ServiceAccounts,
        state: AuthState,
        issuers: Issuers,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.db = db
        self.signing = signing
        self.accounts = accounts
        self.state = state
        self.settings = settings
        self.clock = clock
        self.issuers = issuers
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
        expiry: int,
        jti: str,
        sid: str | None,
        client_id: str | None = None,
        scope: str | None = None,
    ) -> str:
        claims: dict[str, Any] = {
            "iss": self.issuers.issuer(namespace),
            NAMESPACE_CLAIM: namespace,
            "sub": account_id,
            "type": account_type,
            "scopes": scopes,
            # An OAuth client's token carries the scopes granted to it (RFC 9068 section
            # 2.2.3); any other token the roles, as Micro's did.
            "scope": " ".join(scopes) if scope is None else scope,
            "iat": now,
            "exp": expiry,
            "jti": jti,
        }
        if sid:
            claims["sid"] = sid
        if client_id:
            claims["client_id"] = client_id
        return self.signing.sign(claims)

    async def _grant(
        self,
        conn: Connection,
        namespace: str,
        account_type: str,
        account_id: str,
        *,
        session_hash: str | None = None,
        sid: str | None = None,
        family: str | None = None,
        refresh_until: int | None = None,
        lifetime: int = 0,
        client_id: str | None = None,
        scope: str | None = None,
    ) -> _Grant:
        """Store a new refresh token and read the roles, in the caller's transaction. The
        access token is signed by ``_tokens`` after the commit: signing takes longer than
        the statements, and a SQLite writer holds the write lock until it commits."""
        now = self.clock()
        scopes = await repo.roles_of(conn, namespace, account_type, account_id)
        refresh = REFRESH_PREFIX + new_token()
        jti, expiry = secrets.token_hex(16), now + self.lifetime(lifetime)
        family = family or secrets.token_hex(16)
        await repo.insert_refresh(
            conn,
            token_hash=digest(refresh),
            family=family,
            namespace=namespace,
            account_type=account_type,
            account_id=account_id,
            session_hash=session_hash,
            created=now,
            expires=min(refresh_until or 2**62, now + self.settings.refresh_token_ttl_seconds),
            sid=sid,
            access_jti=jti,
            access_expires=expiry,
            client_id=client_id,
            scope=scope,
        )
        return _Grant(
            namespace,
            account_type,
            account_id,
            scopes,
            refresh,
            now,
            jti,
            expiry,
            sid,
            family,
            client_id,
            scope,
        )

    def _tokens(self, grant: _Grant) -> TokenPair:
        access = self._access(
            grant.namespace,
            grant.account_type,
            grant.account_id,
            grant.scopes,
            grant.now,
            grant.expiry,
            grant.jti,
            grant.sid,
            grant.client_id,
            grant.scope,
        )
        return TokenPair(access, grant.refresh, grant.now, grant.expiry)

    async def client_grant(
        self,
        conn: Connection,
        namespace: str,
        account_id: str,
        *,
        session_hash: str,
        sid: str | None,
        session_expires: int,
        client_id: str,
        scope: str,
    ) -> _Grant:
        """Tokens of a user for an OAuth client (the code flow), in the caller's transaction:
        they end with the session that approved them; ``sign_grant`` signs them after the
        commit."""
        return await self._grant(
            conn,
            namespace,
            USER,
            account_id,
            session_hash=session_hash,
            sid=sid,
            refresh_until=session_expires,
            client_id=client_id,
            scope=scope,
        )

    def sign_grant(self, grant: _Grant) -> TokenPair:
        return self._tokens(grant)

    async def client_credentials(
        self, namespace: str, id: str, secret: str, *, lifetime: int = 0
    ) -> TokenPair:
        # One transaction: check the secret, read the roles, store the refresh token.
        async with self.db.write() as conn:
            await self.accounts.check_secret(conn, namespace, id, secret)
            grant = await self._grant(conn, namespace, SERVICE, id, lifetime=lifetime)
        return self._tokens(grant)

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
                conn,
                namespace,
                USER,
                account.id,
                session_hash=session_hash,
                sid=await accounts_repo.session_sid(conn, session_hash),
                refresh_until=expires,
                lifetime=lifetime,
            )
        return self._tokens(grant)

    async def refresh(
        self, refresh_token: str, *, lifetime: int = 0, client_id: str | None = None
    ) -> TokenPair:
        """Rotate a refresh token. One issued to an OAuth client (the code flow) is
        refreshed only by that client (``client_id``, authenticated by the caller), and any
        other only without one (RFC 6749 section 6)."""
        token_hash = digest(refresh_token)
        now = self.clock()
        async with self.db.write() as conn:
            row = await repo.find_refresh(conn, token_hash)
            if row is None:
                raise Unauthorized("auth.token", "unknown refresh token")
            if row.client_id != client_id:
                raise Unauthorized("auth.token", "the refresh token was issued to another client")
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
                    sid=row.sid,
                    family=row.family,
                    refresh_until=row.expires,
                    lifetime=lifetime,
                    client_id=row.client_id,
                    scope=row.scope,
                )
        if reused is None:
            return self._tokens(grant)
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
                namespace=namespace_of(claims),
                scopes=frozenset(str(s) for s in claims.get("scopes", []) if isinstance(s, str)),
                via="token",
            )
            if not identity.id or not identity.namespace:
                raise InvalidToken("token without subject or issuer")
            cached = self._verified[token] = (identity, claims)
        if self.state.refuses(cached[1]):
            raise InvalidToken("token revoked")
        return cached

    async def revoke(self, token: str, client: Identity | None = None) -> None:
        """RFC 7009: a refresh token ends with its family (and the access tokens it minted);
        an access token is refused everywhere until it expires. Unknown tokens are ignored,
        as the RFC says. With ``client`` (the OAuth endpoint), only a token of the client's
        namespace (else ``Unauthorized``) and issued to it unless it holds admin (else
        ``Forbidden``)."""
        now = self.clock()
        async with self.db.write() as conn:
            if looks_like_jwt(token):
                try:
                    claims = self.signing.verify(token)
                except InvalidToken:
                    return
                namespace = namespace_of(claims)
                _may_revoke(client, namespace, str(claims.get("type", "")), str(claims.get("sub")))
                await repo.revoke_jti(
                    conn, namespace, str(claims.get("jti", "")), int(claims["exp"])
                )
                await repo.bump_version(conn)
            else:
                row = await repo.find_refresh(conn, digest(token))
                if row is None:
                    return
                _may_revoke(client, row.namespace, row.account_type, row.account_id)
                await repo.revoke_family(conn, row.family, now)
        await self.state.refresh()

    async def introspect(self, token: str, namespace: str | None = None) -> dict[str, Any]:
        """RFC 7662: ``{"active": false}`` for anything not valid now, or (with
        ``namespace``, the client's) issued in another namespace."""
        if looks_like_jwt(token):
            try:
                identity, claims = self.checked(token)
            except InvalidToken:
                return {"active": False}
            if namespace is not None and identity.namespace != namespace:
                return {"active": False}
            return {
                "active": True,
                "token_type": "access_token",
                "sub": identity.id,
                "iss": self.issuers.issuer(identity.namespace),
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
            or (namespace is not None and row.namespace != namespace)
        ):
            return {"active": False}
        return {
            "active": True,
            "token_type": "refresh_token",
            "sub": row.account_id,
            "iss": self.issuers.issuer(row.namespace),
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
