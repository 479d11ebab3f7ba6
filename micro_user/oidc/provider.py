"""The OpenID Provider: what happens between an application sending its user to
``/oauth/authorize`` and it holding the user's tokens.

A request is decided against the browser's session (the same sessions as the Micro user
API: a session made by ``User.Login`` signs the browser in, and one made here is read by
``User.ReadSession``): sign in first (no session, ``prompt=login``, or older than
``max_age``), ask consent (a third-party client the user has not let have these scopes),
or answer with a code. A code is single-use, lives 60 seconds, names its client, redirect
URI and PKCE challenge (S256, required of every client), and ends with its session; a
second exchange of it revokes what the first issued (RFC 6749 section 4.1.2). The tokens it
buys end with the session too: RP-initiated logout ends them all."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from micro_user.auth.clients import Client, Clients
from micro_user.auth.issuers import Issuers
from micro_user.auth.models import USER
from micro_user.auth.signing import InvalidToken, SigningKeys
from micro_user.auth.tokens import TokenService
from micro_user.clock import Clock
from micro_user.crypto import digest
from micro_user.errors import Unauthorized
from micro_user.events import outbox
from micro_user.events.outbox import Outbox
from micro_user.oidc.claims import acr_of, half_hash, user_claims
from micro_user.oidc.requests import (
    CODE_CHALLENGE,
    AuthorizationError,
    AuthorizationRequest,
    read_request,
)
from micro_user.sessions.service import SessionService
from micro_user.storage import accounts as accounts_repo
from micro_user.storage import auth as auth_repo
from micro_user.storage import oidc as repo
from micro_user.storage.database import Database

CODE_TTL_SECONDS = 60
CODE_PREFIX = "mco_"


@dataclass(frozen=True, slots=True)
class BrowserSession:
    """The session a browser's cookie holds (the cookie holds ``id``, the secret)."""

    id: str
    namespace: str
    account_id: str
    auth_time: int
    expires: int
    amr: str
    sid: str | None

    @property
    def hash(self) -> str:
        return digest(self.id)


@dataclass(frozen=True, slots=True)
class SignIn:
    """The user must sign in (again) before the request is answered."""

    request: AuthorizationRequest


@dataclass(frozen=True, slots=True)
class AskConsent:
    """The user must let the (third-party) client have these scopes."""

    request: AuthorizationRequest
    session: BrowserSession


@dataclass(frozen=True, slots=True)
class Redirect:
    """Send the browser back to the client."""

    location: str


Decision = SignIn | AskConsent | Redirect


