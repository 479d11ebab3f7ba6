"""Registration, profiles and passwords: the account operations of the user service."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from sqlalchemy.exc import IntegrityError

from micro_user.abuse.protection import AbuseProtection
from micro_user.accounts import validation as v
from micro_user.accounts.models import Account
from micro_user.accounts.passwords import PasswordHasher
from micro_user.auth.models import USER
from micro_user.clock import Clock
from micro_user.errors import BadRequest, Conflict, NotFound, Unauthorized
from micro_user.events import outbox
from micro_user.events.outbox import Outbox
from micro_user.settings import Settings
from micro_user.storage import accounts as repo
from micro_user.storage import auth as auth_repo
from micro_user.storage.database import Database

LIST_DEFAULT_LIMIT = 25
LIST_MAX_LIMIT = 1000

_TAKEN = {
    "id": (
        "users-userId-check",
        "this id belongs, or belonged, to an account: ids are never reused",
    ),
    "username": (
        "users-username-check",
        "this username is already taken, or looks like one that is",
    ),
    "email": (
        "users-email-check",
        "an account with this email, or one that looks like it, already exists",
    ),
}

# What a user changing their own account is told on any conflict: it does not say whether the
# username or the email is taken (an admin, who may List, is told which).
_TAKEN_SELF_SERVICE = (
    "users-update-check",
    "this username or email cannot be used; choose another",
)


def conflict_error(exc: IntegrityError) -> Exception:
    field = repo.unique_violation(exc)
    if field is None:
        return exc
    return Conflict(*_TAKEN[field])


class AccountService:
    def __init__(
        self,
        db: Database,
        hasher: PasswordHasher,
        settings: Settings,
        clock: Clock,
        abuse: AbuseProtection,
        outbox: Outbox,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.hasher = hasher
        self.settings = settings
        self.clock = clock
        self.abuse = abuse

    def check_password(self, password: str, *, error_id: str, field: str = "password") -> str:
        return v.check_new_password(
            password,
            min_length=self.settings.password_min_length,
            max_length=self.settings.password_max_length,
            error_id=error_id,
            field=field,
            common_rank=self.settings.password_common_rank,
        )

    async def create(
        self,
        namespace: str,
        *,
        id: str = "",
        username: str = "",
        email: str,
        password: str,
        profile: dict[str, str] | None = None,
    ) -> Account:
        email = v.normalize_email(email, check_id="users-email-format")
        username = v.normalize_username(username)
        account_id = v.check_id(id) or str(uuid.uuid4())
        profile = v.check_profile(profile or {})
        self.check_password(password, error_id="users-password-check")
        now = self.clock()
        account = Account(
            namespace=namespace,
            id=account_id,
            username=username,
            email=email,
            created=now,
            updated=now,
            profile=profile,
        )
        password_hash = await self.hasher.hash(password)
        try:
            async with self.db.write() as conn:
                await repo.insert_account(conn, account, password_hash)
                await self.outbox.record(
                    conn,
                    namespace,
                    outbox.ACCOUNT_CREATED,
                    now,
                    account_id=account.id,
                    payload=outbox.account_payload(account),
                )
        except IntegrityError as exc:
            raise conflict_error(exc) from None
        return account

    async def read(
        self, namespace: str, *, id: str = "", username: str = "", email: str = ""
    ) -> Account:
        key = self._lookup_key(id=id, username=username, email=email, error_id="user.read")
        async with self.db.read() as conn:
            account = await repo.find_account(conn, namespace, **key)
        if account is None:
            raise NotFound("user.read", "account not found")
        return account

    @staticmethod
    def _lookup_key(*, id: str, username: str, email: str, error_id: str) -> dict[str, str]:
        if id.strip():
            return {"id": id.strip()}
        if username.strip():
            return {"username": v.lookup_username(username)}
        if email.strip():
            return {"email": v.lookup_email(email)}
        raise BadRequest(error_id, "give one of id, username or email")

    async def update(
        self,
        namespace: str,
        id: str,
        *,
        username: str = "",
        email: str = "",
        profile: dict[str, str] | None = None,
        password: str = "",
        self_service: bool = False,
    ) -> Account:
        """Change the given fields. ``self_service`` (a user acting on their own account with
        a session or token): a new email needs the current ``password``, and a taken username
        or email is one answer for both, which does not say which of them exists."""
        if not id.strip():
            raise BadRequest("user.update", "id is required")
        changes: dict[str, Any] = {}
        new_username = v.normalize_username(username) if username.strip() else ""
        new_email = v.normalize_email(email) if email.strip() else ""
        new_profile = v.check_profile(profile) if profile else None
        proven_hash = None
        if self_service and new_email:
            proven_hash = await self._reauthenticate(namespace, id.strip(), new_email, password)
        try:
            async with self.db.write() as conn:
                found = await repo.find_credentials(conn, namespace, id=id.strip())
                if found is None:
                    raise NotFound("user.update", "account not found")
                current, stored_hash = found
                if new_username and new_username != current.username:
                    changes["username"] = new_username
                if new_email and new_email != current.email:
                    if self_service and proven_hash != stored_hash:
                        # The password changed between the check and now: check again.
                        raise BadRequest("user.update", "the password changed meanwhile; try again")
                    changes.update(email=new_email, verified=False, verification_date=0)
                if new_profile is not None and new_profile != current.profile:
                    changes["profile"] = new_profile
                if not changes:
                    return current
                changes["updated"] = self.clock()
                await repo.update_account(conn, namespace, current.id, **changes)
                updated = replace(current, **changes)
                await self.outbox.record(
                    conn,
                    namespace,
                    outbox.ACCOUNT_UPDATED,
                    changes["updated"],
                    account_id=current.id,
                    payload={
                        "changed": sorted(set(changes) - {"updated"}),
                        "account": outbox.account_payload(updated),
                    },
                )
        except IntegrityError as exc:
            error = conflict_error(exc)
            if self_service and isinstance(error, Conflict):
                raise Conflict(*_TAKEN_SELF_SERVICE) from None
            raise error from None
        return updated

    async def _reauthenticate(
        self, namespace: str, account_id: str, new_email: str, password: str
    ) -> str | None:
        """The stored hash, once ``password`` proved to be the account's; None when the email
        does not change (nothing to prove)."""
        async with self.db.read() as conn:
            found = await repo.find_credentials(conn, namespace, id=account_id)
        if found is None:
            raise NotFound("user.update", "account not found")
        account, stored = found
        if new_email == account.email:
            return None
        if not password:
            raise BadRequest(
                "user.update",
                "changing the email needs the account's current password in 'password'",
            )
        ok, _ = await self.hasher.verify(stored, password)
        if not ok:
            raise BadRequest("user.update", "password is not the account's current password")
        return stored

    async def delete(self, namespace: str, id: str) -> None:
        """Delete the account and, in the same transaction, everything that names it: its
        sessions, pending emailed tokens, role grants and refresh tokens. (API keys belong to
        the namespace, not to an account: there are none to remove.) Its id is never given
        to another account (``used_account_ids``)."""
        if not id.strip():
            raise BadRequest("user.delete", "id is required")
        account_id = id.strip()
        now = self.clock()
        async with self.db.write() as conn:
            if not await repo.delete_account(conn, namespace, account_id):
                raise NotFound("user.delete", "account not found")
            await auth_repo.delete_grants_of(conn, namespace, USER, account_id)
            await auth_repo.delete_refresh_of(conn, namespace, USER, account_id)
            # Access tokens already issued to the account (revoke_subject bumps the version,
            # so every instance also drops the grants from its caches).
            await auth_repo.revoke_subject(
                conn, namespace, account_id, now + self.settings.access_token_ttl_seconds
            )
            await self.outbox.record(
                conn, namespace, outbox.ACCOUNT_DELETED, now, account_id=account_id
            )

    async def list(self, namespace: str, *, offset: int = 0, limit: int = 0) -> list[Account]:
        limit = LIST_DEFAULT_LIMIT if limit <= 0 else min(limit, LIST_MAX_LIMIT)
        async with self.db.read() as conn:
            return await repo.list_accounts(conn, namespace, offset, limit)

    async def update_password(
        self,
        namespace: str,
        user_id: str,
        *,
        old_password: str,
        new_password: str,
        confirm_password: str,
    ) -> None:
        error_id = "user.updatepassword"
        if not user_id.strip():
            raise BadRequest(error_id, "userId is required")
        v.check_confirmation(new_password, confirm_password, error_id=error_id)
        self.check_password(new_password, error_id=error_id, field="new_password")
        async with self.db.read() as conn:
            found = await repo.find_credentials(conn, namespace, id=user_id.strip())
        if found is None:
            raise NotFound(error_id, "account not found")
        account, stored = found
        # Guessing the old password is throttled like Login, on the same (address, account)
        # lock: it is the same secret.
        subject = self.abuse.account_subject(account.id, "", "")
        had_failures = await self.abuse.before_secret_check(error_id, namespace, subject)
        ok, _ = await self.hasher.verify(stored, old_password)
        await self.abuse.after_secret_check(error_id, namespace, subject, ok, had_failures)
        if not ok:
            raise Unauthorized(error_id, "old_password is not the account's current password")
        new_hash = await self.hasher.hash(new_password)
        async with self.db.write() as conn:
            # Only if nobody changed the password while we were hashing.
            if not await repo.set_password_hash(
                conn, namespace, account.id, new_hash, updated=self.clock(), only_if=stored
            ):
                raise BadRequest(error_id, "the password was changed meanwhile; try again")
            await self.outbox.record(
                conn, namespace, outbox.PASSWORD_CHANGED, self.clock(), account_id=account.id
            )

    async def set_password(self, namespace: str, user_id: str, new_password: str) -> None:
        """Operator override (CLI): no old password needed; ends every session of the account."""
        self.check_password(new_password, error_id="user.setpassword")
        new_hash = await self.hasher.hash(new_password)
        async with self.db.write() as conn:
            if not await repo.set_password_hash(
                conn, namespace, user_id, new_hash, updated=self.clock()
            ):
                raise NotFound("user.setpassword", "account not found")
            ended = await repo.delete_sessions_of(conn, namespace, user_id)
            await self.outbox.record(
                conn,
                namespace,
                outbox.PASSWORD_CHANGED,
                self.clock(),
                account_id=user_id,
                payload={"by_operator": True, "sessions_ended": ended},
            )
