"""The one place that decides whether a request may go on: who is asking, and do the rules allow it.

Every API endpoint of micro-user is a resource (``service:user:User.Create``,
``service:auth:Rules.Create``, ...) and is checked with the same rule
evaluation as any other service behind the gateway. A caller proves who it is
with an API key, an access token (JWT) or a login session id, sent as
``Authorization: Bearer ...`` (or ``Basic`` with the credential as password,
as the Micro gateway accepted); gateways may also send a session cookie.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from microuser.rules import Resource

from micro_user.abuse.protection import AbuseProtection, blocked, client_address
from micro_user.access.keys import KeyService
from micro_user.accounts.validation import check_namespace
from micro_user.auth.models import USER, Identity
from micro_user.auth.signing import InvalidToken
from micro_user.auth.state import AuthState
from micro_user.auth.tokens import TokenService, looks_like_jwt
from micro_user.clock import Clock
from micro_user.crypto import digest
from micro_user.errors import Forbidden, Unauthorized
from micro_user.storage import accounts as accounts_repo
from micro_user.storage import auth as auth_repo
from micro_user.storage.database import Database

ERROR_ID = "auth"


def credential_from_header(authorization: str) -> str:
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized(ERROR_ID, "malformed Basic credentials") from None
        _, _, password = decoded.partition(":")
        if password:
            return password
    raise Unauthorized(ERROR_ID, "unsupported Authorization header: use 'Bearer <credential>'")


class Guard:
    def __init__(
        self,
        db: Database,
        keys: KeyService,
        tokens: TokenService,
        state: AuthState,
        clock: Clock,
        abuse: AbuseProtection,
        default_namespace: str,
    ) -> None:
        self.db = db
        self.keys = keys
        self.tokens = tokens
        self.state = state
        self.clock = clock
        self.abuse = abuse
        self.default_namespace = default_namespace

    def namespace_of(self, identity: Identity | None, named: str = "") -> str:
        """The namespace a request acts in: its identity's; for an anonymous caller the one
        it names (``Micro-Namespace``, or an OAuth form's ``namespace``), else the default.
        (The gateway endpoint does not ask: its anonymous namespace is configured, never
        named by the client.)"""
        if identity is not None:
            return identity.namespace
        return check_namespace(named) if named else self.default_namespace

    async def identify(self, credential: str) -> Identity | None:
        """Who a credential belongs to, or None if it is no valid credential."""
        if looks_like_jwt(credential):
            try:
                return self.tokens.inspect(credential)
            except InvalidToken:
                return None
        identity = await self.keys.authenticate(credential)
        if identity is not None:
            return identity
        return await self.session_identity(credential)

    async def session_identity(self, session_id: str) -> Identity | None:
        async with self.db.read() as conn:
            found = await accounts_repo.find_session(conn, None, digest(session_id), self.clock())
            if found is None:
                return None
            account = found[2]
            scopes = await auth_repo.roles_of(conn, account.namespace, USER, account.id)
        return Identity(account.id, USER, account.namespace, frozenset(scopes), via="session")

    async def identify_throttled(
        self, credential: str, address: Callable[[], str], error_id: str = ERROR_ID
    ) -> Identity | None:
        """``identify``, for a client that may be guessing: an address over the limit of
        invalid credentials gets 429 without a look at what it sent. A valid credential
        costs one dictionary lookup (and that only while some address is blocked); only
        failures are counted, and of tokens only those we did not sign."""
        abuse = self.abuse
        if abuse.bearer_blocks:
            wait = abuse.bearer_wait(address())
            if wait:
                raise blocked(error_id, "invalid credentials from this address", wait)
        identity = await self.identify(credential)
        if identity is None and not self._signed_by_us(credential):
            await abuse.bearer_failed(error_id, address())
        return identity

    def _signed_by_us(self, credential: str) -> bool:
        """A token of one of our keys that failed (expired, revoked) is no guess: a signature
        cannot be guessed, and clients whose tokens just expired must not be throttled."""
        if not looks_like_jwt(credential):
            return False
        try:
            return self.tokens.signing.knows(credential)
        except InvalidToken:
            return False

    async def identify_header(self, authorization: str | None) -> Identity | None:
        """None without credentials; 401 for credentials that are not valid (429 for an
        address that sent too many of them)."""
        if not authorization:
            return None
        identity = await self.identify_throttled(
            credential_from_header(authorization), client_address.get
        )
        if identity is None:
            raise Unauthorized(ERROR_ID, "invalid, expired or revoked credentials")
        return identity

    def allows(self, identity: Identity | None, namespace: str, resource: Resource) -> bool:
        subject = identity.subject if identity is not None else None
        return bool(self.state.ruleset(namespace).allows(subject, resource))

    def check(
        self, identity: Identity | None, namespace: str, resource: Resource, *, own: bool = False
    ) -> None:
        """Raise 401 (no credentials) or 403 unless the rules allow it, or it is the
        caller's own account (``own``) and the caller is that user."""
        if own or self.allows(identity, namespace, resource):
            return
        if identity is None:
            raise Unauthorized(
                ERROR_ID, "missing credentials: send 'Authorization: Bearer <api key or token>'"
            )
        raise Forbidden(ERROR_ID, f"{resource} is not allowed for this account")
