"""Login sessions: made by Login and VerifyToken, checked by ReadSession, ended by Logout.

A session id is 256 random bits; only its SHA-256 is stored, so a copy of the
database holds no usable session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.exc import IntegrityError

from micro_user.abuse.protection import AbuseProtection
from micro_user.accounts import validation as v
from micro_user.accounts.models import Account, Session
from micro_user.accounts.passwords import PasswordHasher
from micro_user.clock import Clock
from micro_user.crypto import digest, new_token
from micro_user.errors import BadRequest, NotFound, TooManyRequests, Unauthorized
from micro_user.events import outbox
from micro_user.events.outbox import Outbox
from micro_user.factors.service import (
    Factors,
    SecondFactorRequired,
    second_factor_setup_required,
)
from micro_user.observability import LOGINS
from micro_user.settings import Settings
from micro_user.storage import accounts as repo
from micro_user.storage import tokens as tokens_repo
from micro_user.storage.database import Connection, Database

INVALID_CREDENTIALS = "invalid credentials"
# A password checked, waiting for its account's second factor (the hosted pages).
SECOND_FACTOR = "second_factor"
SECOND_FACTOR_SECONDS = 300
SIGN_IN_EXPIRED = "this sign-in has expired: start again"


class SessionService:
    def __init__(
        self,
        db: Database,
        hasher: PasswordHasher,
        settings: Settings,
        clock: Clock,
        abuse: AbuseProtection,
        outbox: Outbox,
        factors: Factors,
    ) -> None:
        self.factors = factors
        self.db = db
        self.outbox = outbox
        self.abuse = abuse
        self.hasher = hasher
        self.settings = settings
        self.clock = clock

    async def login(
        self,
        namespace: str,
        *,
        username: str = "",
        email: str = "",
        password: str,
        factor_code: str = "",
    ) -> Session:
        """Check the password (and the second factor of an account that has one: without
        ``factor_code``, ``SecondFactorRequired``), then start a session."""
        account, stored, needs_rehash = await self.authenticate(
            namespace, username=username, email=email, password=password
        )
        amr = "pwd"
        if await self.factors.required(namespace, account.id):
            if not factor_code:
                raise SecondFactorRequired()
            amr = f"pwd {await self.factors.check(account, factor_code, 'user.login')} mfa"
        elif await self.factors.must_have(namespace, account.id):
            raise second_factor_setup_required()
        return await self.start(account, amr, rehash=(stored, password) if needs_rehash else None)

    async def start(
        self, account: Account, amr: str, *, rehash: tuple[str | None, str] | None = None
    ) -> Session:
        """A session for an account whose sign-in was checked (``rehash``: the stored hash
        and the password, when the hash must be renewed)."""
        new_hash = await self.hasher.hash(rehash[1]) if rehash else None
        try:
            async with self.db.write() as conn:
                if new_hash is not None and rehash is not None:
                    await repo.set_password_hash(
                        conn, account.namespace, account.id, new_hash, only_if=rehash[0]
                    )
                return await self._start(conn, account, amr)
        except IntegrityError:
            # The account was deleted while the sign-in was being checked.
            raise Unauthorized("user.login", INVALID_CREDENTIALS) from None

    async def begin_second_factor(self, account: Account, first: str = "pwd") -> str:
        """After the first step of signing in to an account with a second factor (the hosted
        pages; ``first``: its amr, "pwd" for the password, "fed" for an external provider):
        a token, good for ``SECOND_FACTOR_SECONDS``, that stands for the first step until
        the code comes (stored as its digest)."""
        pending = new_token()
        now = self.clock()
        async with self.db.write() as conn:
            await tokens_repo.insert_token(
                conn,
                token_hash=digest(pending),
                purpose=SECOND_FACTOR,
                namespace=account.namespace,
                account_id=account.id,
                email=account.email,
                created=now,
                expires=now + SECOND_FACTOR_SECONDS,
                # A pending sign-in redirects nowhere: the column keeps the first step's amr.
                redirect_url=first,
                failure_redirect_url="",
            )
        return pending

    async def finish_second_factor(self, namespace: str, pending: str, code: str) -> Session:
        """The session of a sign-in begun with ``begin_second_factor``, once its code is
        right (a wrong one counts against the account); the token works once."""
        return await self.finish_second_step(
            namespace, pending, lambda account: self.factors.check(account, code, "user.login")
        )

    async def finish_second_step(
        self, namespace: str, pending: str, check: Callable[[Account], Awaitable[str]]
    ) -> Session:
        """The session of a sign-in begun with ``begin_second_factor``, once ``check``
        passes (it answers the second factor's amr: a code's, or a passkey's)."""
        account, first = await self._pending(namespace, pending)
        amr = await check(account)
        await self._spend_pending(pending)
        return await self.start(account, f"{first} {amr} mfa")

    async def finish_with_new_factor(
        self, namespace: str, pending: str, code: str
    ) -> tuple[Session, list[str]]:
        """A sign-in begun with ``begin_second_factor`` for an account the namespace's
        policy requires a second factor of, once the authenticator it set up gives its
        first code: the session and the new recovery codes."""
        account, first = await self._pending(namespace, pending)
        codes = await self.factors.confirm_totp(account, code)
        await self._spend_pending(pending)
        return await self.start(account, f"{first} otp mfa"), codes

    async def pending_account(self, namespace: str, pending: str) -> Account:
        """The account whose first step a live ``begin_second_factor`` token stands for."""
        return (await self._pending(namespace, pending))[0]

    async def _pending(self, namespace: str, pending: str) -> tuple[Account, str]:
        now = self.clock()
        async with self.db.read() as conn:
            row = await tokens_repo.find_token(conn, digest(pending), SECOND_FACTOR)
            account = (
                await repo.find_account(conn, namespace, id=row.account_id)
                if row is not None
                and row.namespace == namespace
                and row.expires > now
                and row.used_at is None
                else None
            )
        if account is None or row is None:
            raise Unauthorized("user.login", SIGN_IN_EXPIRED)
        return account, row.redirect_url or "pwd"

    async def _spend_pending(self, pending: str) -> None:
        async with self.db.write() as conn:
            if not await tokens_repo.consume_token(
                conn, digest(pending), SECOND_FACTOR, self.clock()
            ):
                raise Unauthorized("user.login", SIGN_IN_EXPIRED)

    async def confirm_password(self, account: Account, password: str, error_id: str) -> None:
        """Step-up: the signed-in user types the password again before a sensitive change
        (adding a second factor); throttled like Login, on the same lock."""
        async with self.db.read() as conn:
            found = await repo.find_credentials(conn, account.namespace, id=account.id)
        stored = found[1] if found else None
        subject = self.abuse.account_subject(account.id, "", "")
        had_failures = await self.abuse.before_secret_check(error_id, account.namespace, subject)
        ok, _ = await self.hasher.verify(stored, password)
        await self.abuse.after_secret_check(error_id, account.namespace, subject, ok, had_failures)
        if not ok:
            raise Unauthorized(error_id, "the password is not the account's password")

    async def authenticate(
        self, namespace: str, *, username: str = "", email: str = "", password: str
    ) -> tuple[Account, str | None, bool]:
        """The account whose password this is (with its stored hash, and whether the hash
        must be renewed); ``Unauthorized`` otherwise, throttled and timed alike for unknown
        and known names."""
        error_id = "user.login"
        username, email = v.lookup_username(username), v.lookup_email(email)
        if not username and not email:
            raise BadRequest(error_id, "give username or email")
        if len(password) > self.settings.password_max_length:
            raise BadRequest(
                error_id, f"password must be at most {self.settings.password_max_length} characters"
            )
        key = {"email": email} if email else {"username": username}
        async with self.db.read() as conn:
            found = await repo.find_credentials(conn, namespace, **key)
        # Failures count against the account, whichever of its names was given; an unknown
        # name counts as itself, and is throttled exactly like a known one.
        subject = self.abuse.account_subject(found[0].id if found else None, username, email)
        try:
            had_failures = await self.abuse.before_secret_check(error_id, namespace, subject)
        except TooManyRequests:
            LOGINS.labels("limited").inc()
            raise
        # An unknown account costs one hash too, so the answer neither differs nor comes faster.
        stored = found[1] if found else None
        ok, needs_rehash = await self.hasher.verify(stored, password)
        # Given both, the username must belong to the account the email names.
        ok = ok and found is not None and not (email and username and found[0].username != username)
        await self.abuse.after_secret_check(error_id, namespace, subject, ok, had_failures)
        LOGINS.labels("success" if ok else "failure").inc()
        if not ok or found is None:
            raise Unauthorized(error_id, INVALID_CREDENTIALS)
        return found[0], stored, needs_rehash

    async def _start(self, conn: Connection, account: Account, amr: str = "pwd") -> Session:
        now = self.clock()
        session = Session(
            id=new_token(),
            namespace=account.namespace,
            account_id=account.id,
            created=now,
            expires=now + self.settings.session_ttl_seconds,
            amr=amr,
        )
        session_hash = digest(session.id)
        await repo.insert_session(conn, session_hash, session)
        await self.outbox.record(
            conn,
            account.namespace,
            outbox.SESSION_CREATED,
            now,
            account_id=account.id,
            payload={"session": session_hash[:16], "expires": session.expires},
        )
        return session

    async def start_for(self, conn: Connection, account: Account, amr: str) -> Session:
        """A new session inside a caller's transaction (magic links: ``amr`` "otp")."""
        return await self._start(conn, account, amr)

    async def read(self, namespace: str, session_id: str) -> tuple[Session, Account]:
        if not session_id:
            raise BadRequest("user.readsession", "session_id is required")
        async with self.db.read() as conn:
            found = await repo.find_session(conn, namespace, digest(session_id), self.clock())
        if found is None:
            raise Unauthorized("user.readsession", "session not found, expired or ended")
        created, expires, account = found
        return Session(session_id, namespace, account.id, created, expires), account

    async def logout(self, namespace: str, session_id: str) -> None:
        if not session_id:
            raise BadRequest("user.logout", "session_id is required")
        session_hash = digest(session_id)
        async with self.db.write() as conn:
            account_id = await repo.delete_session(conn, namespace, session_hash, self.clock())
            if account_id is None:
                raise NotFound("user.logout", "session not found, expired or already ended")
            await self._ended(conn, namespace, account_id, "logout", session_hash[:16])

    async def logout_all(self, namespace: str, user_id: str) -> int:
        if not user_id.strip():
            raise BadRequest("user.logoutall", "user_id is required")
        async with self.db.write() as conn:
            if await repo.find_account(conn, namespace, id=user_id.strip()) is None:
                raise NotFound("user.logoutall", "account not found")
            ended = await repo.delete_sessions_of(conn, namespace, user_id.strip())
            await self._ended(conn, namespace, user_id.strip(), "logout_all", count=ended)
            return ended

    async def _ended(
        self,
        conn: Connection,
        namespace: str,
        account_id: str,
        reason: str,
        session: str = "",
        count: int = 1,
    ) -> None:
        payload: dict[str, object] = {"reason": reason, "count": count}
        if session:
            payload["session"] = session
        await self.outbox.record(
            conn,
            namespace,
            outbox.SESSION_ENDED,
            self.clock(),
            account_id=account_id,
            payload=payload,
        )

    async def list(
        self, namespace: str, account_id: str | None = None
    ) -> list[tuple[str, str, int, int]]:
        async with self.db.read() as conn:
            return await repo.list_sessions(conn, namespace, account_id, self.clock())

    async def revoke(self, namespace: str, handle: str) -> int:
        """End sessions by the handle ``session list`` shows (a prefix of the stored hash)
        or by the session id itself."""
        handle = handle.strip()
        if len(handle) < 8:
            raise BadRequest("session.revoke", "give at least 8 characters of the session handle")
        prefix = (
            handle.lower()
            if all(c in "0123456789abcdef" for c in handle.lower())
            else digest(handle)
        )
        async with self.db.write() as conn:
            owners = await repo.revoke_sessions_by_prefix(conn, namespace, prefix)
            if not owners and prefix != digest(handle):
                owners = await repo.revoke_sessions_by_prefix(conn, namespace, digest(handle))
            for account_id in owners:
                await self._ended(conn, namespace, account_id, "revoked", prefix[:16])
        if not owners:
            raise NotFound("session.revoke", "no live session matches that handle")
        return len(owners)

    async def delete_expired(self) -> int:
        async with self.db.write() as conn:
            return await repo.delete_expired_sessions(conn, self.clock())
