"""The three mailed flows: email verification, password reset, magic link.

Every token or code is random, stored only as a digest, expires, and works
once. Asking for a mail about an unknown address answers exactly as for a
known one, in status, body and time, and sends nothing, so the API cannot be
used to find accounts: every field is checked before the address is looked
up, mail goes out from a queue (``queue.py``) so no answer waits for SMTP,
and the unknown address runs the same statements as the known one.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

from sqlalchemy.exc import IntegrityError

from micro_user.accounts import validation as v
from micro_user.accounts.models import Account, Session
from micro_user.accounts.passwords import PasswordHasher
from micro_user.auth.models import USER
from micro_user.clock import Clock
from micro_user.crypto import digest, new_code, new_token
from micro_user.email.queue import MailQueue
from micro_user.email.senders import Mail
from micro_user.errors import BadRequest, NotFound
from micro_user.events import outbox
from micro_user.events.outbox import Outbox
from micro_user.sessions.service import SessionService
from micro_user.settings import Settings
from micro_user.storage import accounts as accounts_repo
from micro_user.storage import auth as auth_repo
from micro_user.storage import federation as federation_repo
from micro_user.storage import tokens as repo
from micro_user.storage.database import Connection, Database
from micro_user.urls import split_url

VERIFY, RESET, MAGIC = "verify", "reset", "magic"
# A mailed link that proves an address before an external identity is linked to its account.
IDENTITY_LINK = "identity_link"
LINK_PLACEHOLDER = "$micro_verification_link"
CODE_PLACEHOLDER = "$code"
RESET_DEFAULT_SECONDS = 1800
RESET_MAX_SECONDS = 7 * 24 * 3600
SUBJECT_MAX = 256
FROM_NAME_MAX = 128
TEXT_MAX = 32 * 1024
# Expired tokens are kept this long, so that a late click still redirects to its failure page.
STALE_GRACE_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class VerificationOutcome:
    ok: bool
    redirect_url: str


def _has_control(value: str) -> bool:
    """Control characters and Unicode line or paragraph separators."""
    return any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in value)


def _check_mail_text(
    subject: str, text: str, from_name: str, placeholder: str, error_id: str
) -> None:
    if len(subject) > SUBJECT_MAX:
        raise BadRequest(error_id, f"subject is longer than {SUBJECT_MAX} characters")
    if len(from_name) > FROM_NAME_MAX:
        raise BadRequest(error_id, f"from_name is longer than {FROM_NAME_MAX} characters")
    # A line break in a header would start a header of the caller's choosing.
    for field, value in (("subject", subject), ("from_name", from_name)):
        if _has_control(value):
            raise BadRequest(
                error_id, f"{field} must not contain line breaks or control characters"
            )
    if len(text) > TEXT_MAX:
        raise BadRequest(error_id, f"text_content is longer than {TEXT_MAX} characters")
    if placeholder not in text:
        raise BadRequest(error_id, f"text_content must contain {placeholder}")


LINK_HOSTS_HINT = "MICRO_USER_LINK_HOSTS (by default the host of MICRO_USER_PUBLIC_URL)"


def _check_redirect(value: str, field: str, hosts: frozenset[str], error_id: str) -> str:
    """A path on this server, or an absolute http(s) URL on an allowed host."""
    if not value:
        return ""
    parts = split_url(value) or urlsplit("invalid:")
    plain = "\\" not in value and not _has_control(value) and not any(c.isspace() for c in value)
    if plain and not parts.scheme and not parts.netloc and value.startswith("/"):
        return value  # a path: stays on the server that answers VerifyEmail
    if (
        not plain
        or parts.scheme not in ("http", "https")
        or "@" in parts.netloc
        or (parts.hostname or "").rstrip(".") not in hosts
    ):
        raise BadRequest(
            error_id,
            f"{field} must be a path on this server, or an http or https URL on a host "
            f"listed in {LINK_HOSTS_HINT}",
        )
    return value


def _link_base(address: str, settings: Settings, error_id: str) -> str:
    """``scheme://host[:port]`` for a magic link: an allowed host, over https (or over the
    public URL's scheme when the link points at the public URL's own host and port)."""
    address = address.strip().strip("/").lower()
    public = urlsplit(settings.public_url)
    parts = split_url(f"https://{address}")
    ok = all(c.isalnum() or c in ".-:[]" for c in address) and address.isascii()
    if not address or not ok or parts is None or parts.netloc != address:
        raise BadRequest(error_id, "address must be a host name, e.g. 'example.com'")
    if (parts.hostname or "").rstrip(".") not in settings.allowed_link_hosts:
        raise BadRequest(error_id, f"address must be a host listed in {LINK_HOSTS_HINT}")
    scheme = public.scheme if address == public.netloc.lower() else "https"
    return f"{scheme}://{address}"


def reset_code_digest(namespace: str, account_id: str, code: str) -> str:
    # Codes are short enough to type, so the digest binds them to one account.
    return digest(f"{namespace}\x00{account_id}\x00{code.strip().upper()}")


class EmailFlows:
    def __init__(
        self,
        db: Database,
        queue: MailQueue,
        sessions: SessionService,
        hasher: PasswordHasher,
        settings: Settings,
        clock: Clock,
        outbox: Outbox,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.queue = queue
        self.sessions = sessions
        self.hasher = hasher
        self.settings = settings
        self.clock = clock

    async def _account_by_email(self, namespace: str, email: str, error_id: str) -> Account | None:
        email = v.normalize_email(email, check_id=error_id)
        async with self.db.read() as conn:
            return await accounts_repo.find_account(conn, namespace, email=email)

    async def _issue_and_mail(
        self,
        namespace: str,
        account: Account | None,
        purpose: str,
        token_hash: str,
        ttl: int,
        mail: tuple[str, str, str],
        **extra: str,
    ) -> None:
        """Store the token and queue its mail, ``(subject, text, from_name)``, in one
        transaction. For an unknown address
        (``account`` None) a mail row is written and taken back in the same transaction:
        the same work and time, and nothing is sent."""
        now = self.clock()
        async with self.db.write() as conn:
            if account is not None:
                await repo.insert_token(
                    conn,
                    token_hash=token_hash,
                    purpose=purpose,
                    namespace=namespace,
                    account_id=account.id,
                    email=account.email,
                    created=now,
                    expires=now + ttl,
                    redirect_url=extra.get("redirect_url", ""),
                    failure_redirect_url=extra.get("failure_redirect_url", ""),
                )
            to = account.email if account is not None else ""
            mail_id = await self.queue.enqueue(conn, namespace, Mail(to, *mail), expires=now + ttl)
            if account is None:
                await self.queue.withdraw(conn, mail_id)

    # Email verification -------------------------------------------------

    async def send_verification_email(
        self,
        namespace: str,
        *,
        email: str,
        subject: str,
        text_content: str,
        redirect_url: str = "",
        failure_redirect_url: str = "",
        from_name: str = "",
    ) -> None:
        error_id = "user.sendverificationemail"
        _check_mail_text(subject, text_content, from_name, LINK_PLACEHOLDER, error_id)
        hosts = self.settings.allowed_link_hosts
        redirect_url = _check_redirect(redirect_url, "redirect_url", hosts, error_id)
        failure_redirect_url = _check_redirect(
            failure_redirect_url, "failure_redirect_url", hosts, error_id
        )
        await self.sessions.abuse.before_mail(error_id, namespace, email)
        account = await self._account_by_email(namespace, email, error_id)
        token = new_token()
        query = {"token": token}
        if redirect_url:
            query["redirectUrl"] = redirect_url
        if failure_redirect_url:
            query["failureRedirectUrl"] = failure_redirect_url
        link = f"{self.settings.public_url.rstrip('/')}/v1/user/VerifyEmail?{urlencode(query)}"
        await self._issue_and_mail(
            namespace,
            account,
            VERIFY,
            digest(token),
            self.settings.verification_ttl_seconds,
            (subject, text_content.replace(LINK_PLACEHOLDER, link), from_name),
            redirect_url=redirect_url,
            failure_redirect_url=failure_redirect_url,
        )

    async def verify_email(self, token: str, namespace: str | None = None) -> VerificationOutcome:
        """Verify the account a link was sent for. ``namespace`` is the caller's, when the
        call came with a key; the link itself carries no key, the token is the credential."""
        if not token:
            raise BadRequest("user.verifyemail", "token is required")
        token_hash = digest(token)
        now = self.clock()
        async with self.db.write() as conn:
            row = await repo.find_token(conn, token_hash, VERIFY)
            if row is None or (namespace is not None and row.namespace != namespace):
                raise BadRequest("user.verifyemail", "invalid verification token")
            if not await repo.consume_token(conn, token_hash, VERIFY, now):
                return VerificationOutcome(False, row.failure_redirect_url)
            account = await accounts_repo.find_account(conn, row.namespace, id=row.account_id)
            if account is None or account.email != row.email:
                # The address changed after the mail was sent: that mail proves nothing now.
                return VerificationOutcome(False, row.failure_redirect_url)
            if not account.verified:
                await self._mark_verified(conn, account, now)
            return VerificationOutcome(True, row.redirect_url)

    async def _mark_verified(
        self, conn: Connection, account: Account, now: int, **payload: object
    ) -> None:
        await accounts_repo.update_account(
            conn,
            account.namespace,
            account.id,
            verified=True,
            verification_date=now,
            updated=now,
        )
        await self.outbox.record(
            conn,
            account.namespace,
            outbox.ACCOUNT_VERIFIED,
            now,
            account_id=account.id,
            payload={"email": account.email, **payload},
        )

    # Password reset -----------------------------------------------------

    async def send_password_reset_email(
        self,
        namespace: str,
        *,
        email: str,
        subject: str,
        text_content: str,
        from_name: str = "",
        expiration: int = 0,
    ) -> None:
        error_id = "user.sendpasswordresetemail"
        _check_mail_text(subject, text_content, from_name, CODE_PLACEHOLDER, error_id)
        ttl = expiration or RESET_DEFAULT_SECONDS
        if not 60 <= ttl <= RESET_MAX_SECONDS:
            raise BadRequest(
                error_id, f"expiration must be between 60 and {RESET_MAX_SECONDS} seconds"
            )
        await self.sessions.abuse.before_mail(error_id, namespace, email)
        account = await self._account_by_email(namespace, email, error_id)
        code = new_code()
        await self._issue_and_mail(
            namespace,
            account,
            RESET,
            reset_code_digest(namespace, account.id if account else "", code),
            ttl,
            (subject, text_content.replace(CODE_PLACEHOLDER, code), from_name),
        )

    async def reset_password(
        self, namespace: str, *, email: str, code: str, new_password: str, confirm_password: str
    ) -> None:
        error_id = "user.resetpassword"
        invalid = BadRequest(error_id, "invalid or expired code")
        await self.sessions.abuse.before_code_check(error_id)
        if not code.strip():
            raise BadRequest(error_id, "code is required")
        v.check_confirmation(new_password, confirm_password, error_id=error_id)
        v.check_new_password(
            new_password,
            min_length=self.settings.password_min_length,
            max_length=self.settings.password_max_length,
            error_id=error_id,
            field="new_password",
            common_rank=self.settings.password_common_rank,
        )
        account = await self._account_by_email(namespace, email, error_id)
        # An unknown address runs the same statements for an account id no account has.
        account_id = account.id if account else ""
        code_hash = reset_code_digest(namespace, account_id, code)
        if not await self._check_reset_code(namespace, account_id, code_hash) or account is None:
            raise invalid
        new_hash = await self.hasher.hash(new_password)
        async with self.db.write() as conn:
            now = self.clock()
            if not await self._reset_code_is_live(
                conn, namespace, account.id, code_hash, now
            ) or not await repo.consume_token(conn, code_hash, RESET, now):
                raise invalid
            await accounts_repo.set_password_hash(
                conn, namespace, account.id, new_hash, updated=now
            )
            # A reset means the old password may be known to someone else: end every session.
            ended = await accounts_repo.delete_sessions_of(conn, namespace, account.id)
            await repo.delete_tokens_of(conn, namespace, account.id, RESET)
            await self.outbox.record(
                conn,
                namespace,
                outbox.PASSWORD_RESET,
                now,
                account_id=account.id,
                payload={"sessions_ended": ended},
            )

    async def _check_reset_code(self, namespace: str, account_id: str, code_hash: str) -> bool:
        """Whether the code is live; a wrong code counts against every code live now."""
        now = self.clock()
        async with self.db.write() as conn:
            if await self._reset_code_is_live(conn, namespace, account_id, code_hash, now):
                return True
            await repo.add_reset_failure(conn, namespace, account_id, now)
            return False

    async def _reset_code_is_live(
        self, conn: Connection, namespace: str, account_id: str, code_hash: str, now: int
    ) -> bool:
        return await repo.find_live_reset_code(
            conn, namespace, account_id, code_hash, now, self.settings.reset_code_max_attempts
        )

    # Magic link ---------------------------------------------------------

    async def send_magic_link(
        self,
        namespace: str,
        *,
        email: str,
        subject: str,
        text_content: str,
        from_name: str = "",
        address: str,
        endpoint: str,
    ) -> None:
        error_id = "user.sendmagiclink"
        _check_mail_text(subject, text_content, from_name, LINK_PLACEHOLDER, error_id)
        base = _link_base(address, self.settings, error_id)
        endpoint = endpoint.strip().strip("/")
        if not endpoint:
            raise BadRequest(error_id, "endpoint is required, e.g. 'login'")
        await self.sessions.abuse.before_mail(error_id, namespace, email)
        account = await self._account_by_email(namespace, email, error_id)
        token = new_token()
        link = f"{base}/{quote(endpoint)}/{token}"
        await self._issue_and_mail(
            namespace,
            account,
            MAGIC,
            digest(token),
            self.settings.magic_link_ttl_seconds,
            (subject, text_content.replace(LINK_PLACEHOLDER, link), from_name),
        )

    # Proving an address before linking an external identity ---------------------

    async def send_link_confirmation(
        self, account: Account, token: str, subject: str, text_content: str
    ) -> None:
        """Mail ``text_content`` (holding the link made of ``token``) to the account's
        address; the token works once, for ``magic_link_ttl_seconds``."""
        await self.sessions.abuse.before_mail("federation.signin", account.namespace, account.email)
        await self._issue_and_mail(
            account.namespace,
            account,
            IDENTITY_LINK,
            digest(token),
            self.settings.magic_link_ttl_seconds,
            (subject, text_content, ""),
        )

    async def spend_link_confirmation(self, namespace: str, token: str) -> Account | None:
        """The account a live link-confirmation token was mailed to, spending the token
        (None when it is unknown, spent, expired, or the address changed since)."""
        await self.sessions.abuse.before_code_check("federation.signin")
        token_hash = digest(token)
        async with self.db.write() as conn:
            row = await repo.find_token(conn, token_hash, IDENTITY_LINK)
            if row is None or row.namespace != namespace:
                return None
            account = await accounts_repo.find_account(conn, namespace, id=row.account_id)
            if account is None or account.email != row.email:
                return None
            if not await repo.consume_token(conn, token_hash, IDENTITY_LINK, self.clock()):
                return None
        return account

    async def verify_token(self, namespace: str, token: str) -> tuple[bool, str, Session | None]:
        """Log in with a magic link. The link proves the address: an account not yet verified
        becomes verified, and what someone set up before the owner proved it (a password,
        sessions, refresh tokens, identities linked at other providers) is ended; the owner
        sets a password with a reset."""
        await self.sessions.abuse.before_code_check("user.verifytoken")
        if not token:
            return False, "token is empty", None
        token_hash = digest(token)
        async with self.db.read() as conn:
            row = await repo.find_token(conn, token_hash, MAGIC)
            if row is None or row.namespace != namespace:
                return False, "token not found", None
            account = await accounts_repo.find_account(conn, namespace, id=row.account_id)
        factors = self.sessions.factors
        if account is not None and (
            await factors.required(namespace, account.id)
            or await factors.must_have(namespace, account.id)
        ):
            # A mailed link is one factor; this account asks for two.
            return False, "this account signs in with its password and second factor", None
        # Hashed outside the transaction: a password nobody knows, for an unproven account.
        unknown_password = (
            await self.hasher.hash(new_token()) if account and not account.verified else None
        )
        async with self.db.write() as conn:
            now = self.clock()
            if not await repo.consume_token(conn, token_hash, MAGIC, now):
                return False, "token expired or already used", None
            account = await accounts_repo.find_account(conn, namespace, id=row.account_id)
            if account is None or account.email != row.email:
                return False, "token no longer matches the account", None
            if account.verified:
                return True, "", await self.sessions.start_for(conn, account, "otp")
            if unknown_password is None:  # verification was undone meanwhile
                unknown_password = await self.hasher.hash(new_token())
            await accounts_repo.set_password_hash(
                conn, namespace, account.id, unknown_password, updated=now
            )
            await auth_repo.revoke_refresh_of(conn, namespace, USER, account.id, now)
            await federation_repo.delete_links_of(conn, namespace, account.id)
            await self._mark_verified(conn, account, now, password_removed=True)
        # Sessions made before the address was proven end (and with them their refresh
        # tokens and access tokens) before the owner's own session starts.
        try:
            await self.sessions.logout_all(namespace, account.id)
            async with self.db.write() as conn:
                return True, "", await self.sessions.start_for(conn, account, "otp")
        except (NotFound, IntegrityError):  # the account was deleted meanwhile
            return False, "token no longer matches the account", None

    async def delete_stale(self) -> int:
        async with self.db.write() as conn:
            return await repo.delete_stale_tokens(conn, self.clock() - STALE_GRACE_SECONDS)
