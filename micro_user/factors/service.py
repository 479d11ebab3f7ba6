"""Second factors: a TOTP authenticator (RFC 6238), passkeys (``passkeys.py``) and ten
recovery codes, which an account has while it has either.

The TOTP secret is the one secret here that cannot be stored as a digest (the server must
compute codes from it), so it is sealed with the key-encryption key, bound to its account.
A code is accepted within one step either side of now, and each step's code only once: the
last step used is kept and moved forward by one conditional UPDATE, so two requests racing
with the same code cannot both pass. Recovery codes are 80 random bits each, stored as
digests, each spent by one conditional UPDATE. Guessing counts against the account like a
password (``AbuseProtection``). Every change is a lifecycle event."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass

import pyotp

from micro_user.abuse.protection import AbuseProtection
from micro_user.accounts.models import Account
from micro_user.auth.key_encryption import KeyRing
from micro_user.auth.models import USER
from micro_user.auth.rules import ROLE_RE
from micro_user.clock import Clock
from micro_user.crypto import CODE_ALPHABET, digest, new_code
from micro_user.errors import BadRequest, NotFound, Unauthorized
from micro_user.events import outbox
from micro_user.events.outbox import Outbox
from micro_user.storage import auth as auth_repo
from micro_user.storage import factors as repo
from micro_user.storage import passkeys as passkeys_repo
from micro_user.storage.database import Connection, Database

STEP_SECONDS = 30
# What Login answers when the password was right and the second factor is missing.
ERROR_ID = "user.login.second_factor"
RECOVERY_CODES = 10
# The amr values (RFC 8176) a session gets from each kind of second factor.
TOTP_AMR = "otp"
RECOVERY_AMR = "otp"


class SecondFactorRequired(Unauthorized):
    """The password was right; the account also needs its second factor."""

    def __init__(self) -> None:
        super().__init__(
            ERROR_ID,
            "this account signs in with a second factor: send Login again with factor_code "
            "(a code from the authenticator app, or a recovery code)",
        )


def second_factor_setup_required() -> Unauthorized:
    """The password was right; the namespace requires a second factor this account has
    not set up."""
    return Unauthorized(
        "user.login.second_factor_setup",
        "this namespace requires a second factor and the account has none: set one up on "
        "the hosted sign-in page, or with StartTotp and ConfirmTotp (an admin key may)",
    )


POLICIES = ("none", "everyone", "roles")


@dataclass(frozen=True, slots=True)
class FactorPolicy:
    """Who must have a second factor: nobody ("none", the default), "everyone", or the
    holders of ``roles``."""

    required: str = "none"
    roles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FactorStatus:
    totp: bool
    recovery_codes_left: int
    passkeys: int = 0

    @property
    def any(self) -> bool:
        return self.totp or self.passkeys > 0


def recovery_code() -> str:
    """16 characters of a 31-symbol alphabet (about 79 bits), in groups of four."""
    code = new_code(16)
    return "-".join(code[i : i + 4] for i in range(0, 16, 4))


def normalised(code: str) -> str:
    return "".join(c for c in code.upper() if c in CODE_ALPHABET or c.isdigit())


class Factors:
    def __init__(
        self,
        db: Database,
        ring: Callable[[], KeyRing],
        abuse: AbuseProtection,
        events: Outbox,
        clock: Clock,
        issuer_name: str = "micro-user",
    ) -> None:
        self.db = db
        self.ring = ring
        self.abuse = abuse
        self.outbox = events
        self.clock = clock
        self.issuer_name = issuer_name

    @staticmethod
    def _bound(namespace: str, account_id: str) -> str:
        return f"totp:{namespace}:{account_id}"

    async def status(self, namespace: str, account_id: str) -> FactorStatus:
        async with self.db.read() as conn:
            row = await repo.find_totp(conn, namespace, account_id)
            left = await repo.count_recovery_codes(conn, namespace, account_id)
            keys = await passkeys_repo.count(conn, namespace, account_id)
        return FactorStatus(row is not None and row.confirmed is not None, left, keys)

    async def required(self, namespace: str, account_id: str) -> bool:
        """Whether the account has a second factor in force (and so must give it): a
        primary-key read and an indexed count on every sign-in."""
        async with self.db.read() as conn:
            row = await repo.find_totp(conn, namespace, account_id)
            if row is not None and row.confirmed is not None:
                return True
            return await passkeys_repo.count(conn, namespace, account_id) > 0

    async def policy(self, namespace: str) -> FactorPolicy:
        async with self.db.read() as conn:
            found = await repo.find_policy(conn, namespace)
        return FactorPolicy() if found is None else FactorPolicy(found[0], tuple(found[1].split()))

    async def set_policy(
        self, namespace: str, required: str, roles: list[str] | None = None
    ) -> FactorPolicy:
        if required not in POLICIES:
            raise BadRequest("factors.policy", f"required is one of {', '.join(POLICIES)}")
        for role in roles or ():
            if not ROLE_RE.match(role):
                raise BadRequest(
                    "factors.policy",
                    f"{role!r} is not a role name (letters, digits and _.:-, up to 64)",
                )
        chosen = tuple(dict.fromkeys(roles or ()))
        if (required == "roles") != bool(chosen):
            raise BadRequest("factors.policy", 'name the roles with "roles", and only with it')
        async with self.db.write() as conn:
            await repo.save_policy(conn, namespace, required, " ".join(chosen), self.clock())
            await self.outbox.record(
                conn,
                namespace,
                outbox.FACTOR_POLICY_CHANGED,
                self.clock(),
                payload={"required": required, "roles": list(chosen)},
            )
        return FactorPolicy(required, chosen)

    async def must_have(self, namespace: str, account_id: str) -> bool:
        """Whether the namespace's policy requires this user to have a second factor."""
        policy = await self.policy(namespace)
        if policy.required == "everyone":
            return True
        if policy.required != "roles":
            return False
        async with self.db.read() as conn:
            held = await auth_repo.roles_of(conn, namespace, USER, account_id)
        return bool(set(held) & set(policy.roles))

    async def start_totp(self, account: Account) -> tuple[str, str]:
        """A new secret, not yet in force: (secret, otpauth URI for the QR code). A secret
        in force is replaced only by disabling it first."""
        secret = pyotp.random_base32()
        kek_id, sealed = self.ring().seal(
            self._bound(account.namespace, account.id), secret.encode()
        )
        async with self.db.write() as conn:
            row = await repo.find_totp(conn, account.namespace, account.id)
            if row is not None and row.confirmed is not None:
                raise BadRequest(
                    "factors.totp", "an authenticator is set up already: remove it first"
                )
            await repo.save_totp(conn, account.namespace, account.id, kek_id, sealed, self.clock())
        uri = pyotp.TOTP(secret).provisioning_uri(
            name=account.username or account.email, issuer_name=self.issuer_name
        )
        return secret, uri

    async def confirm_totp(self, account: Account, code: str) -> list[str]:
        """Put the started secret in force with a code from it; the new recovery codes,
        shown only now."""
        async with self.db.write() as conn:
            row = await repo.find_totp(conn, account.namespace, account.id)
            if row is None or row.confirmed is not None:
                raise BadRequest("factors.totp", "start setting up an authenticator first")
            step = self._matching_step(account, row.kek_id, row.sealed_secret, code)
            if step is None:
                raise BadRequest(
                    "factors.totp", "that code is not the app's code now: try the next one"
                )
            now = self.clock()
            await repo.confirm_totp(conn, account.namespace, account.id, now, step)
            codes = await self.new_recovery_codes(conn, account)
            await self._event(conn, account, outbox.FACTOR_ENABLED, "totp")
        return codes

    async def regenerate_recovery_codes(self, account: Account) -> list[str]:
        async with self.db.write() as conn:
            codes = await self.new_recovery_codes(conn, account)
            await self._event(conn, account, outbox.RECOVERY_CODES_REGENERATED, "recovery")
        return codes

    async def new_recovery_codes(self, conn: Connection, account: Account) -> list[str]:
        codes = [recovery_code() for _ in range(RECOVERY_CODES)]
        await repo.replace_recovery_codes(
            conn, account.namespace, account.id, [digest(normalised(c)) for c in codes]
        )
        return codes

    async def remove(self, account: Account, *, reason: str) -> None:
        """Remove the authenticator and the recovery codes (``reason``: "user" with a code
        checked by the caller, which the namespace's policy may forbid, or "operator" for
        the audited recovery path, after which the user sets up a new one to sign in)."""
        if reason == "user" and await self.must_have(account.namespace, account.id):
            async with self.db.read() as conn:
                others = await passkeys_repo.count(conn, account.namespace, account.id)
            if not others:
                raise BadRequest(
                    "factors.totp",
                    "this namespace requires a second factor: it cannot be removed",
                )
        async with self.db.write() as conn:
            keys = await passkeys_repo.of_account(conn, account.namespace, account.id)
            operator = reason == "operator"
            if operator:
                for key in keys:
                    await passkeys_repo.remove(conn, account.namespace, account.id, key.id)
            removed = await repo.delete_factors(
                conn, account.namespace, account.id, keep_codes=bool(keys) and not operator
            )
            if not removed and not (operator and keys):
                raise NotFound("factors.totp", "this account has no authenticator app")
            await self._event(
                conn,
                account,
                outbox.FACTOR_DISABLED,
                "all" if operator else "totp",
                reason=reason,
            )

    async def check(self, account: Account, code: str, error_id: str) -> str:
        """The amr of a right code (TOTP, or a recovery code, which is spent); Unauthorized
        for a wrong one, counted against the account like a wrong password."""
        subject = f"factor:{account.namespace}:{account.id}"

        async def verify() -> str:
            amr = await self._spend(account, code)
            if amr is None:
                raise Unauthorized(error_id, "invalid second factor code")
            return amr

        return await self.abuse.secret_checked(error_id, account.namespace, subject, verify)

    async def _spend(self, account: Account, code: str) -> str | None:
        async with self.db.write() as conn:
            row = await repo.find_totp(conn, account.namespace, account.id)
            if row is not None and row.confirmed is not None:
                step = self._matching_step(account, row.kek_id, row.sealed_secret, code)
                if step is not None:
                    if await repo.advance_step(conn, account.namespace, account.id, step):
                        return TOTP_AMR
                    return None  # this step's code was used already
            normal = normalised(code)
            if len(normal) == 16 and await repo.spend_recovery_code(
                conn, account.namespace, account.id, digest(normal), self.clock()
            ):
                await self._event(conn, account, outbox.RECOVERY_CODE_USED, "recovery")
                return RECOVERY_AMR
        return None

    def _matching_step(self, account: Account, kek_id: str, sealed: str, code: str) -> int | None:
        code = code.strip().replace(" ", "")
        if not (len(code) == 6 and code.isdigit()):
            return None
        secret = self.ring().open(self._bound(account.namespace, account.id), kek_id, sealed)
        totp = pyotp.TOTP(secret.decode())
        now = self.clock()
        found = None
        for offset in (-1, 0, 1):  # one step either side
            at = now + offset * STEP_SECONDS
            if hmac.compare_digest(totp.at(at), code):
                found = at // STEP_SECONDS
        return found

    async def rewrap(self) -> int:
        """Seal every TOTP key with the current key-encryption key (after a new one was put
        first); how many there are."""
        ring = self.ring()
        async with self.db.write() as conn:
            rows = await repo.all_totp(conn)
            for row in rows:
                bound = self._bound(row.namespace, row.account_id)
                secret = ring.open(bound, row.kek_id, row.sealed_secret)
                await repo.reseal_totp(
                    conn, row.namespace, row.account_id, *ring.seal(bound, secret)
                )
        return len(rows)

    async def _event(
        self, conn: Connection, account: Account, kind: str, factor: str, **extra: str
    ) -> None:
        await self.outbox.record(
            conn,
            account.namespace,
            kind,
            self.clock(),
            account_id=account.id,
            payload={"factor": factor, **extra},
        )
