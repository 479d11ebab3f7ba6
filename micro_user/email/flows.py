"""The three mailed flows: email verification, password reset, magic link.

Every token or code is random, stored only as a digest, expires, and works
once. Asking for a mail about an unknown address answers exactly as for a
known one and sends nothing, so the API cannot be used to find accounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

from micro_user.accounts import validation as v
from micro_user.accounts.models import Account, Session
from micro_user.accounts.passwords import PasswordHasher
from micro_user.clock import Clock
from micro_user.crypto import digest, new_code, new_token
from micro_user.email.senders import Mail, MailSender
from micro_user.errors import BadRequest
from micro_user.events import outbox
from micro_user.sessions.service import SessionService
from micro_user.settings import Settings
from micro_user.storage import accounts as accounts_repo
from micro_user.storage import tokens as repo
from micro_user.storage.database import Connection, Database

VERIFY, RESET, MAGIC = "verify", "reset", "magic"
LINK_PLACEHOLDER = "$micro_verification_link"
CODE_PLACEHOLDER = "$code"
RESET_DEFAULT_SECONDS = 1800
RESET_MAX_SECONDS = 7 * 24 * 3600
SUBJECT_MAX = 256
TEXT_MAX = 32 * 1024
# Expired tokens are kept this long, so that a late click still redirects to its failure page.
STALE_GRACE_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class VerificationOutcome:
    ok: bool
    redirect_url: str


def _check_url(value: str, field: str, error_id: str) -> str:
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadRequest(error_id, f"{field} must be an absolute http or https URL")
    return value


def _check_mail_text(subject: str, text: str, placeholder: str, error_id: str) -> None:
    if len(subject) > SUBJECT_MAX:
        raise BadRequest(error_id, f"subject is longer than {SUBJECT_MAX} characters")
    if len(text) > TEXT_MAX:
        raise BadRequest(error_id, f"text_content is longer than {TEXT_MAX} characters")
    if placeholder not in text:
        raise BadRequest(error_id, f"text_content must contain {placeholder}")


def reset_code_digest(namespace: str, account_id: str, code: str) -> str:
    # Codes are short enough to type, so the digest binds them to one account.
    return digest(f"{namespace}\x00{account_id}\x00{code.strip().upper()}")


class EmailFlows:
    def __init__(
        self,
        db: Database,
        sender: MailSender,
        sessions: SessionService,
        hasher: PasswordHasher,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.db = db
        self.sender = sender
        self.sessions = sessions
        self.hasher = hasher
        self.settings = settings
        self.clock = clock

    async def _account_by_email(self, namespace: str, email: str, error_id: str) -> Account | None:
        email = v.normalize_email(email, check_id=error_id)
        async with self.db.read() as conn:
            return await accounts_repo.find_account(conn, namespace, email=email)

    async def _issue(
        self, account: Account, purpose: str, token_hash: str, ttl: int, **extra: str
    ) -> None:
        now = self.clock()
        async with self.db.write() as conn:
            await repo.insert_token(
                conn,
                token_hash=token_hash,
                purpose=purpose,
                namespace=account.namespace,
                account_id=account.id,
                email=account.email,
                created=now,
                expires=now + ttl,
                redirect_url=extra.get("redirect_url", ""),
                failure_redirect_url=extra.get("failure_redirect_url", ""),
            )

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
        _check_mail_text(subject, text_content, LINK_PLACEHOLDER, error_id)
        redirect_url = _check_url(redirect_url, "redirect_url", error_id)
        failure_redirect_url = _check_url(failure_redirect_url, "failure_redirect_url", error_id)
        await self.sessions.abuse.before_mail(error_id, namespace, email)
        account = await self._account_by_email(namespace, email, error_id)
        if account is None:
            return
        token = new_token()
        await self._issue(
            account,
            VERIFY,
            digest(token),
            self.settings.verification_ttl_seconds,
            redirect_url=redirect_url,
            failure_redirect_url=failure_redirect_url,
        )
        query = {"token": token}
        if redirect_url:
            query["redirectUrl"] = redirect_url
        if failure_redirect_url:
            query["failureRedirectUrl"] = failure_redirect_url
        link = f"{self.settings.public_url.rstrip('/')}/v1/user/VerifyEmail?{urlencode(query)}"
        await self.sender.send(
            Mail(account.email, subject, text_content.replace(LINK_PLACEHOLDER, link), from_name)
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
                await accounts_repo.update_account(
                    conn,
                    row.namespace,
                    account.id,
                    verified=True,
                    verification_date=now,
                    updated=now,
                )
                await outbox.record(
                    conn,
                    row.namespace,
                    outbox.ACCOUNT_VERIFIED,
                    now,
                    account_id=account.id,
                    payload={"email": account.email},
                )
            return VerificationOutcome(True, row.redirect_url)

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
        _check_mail_text(subject, text_content, CODE_PLACEHOLDER, error_id)
        ttl = expiration or RESET_DEFAULT_SECONDS
        if not 60 <= ttl <= RESET_MAX_SECONDS:
            raise BadRequest(
                error_id, f"expiration must be between 60 and {RESET_MAX_SECONDS} seconds"
            )
        await self.sessions.abuse.before_mail(error_id, namespace, email)
        account = await self._account_by_email(namespace, email, error_id)
        if account is None:
            return
        code = new_code()
        await self._issue(account, RESET, reset_code_digest(namespace, account.id, code), ttl)
        await self.sender.send(
            Mail(account.email, subject, text_content.replace(CODE_PLACEHOLDER, code), from_name)
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
        if account is None:
            raise invalid
        code_hash = reset_code_digest(namespace, account.id, code)
        now = self.clock()
        async with self.db.write() as conn:
            if not await self._reset_code_is_live(conn, account, code_hash, now):
                await repo.add_reset_failure(conn, namespace, account.id)
                failed = True
            else:
                failed = False
        if failed:
            raise invalid
        new_hash = await self.hasher.hash(new_password)
        async with self.db.write() as conn:
            if not await repo.consume_token(conn, code_hash, RESET, self.clock()):
                raise invalid
            await accounts_repo.set_password_hash(
                conn, namespace, account.id, new_hash, updated=self.clock()
            )
            # A reset means the old password may be known to someone else: end every session.
            ended = await accounts_repo.delete_sessions_of(conn, namespace, account.id)
            await repo.delete_tokens_of(conn, namespace, account.id, RESET)
            await repo.clear_reset_failures(conn, namespace, account.id)
            await outbox.record(
                conn,
                namespace,
                outbox.PASSWORD_RESET,
                self.clock(),
                account_id=account.id,
                payload={"sessions_ended": ended},
            )

    async def _reset_code_is_live(
        self, conn: Connection, account: Account, code_hash: str, now: int
    ) -> bool:
        if (
            await repo.reset_failures(conn, account.namespace, account.id)
            >= self.settings.reset_code_max_attempts
        ):
            return False
        row = await repo.find_token(conn, code_hash, RESET)
        return row is not None and row.used_at is None and row.expires > now

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
        _check_mail_text(subject, text_content, LINK_PLACEHOLDER, error_id)
        address, endpoint = address.strip().strip("/"), endpoint.strip().strip("/")
        if not address or urlsplit(f"https://{address}").netloc != address:
            raise BadRequest(error_id, "address must be a host name, e.g. 'example.com'")
        if not endpoint:
            raise BadRequest(error_id, "endpoint is required, e.g. 'login'")
        await self.sessions.abuse.before_mail(error_id, namespace, email)
        account = await self._account_by_email(namespace, email, error_id)
        if account is None:
            return
        token = new_token()
        await self._issue(account, MAGIC, digest(token), self.settings.magic_link_ttl_seconds)
        link = f"https://{address}/{quote(endpoint)}/{token}"
        await self.sender.send(
            Mail(account.email, subject, text_content.replace(LINK_PLACEHOLDER, link), from_name)
        )

    async def verify_token(self, namespace: str, token: str) -> tuple[bool, str, Session | None]:
        await self.sessions.abuse.before_code_check("user.verifytoken")
        if not token:
            return False, "token is empty", None
        token_hash = digest(token)
        async with self.db.write() as conn:
            row = await repo.find_token(conn, token_hash, MAGIC)
            if row is None or row.namespace != namespace:
                return False, "token not found", None
            if not await repo.consume_token(conn, token_hash, MAGIC, self.clock()):
                return False, "token expired or already used", None
            account = await accounts_repo.find_account(conn, namespace, id=row.account_id)
            if account is None or account.email != row.email:
                return False, "token no longer matches the account", None
            session = await self.sessions.start_for(conn, account)
        return True, "", session

    async def delete_stale(self) -> int:
        async with self.db.write() as conn:
            return await repo.delete_stale_tokens(conn, self.clock() - STALE_GRACE_SECONDS)