class GrantRefused(Exception):
    """A token request refused in RFC 6749 section 5.2's terms."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description


@dataclass(frozen=True, slots=True)
class TokenAnswer:
    access_token: str
    expires_in: int
    refresh_token: str
    id_token: str
    scope: str


def pkce_matches(verifier: str, challenge: str) -> bool:
    """RFC 7636 section 4.6, S256, compared in constant time."""
    if not CODE_CHALLENGE.match(verifier):
        return False
    computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return hmac.compare_digest(computed, challenge.encode())


class Provider:
    def __init__(
        self,
        db: Database,
        clients: Clients,
        sessions: SessionService,
        tokens: TokenService,
        signing: SigningKeys,
        issuers: Issuers,
        events: Outbox,
        clock: Clock,
    ) -> None:
        self.db = db
        self.clients = clients
        self.sessions = sessions
        self.tokens = tokens
        self.signing = signing
        self.issuers = issuers
        self.outbox = events
        self.clock = clock

    async def read_request(
        self, namespace: str, pairs: list[tuple[str, str]]
    ) -> AuthorizationRequest:
        client_id = next((value for name, value in pairs if name == "client_id"), "")
        client = await self.clients.find(namespace, client_id) if client_id else None
        return read_request(namespace, pairs, {client.id: client} if client else {})

    async def browser_session(self, namespace: str, session_id: str) -> BrowserSession | None:
        if not session_id:
            return None
        async with self.db.read() as conn:
            row = await repo.find_browser_session(conn, namespace, digest(session_id), self.clock())
        if row is None:
            return None
        return BrowserSession(
            session_id,
            namespace,
            row.account_id,
            row.created,
            row.expires,
            row.amr or "pwd",
            row.sid,
        )

    async def decide(
        self,
        request: AuthorizationRequest,
        session: BrowserSession | None,
        *,
        fresh: bool = False,
        consented: bool = False,
    ) -> Decision:
        """What the request needs next. ``fresh``: the user signed in within this request
        (which answers ``prompt=login`` and ``max_age``); ``consented``: the user just
        answered the consent page."""
        now = self.clock()
        stale = (
            request.max_age is not None
            and session is not None
            and (now - session.auth_time > request.max_age)
        )
        if session is None or (not fresh and ("login" in request.prompt or stale)):
            if "none" in request.prompt:
                raise AuthorizationError("login_required", "the user is not signed in", request)
            return SignIn(request)
        if not consented and not request.client.first_party:
            if "consent" in request.prompt or not await self._consented(request, session):
                if "none" in request.prompt:
                    raise AuthorizationError(
                        "consent_required", "the user has not let this client in", request
                    )
                return AskConsent(request, session)
        return Redirect(await self._issue_code(request, session))

    async def _consented(self, request: AuthorizationRequest, session: BrowserSession) -> bool:
        async with self.db.read() as conn:
            given = await repo.find_consent(
                conn, request.namespace, session.account_id, request.client.id
            )
        return given is not None and set(request.scopes) <= set(given.split())

    async def answer_consent(
        self, request: AuthorizationRequest, session: BrowserSession, allow: bool
    ) -> Redirect:
        """The user's answer on the consent page: remembered when it is yes."""
        if not allow:
            raise AuthorizationError("access_denied", "the user did not allow it", request)
        now = self.clock()
        async with self.db.write() as conn:
            given = await repo.find_consent(
                conn, request.namespace, session.account_id, request.client.id
            )
            scopes = sorted(set(request.scopes) | set((given or "").split()))
            await repo.save_consent(
                conn,
                request.namespace,
                session.account_id,
                request.client.id,
                " ".join(scopes),
                now,
            )
            await self.outbox.record(
                conn,
                request.namespace,
                outbox.CONSENT_GRANTED,
                now,
                account_id=session.account_id,
                payload={"client_id": request.client.id, "scope": " ".join(scopes)},
            )
        decision = await self.decide(request, session, fresh=True, consented=True)
        assert isinstance(decision, Redirect)
        return decision

    async def consents(self, namespace: str, account_id: str) -> list[tuple[str, str, int]]:
        async with self.db.read() as conn:
            return await repo.list_consents(conn, namespace, account_id)

    async def revoke_consent(self, namespace: str, account_id: str, client_id: str) -> bool:
        """Forget a consent and end the tokens the client holds for the user."""
        now = self.clock()
        async with self.db.write() as conn:
            if not await repo.delete_consent(conn, namespace, account_id, client_id):
                return False
            await auth_repo.revoke_client_families(conn, namespace, account_id, client_id, now)
            await self.outbox.record(
                conn,
                namespace,
                outbox.CONSENT_REVOKED,
                now,
                account_id=account_id,
                payload={"client_id": client_id},
            )
        await self.tokens.state.refresh()
        return True

    async def _issue_code(self, request: AuthorizationRequest, session: BrowserSession) -> str:
        code = CODE_PREFIX + secrets.token_urlsafe(32)
        now = self.clock()
        async with self.db.write() as conn:
            await repo.insert_code(
                conn,
                code_hash=digest(code),
                namespace=request.namespace,
                client_id=request.client.id,
                account_id=session.account_id,
                session_hash=session.hash,
                redirect_uri=request.redirect_uri,
                scope=" ".join(request.scopes),
                nonce=request.nonce or None,
                code_challenge=request.code_challenge,
                created=now,
                expires=now + CODE_TTL_SECONDS,
            )
        return request.respond({"code": code}, self.issuers.issuer(request.namespace))

    async def exchange(
        self, client: Client, code: str, redirect_uri: str, verifier: str
    ) -> TokenAnswer:
        """The authorization_code grant (RFC 6749 section 4.1.3) for an authenticated
        client (a public one is authenticated by the PKCE verifier alone)."""
        code_hash = digest(code)
        now = self.clock()
        async with self.db.write() as conn:
            row = await repo.find_code(conn, code_hash)
            if row is None or row.namespace != client.namespace or row.client_id != client.id:
                raise GrantRefused("invalid_grant", "unknown code, or issued to another client")
            if not await repo.spend_code(conn, code_hash, now):
                if row.used is not None and row.family:
                    # The code came back: someone holds a copy. What it bought ends.
                    await auth_repo.revoke_family(conn, row.family, now)
                found = "the code was used already or expired"
            elif row.redirect_uri != redirect_uri:
                found = "redirect_uri differs from the authorization request's"
            elif not pkce_matches(verifier, row.code_challenge):
                found = "code_verifier does not match (PKCE)"
            else:
                session = await repo.find_browser_session(
                    conn, row.namespace, row.session_hash, now
                )
                account = await accounts_repo.find_account(conn, row.namespace, id=row.account_id)
                found = "the session that approved it ended" if not (session and account) else ""
                if session is not None and account is not None:
                    grant = await self.tokens.client_grant(
                        conn,
                        row.namespace,
                        row.account_id,
                        session_hash=row.session_hash,
                        sid=session.sid,
                        session_expires=session.expires,
                        client_id=client.id,
                        scope=row.scope,
                    )
                    await repo.set_code_family(conn, code_hash, grant.family)
                    answered = (session, account)
        if found:
            # Raised after the commit: the code stays spent, and a replay's revocation holds.
            await self.tokens.state.refresh()
            raise GrantRefused("invalid_grant", found)
        session, account = answered
        pair = self.tokens.sign_grant(grant)
        scopes = row.scope.split()
        algorithm = self.signing.current_algorithm()
        claims: dict[str, Any] = {
            **user_claims(account, scopes),
            "iss": self.issuers.issuer(row.namespace),
            "aud": client.id,
            "azp": client.id,
            "iat": pair.created,
            "exp": pair.expiry,
            "auth_time": session.created,
            "amr": (amr := (session.amr or "pwd").split()),
            "acr": acr_of(amr),
            "at_hash": half_hash(pair.access_token, algorithm),
        }
        if session.sid:
            claims["sid"] = session.sid
        if row.nonce:
            claims["nonce"] = row.nonce
        return TokenAnswer(
            pair.access_token,
            pair.expiry - pair.created,
            pair.refresh_token,
            self.signing.sign(claims),
            row.scope,
        )

    async def refresh(self, client: Client, refresh_token: str) -> TokenAnswer:
        """The refresh_token grant for a client of the code flow: rotation and reuse
        detection as every refresh token has; no new ID token (OpenID Connect Core
        section 12.2 lets it be left out)."""
        try:
            pair = await self.tokens.refresh(refresh_token, client_id=client.id)
        except Unauthorized as exc:
            raise GrantRefused("invalid_grant", exc.detail) from None
        identity, claims = self.tokens.checked(pair.access_token)
        return TokenAnswer(
            pair.access_token,
            pair.expiry - pair.created,
            pair.refresh_token,
            "",
            str(claims.get("scope", "")),
        )

    async def userinfo(self, access_token: str) -> dict[str, Any]:
        """Claims about the user an access token of the code flow was issued for
        (OpenID Connect Core section 5.3); ``InvalidToken`` for any other token."""
        identity, claims = self.tokens.checked(access_token)
        scopes = str(claims.get("scope", "")).split()
        if identity.type != USER or not claims.get("client_id") or "openid" not in scopes:
            raise InvalidToken("not a token issued to an OpenID Connect client")
        async with self.db.read() as conn:
            account = await accounts_repo.find_account(conn, identity.namespace, id=identity.id)
        if account is None:
            raise InvalidToken("the account no longer exists")
        return user_claims(account, scopes)

    def id_token_claims(self, namespace: str, id_token: str) -> dict[str, Any] | None:
        """The claims of an ID token we issued in this namespace (its expiry is not held
        against it: RP-initiated logout accepts expired hints), else None."""
        try:
            claims = self.signing.verify(id_token, allow_expired=True)
        except InvalidToken:
            return None
        if claims.get("iss") != self.issuers.issuer(namespace) or "aud" not in claims:
            return None
        return claims

    async def end_session(self, session: BrowserSession) -> None:
        """End the browser's session, and with it every token bought with it."""
        await self.sessions.logout(session.namespace, session.id)
