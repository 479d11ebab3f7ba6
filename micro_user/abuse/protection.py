"""Abuse protection: rate limits and a login lockout that cannot lock a victim out for good.

- Login: at most ``login_per_address_per_minute`` attempts from one client
  address, and ``login_per_account_per_minute`` for one account from all
  addresses (counting only attempts the address limit let through). Consecutive failures of one (address, account) pair lock that pair
  only: after ``lockout_threshold`` failures for 2 s, then doubling with
  every further failure up to ``lockout_max_seconds``. The owner logging in from elsewhere is untouched.
- The three mail-sending endpoints: per address, and per target address.
- ResetPassword and VerifyToken: per address.

Blocked calls are a 429 with ``Retry-After``. The client address is the peer's,
or the last entry of ``MICRO_USER_TRUSTED_PROXY_HEADER`` when one is set.
"""

from __future__ import annotations

from contextvars import ContextVar

from micro_user.abuse.counters import Counters
from micro_user.clock import Clock
from micro_user.crypto import digest
from micro_user.errors import TooManyRequests
from micro_user.settings import Settings

MINUTE, HOUR = 60, 3600
# The address of the client of the current request ("" outside requests, e.g. the CLI).
client_address: ContextVar[str] = ContextVar("micro_user_client_address", default="")


def blocked(error_id: str, what: str, retry_after: int) -> TooManyRequests:
    error = TooManyRequests(error_id, f"too many {what}; retry in {retry_after} seconds")
    error.retry_after = max(1, retry_after)
    return error


class AbuseProtection:
    def __init__(self, counters: Counters, settings: Settings, clock: Clock) -> None:
        self.counters = counters
        self.settings = settings
        self.clock = clock

    @property
    def on(self) -> bool:
        return self.settings.abuse_protection

    async def limit(self, key: str, limit: int, window: int, error_id: str, what: str) -> None:
        count, resets_in = await self.counters.hit(key, window)
        if count > limit:
            raise blocked(error_id, what, resets_in)

    @staticmethod
    def _pair(namespace: str, client: str, login: str) -> str:
        # Digested: the key holds no email address.
        return "login:" + digest(f"{namespace}\x00{client}\x00{login}")[:40]

    async def before_login(self, namespace: str, login: str) -> bool:
        """Raise 429 when this address or this (address, account) pair must wait; else
        whether the pair has failures on record (so that a success knows to clear them)."""
        if not self.on:
            return False
        client = client_address.get()
        error_id = "user.login"
        account = "login-account:" + digest(f"{namespace}\x00{login}")[:40]
        count, per_account, resets_in, until, failures = await self.counters.gate(
            f"login:{client}",
            self.settings.login_per_address_per_minute,
            account,
            MINUTE,
            self._pair(namespace, client, login),
        )
        if count > self.settings.login_per_address_per_minute:
            raise blocked(error_id, "login attempts from this address", resets_in)
        # Attempts refused above never count against the account, so one address alone
        # cannot make the owner wait.
        if per_account > self.settings.login_per_account_per_minute:
            raise blocked(error_id, "login attempts for this account", resets_in)
        if until > self.clock():
            raise blocked(
                error_id, "failed logins for this account from this address", until - self.clock()
            )
        return failures > 0

    async def after_login(self, namespace: str, login: str, ok: bool, had_failures: bool) -> None:
        if not self.on:
            return
        pair = self._pair(namespace, client_address.get(), login)
        if ok:
            if had_failures:
                await self.counters.clear(pair)
            return
        failures = await self.counters.fail(pair, keep=24 * HOUR)
        over = failures - self.settings.lockout_threshold
        if over >= 0:
            seconds = min(self.settings.lockout_max_seconds, 2 ** (over + 1))
            await self.counters.lock(pair, self.clock() + seconds)

    async def before_mail(self, error_id: str, namespace: str, email: str) -> None:
        if not self.on:
            return
        client = client_address.get()
        await self.limit(
            f"mail:{client}",
            self.settings.mail_per_address_per_minute,
            MINUTE,
            error_id,
            "mails asked for from this address",
        )
        target = "mail-to:" + digest(f"{namespace}\x00{email.strip().lower()}")[:40]
        await self.limit(
            target,
            self.settings.mail_per_recipient_per_hour,
            HOUR,
            error_id,
            "mails to this address",
        )

    async def before_code_check(self, error_id: str) -> None:
        if not self.on:
            return
        await self.limit(
            f"code:{client_address.get()}",
            self.settings.code_checks_per_address_per_minute,
            MINUTE,
            error_id,
            "attempts from this address",
        )
