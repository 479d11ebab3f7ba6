"""Abuse protection: throttle whoever guesses, never lock the owner out.

Secret checks (Login's and UpdatePassword's passwords, service accounts' client secrets):

- at most ``login_per_address_per_minute`` password checks from one client address
  (client secrets are not counted here: services behind one address ask for tokens often);
- consecutive failures of one (address, subject) pair lock that pair only: after
  ``lockout_threshold`` failures for 2 s, doubling with every further failure up to
  ``lockout_max_seconds``. The subject is the account (its id when it exists, so a username
  and an email of one account count together; else the normalised identifier, so an unknown
  name is throttled exactly like a known one) or the service account;
- when one subject collects more than ``login_per_account_per_minute`` failures from all
  addresses, it is under attack: every address then gets one attempt and is locked after
  each failure (2 s, 4 s, 8 s, ... up to ``lockout_max_seconds``). An address with no
  failures, the owner's, still gets its attempt: nothing here locks a whole account.

Only attempts that were checked count: a refused attempt never lengthens a lock nor uses up
the address's allowance.
With A addresses, an attacker gets at most about A x (lockout_threshold + log2(max / 2) +
elapsed / lockout_max_seconds) guesses at one account: with the defaults, 5 + 9 in the first
17 minutes and then 4 an hour, per address.

- The three mail-sending endpoints: per client address, and per recipient.
- ResetPassword and VerifyToken: per client address.
- Invalid bearer credentials (API keys, session ids, tokens): per client address; only
  failures are counted, so a valid credential costs no counter write. An address over the
  limit is refused by every instance that has seen it fail (a local map, no round trip).

Blocked calls are a 429 with ``Retry-After``. When Redis (the counters' store) does not
answer, checks of guessable secrets fail closed (503: the password, the client secret,
the code is not checked); mail limits and bearer-failure counts fail open (counted in
``micro_user_abuse_store_unavailable`` and logged).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TypeVar

from micro_user.abuse.counters import Counters, StoreDown
from micro_user.clock import Clock
from micro_user.crypto import digest
from micro_user.errors import TooManyRequests, Unauthorized, Unavailable
from micro_user.observability import ABUSE_STORE_DOWN
from micro_user.settings import Settings

MINUTE, HOUR, DAY = 60, 3600, 24 * 3600
# Addresses this process remembers as over the bearer-failure limit (oldest dropped first).
BLOCKED_ADDRESSES_MAX = 10_000
# The address of the client of the current request ("" outside requests, e.g. the CLI).
client_address: ContextVar[str] = ContextVar("micro_user_client_address", default="")
log = logging.getLogger("micro_user.abuse")
T = TypeVar("T")


def blocked(error_id: str, what: str, retry_after: int) -> TooManyRequests:
    error = TooManyRequests(error_id, f"too many {what}; retry in {retry_after} seconds")
    error.retry_after = max(1, retry_after)
    return error


def _use(subject: str) -> str:
    return "client secret checks" if subject.startswith("client:") else "password checks"


def _key(*parts: str) -> str:
    # Digested: keys hold no email address or client id.
    return digest("\x00".join(parts))[:40]


class AbuseProtection:
    def __init__(self, counters: Counters, settings: Settings, clock: Clock) -> None:
        self.counters = counters
        self.settings = settings
        self.clock = clock
        # address -> until: addresses over the bearer-failure limit, as this process saw.
        self.bearer_blocks: dict[str, int] = {}

    @property
    def on(self) -> bool:
        return self.settings.abuse_protection

    async def _store(
        self, use: str, error_id: str, work: Awaitable[T], *, fail_open: T | None = None
    ) -> T:
        """``work``, or when the store does not answer: ``fail_open`` (logged and counted),
        or without one a 503 (fail closed)."""
        try:
            return await work
        except StoreDown as exc:
            if fail_open is not None:
                ABUSE_STORE_DOWN.labels(use, "let_through").inc()
                log.warning("abuse counters unavailable (%s): %s let through unchecked", exc, use)
                return fail_open
            ABUSE_STORE_DOWN.labels(use, "refused").inc()
            log.error("abuse counters unavailable (%s): %s refused", exc, use)
            raise Unavailable(
                error_id,
                f"{use} are refused while the abuse-protection store (Redis) does not "
                "answer; try again shortly",
            ) from None

    async def limit(self, key: str, limit: int, window: int, error_id: str, what: str) -> int:
        """Count one event; 429 over the limit. The count."""
        count, resets_in = await self.counters.hit(key, window)
        if count > limit:
            raise blocked(error_id, what, resets_in)
        return count

    # Secret checks: passwords and client secrets ------------------------------------------

    @staticmethod
    def account_subject(account_id: str | None, username: str, email: str) -> str:
        """Whom password failures count against: the account when it exists, else the
        identifier as given (normalised), so that unknown names behave like known ones."""
        if account_id:
            return f"account:{account_id}"
        return f"email:{email}" if email else f"username:{username}"

    async def before_secret_check(
        self, error_id: str, namespace: str, subject: str, *, per_address: bool = True
    ) -> bool:
        """Raise 429 when this address (``per_address``) or this (address, subject) pair must
        wait, 503 when that cannot be known; else whether the pair has failures on record
        (so that a success knows to clear them)."""
        if not self.on:
            return False
        client = client_address.get()
        gate = self.counters.gate(
            f"login:{client}" if per_address else None,
            MINUTE,
            "login:" + _key(namespace, client, subject),
        )
        found = await self._store(_use(subject), error_id, gate)
        count, resets_in, until, failures = (
            found.count,
            found.resets_in,
            found.locked_until,
            found.failures,
        )
        if count > self.settings.login_per_address_per_minute:
            raise blocked(error_id, "attempts from this address", resets_in)
        now = self.clock()
        if until > now:
            raise blocked(
                error_id, "failed attempts for this account from this address", until - now
            )
        return failures > 0

    async def after_secret_check(
        self, error_id: str, namespace: str, subject: str, ok: bool, had_failures: bool
    ) -> None:
        if not self.on:
            return
        pair = "login:" + _key(namespace, client_address.get(), subject)
        use = _use(subject)
        if ok:
            if had_failures:
                await self._store(use, error_id, self.counters.clear(pair))
            return
        failures = await self._store(use, error_id, self.counters.fail(pair, keep=DAY))
        subject_failures, _ = await self._store(
            use,
            error_id,
            self.counters.hit("login-failures:" + _key(namespace, subject), MINUTE),
        )
        # Under attack from many addresses, each address is locked after every failure.
        under_attack = subject_failures > self.settings.login_per_account_per_minute
        threshold = 1 if under_attack else self.settings.lockout_threshold
        over = failures - threshold
        if over >= 0:
            seconds = min(self.settings.lockout_max_seconds, 2 ** min(over + 1, 30))
            await self._store(use, error_id, self.counters.lock(pair, self.clock() + seconds))

    async def secret_checked(
        self,
        error_id: str,
        namespace: str,
        subject: str,
        check: Callable[[], Awaitable[T]],
        *,
        per_address: bool = True,
    ) -> T:
        """``check()`` (which raises ``Unauthorized`` for a wrong secret) between
        ``before_secret_check`` and ``after_secret_check``."""
        had_failures = await self.before_secret_check(
            error_id, namespace, subject, per_address=per_address
        )
        try:
            result = await check()
        except Unauthorized:
            await self.after_secret_check(error_id, namespace, subject, False, had_failures)
            raise
        await self.after_secret_check(error_id, namespace, subject, True, had_failures)
        return result

    # Mail and one-time codes --------------------------------------------------------------

    async def before_mail(self, error_id: str, namespace: str, email: str) -> None:
        if not self.on:
            return
        client = client_address.get()
        await self._store(
            "mail limits",
            error_id,
            self.limit(
                f"mail:{client}",
                self.settings.mail_per_address_per_minute,
                MINUTE,
                error_id,
                "mails asked for from this address",
            ),
            fail_open=0,
        )
        target = "mail-to:" + _key(namespace, email.strip().lower())
        await self._store(
            "mail limits",
            error_id,
            self.limit(
                target,
                self.settings.mail_per_recipient_per_hour,
                HOUR,
                error_id,
                "mails to this address",
            ),
            fail_open=0,
        )

    async def before_code_check(self, error_id: str) -> None:
        if not self.on:
            return
        await self._store(
            "code checks",
            error_id,
            self.limit(
                f"code:{client_address.get()}",
                self.settings.code_checks_per_address_per_minute,
                MINUTE,
                error_id,
                "attempts from this address",
            ),
        )

    async def before_sign_up(self, error_id: str) -> None:
        """The hosted sign-up page: accounts made from one address in an hour."""
        if not self.on:
            return
        await self._store(
            "sign-up limits",
            error_id,
            self.limit(
                f"signup:{client_address.get()}",
                self.settings.signups_per_address_per_hour,
                HOUR,
                error_id,
                "accounts made from this address",
            ),
            fail_open=0,
        )

    # Bearer credentials -------------------------------------------------------------------

    def bearer_wait(self, address: str) -> int:
        """Seconds this address must still wait before presenting credentials (0: none).
        No I/O: a dictionary lookup on the request path."""
        until = self.bearer_blocks.get(address)
        if until is None:
            return 0
        wait = until - self.clock()
        if wait <= 0:
            self.bearer_blocks.pop(address, None)
            return 0
        return wait

    async def bearer_failed(self, error_id: str, address: str) -> None:
        """Count an invalid credential from ``address``; 429 once it is over the limit,
        and this process refuses the address without a look at its credentials until the
        window ends."""
        if not self.on:
            return
        count, resets_in = await self._store(
            "bearer failure counts",
            error_id,
            self.counters.hit(f"bearer:{address}", MINUTE),
            fail_open=(0, 0),
        )
        if count > self.settings.bearer_failures_per_address_per_minute:
            if len(self.bearer_blocks) >= BLOCKED_ADDRESSES_MAX:
                now = self.clock()
                for old in [a for a, until in self.bearer_blocks.items() if until <= now]:
                    del self.bearer_blocks[old]
                while len(self.bearer_blocks) >= BLOCKED_ADDRESSES_MAX:
                    del self.bearer_blocks[next(iter(self.bearer_blocks))]
            self.bearer_blocks[address] = self.clock() + resets_in
            raise blocked(error_id, "invalid credentials from this address", resets_in)
