"""Passkeys (WebAuthn, with the ``webauthn`` library): several per account, for signing in
with a passkey alone (a discoverable credential and user verification) or as the second
step after a password.

The relying party is the public URL's host (``rp_id``) and origin; where the host is an IP
address, browsers refuse WebAuthn and passkeys are off. Challenges are not stored: each is
sealed with the key-encryption key (what it is for, the namespace, the account, its expiry),
so showing the sign-in page writes nothing; an answered challenge's digest is kept until it
expires, so an answer replayed is refused. Sign counters are checked (a counter that does not
grow, on an authenticator that counts, is refused as a possible clone) and moved by one
conditional UPDATE."""

from __future__ import annotations

import ipaddress
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import webauthn
from sqlalchemy.exc import IntegrityError
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from micro_user.accounts.models import Account
from micro_user.auth.key_encryption import KeyRing
from micro_user.clock import Clock
from micro_user.crypto import digest
from micro_user.errors import BadRequest, NotFound, ServiceError, Unauthorized
from micro_user.events import outbox
from micro_user.events.outbox import Outbox
from micro_user.storage import factors as factors_repo
from micro_user.storage import passkeys as repo
from micro_user.storage.database import Database
from micro_user.storage.rows import PasskeyRow

CHALLENGE_SECONDS = 300
# The amr (RFC 8176) of a passkey: a hardware-secured key; with user verification (a PIN or
# a biometric on the authenticator) it is two factors by itself.
PASSKEY_AMR = "hwk"
REGISTER, SIGN_IN, SECOND_STEP = "register", "signin", "factor"
NAME_LENGTH = 64
ERROR_ID = "factors.passkey"


@dataclass(frozen=True, slots=True)
class Challenge:
    purpose: str
    namespace: str
    account_id: str
    user_handle: str
    expires: int
    raw: bytes


def relying_party(public_url: str) -> str | None:
    """The WebAuthn relying party id of a public URL: its host, unless that is an IP
    address (which browsers refuse as an id)."""
    host = urlsplit(public_url).hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host or None
    return None


class Passkeys:
    def __init__(
        self,
        db: Database,
        ring: Callable[[], KeyRing],
        events: Outbox,
        clock: Clock,
        public_url: str,
        new_recovery_codes: Callable[[Any, Account], Any],
        issuer_name: str = "micro-user",
    ) -> None:
        self.db = db
        self.ring = ring
        self.outbox = events
        self.clock = clock
        self.rp_id = relying_party(public_url)
        parts = urlsplit(public_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.new_recovery_codes = new_recovery_codes
        self.issuer_name = issuer_name

    @property
    def available(self) -> bool:
        return self.rp_id is not None

    def _rp(self) -> str:
        if self.rp_id is None:
            raise BadRequest(
                ERROR_ID,
                "passkeys need a public URL with a host name (browsers refuse an IP "
                "address): set MICRO_USER_PUBLIC_URL",
            )
        return self.rp_id

    # -- challenges -------------------------------------------------------------------

    @staticmethod
    def _bound(namespace: str, purpose: str) -> str:
        return f"passkey-challenge:{namespace}:{purpose}"

    def _challenge(
        self, purpose: str, namespace: str, account_id: str = "", user_handle: str = ""
    ) -> bytes:
        payload = json.dumps(
            {
                "a": account_id,
                "h": user_handle,
                "e": self.clock() + CHALLENGE_SECONDS,
                "r": secrets.token_urlsafe(16),
            }
        ).encode()
        kek_id, sealed = self.ring().seal(self._bound(namespace, purpose), payload)
        return f"{kek_id}.{sealed}".encode()

    def _read_challenge(self, client_data: bytes, purpose: str, namespace: str) -> Challenge:
        """The challenge an answer signed, if we made it for this purpose and namespace and
        it has not expired."""
        try:
            raw = parse_client_data_json(client_data).challenge
            kek_id, sealed = raw.decode().split(".", 1)
            fields = json.loads(self.ring().open(self._bound(namespace, purpose), kek_id, sealed))
            challenge = Challenge(
                purpose, namespace, str(fields["a"]), str(fields["h"]), int(fields["e"]), raw
            )
        except (WebAuthnException, ServiceError, ValueError, KeyError, UnicodeDecodeError):
            raise Unauthorized(ERROR_ID, "this passkey answer is not for this page") from None
        if challenge.expires <= self.clock():
            raise Unauthorized(ERROR_ID, "this passkey request has expired: try again")
        return challenge

    async def _spend(self, challenge: Challenge) -> None:
        if not await repo.spend_challenge(
            self.db, digest(challenge.raw.decode()), challenge.expires, self.clock()
        ):
            raise Unauthorized(ERROR_ID, "this passkey answer was used already")

    # -- registering ------------------------------------------------------------------

    async def registration_options(self, account: Account) -> str:
        """The options for ``navigator.credentials.create``, as JSON: a discoverable
        credential, user verification preferred, the account's passkeys excluded."""
        rp_id = self._rp()
        async with self.db.read() as conn:
            held = await repo.of_account(conn, account.namespace, account.id)
        handle = held[0].user_handle if held else bytes_to_base64url(secrets.token_bytes(32))
        name = account.username or account.email
        options = webauthn.generate_registration_options(
            rp_id=rp_id,
            rp_name=self.issuer_name,
            user_id=base64url_to_bytes(handle),
            user_name=name,
            user_display_name=name,
            challenge=self._challenge(REGISTER, account.namespace, account.id, handle),
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
            exclude_credentials=[self._descriptor(row) for row in held],
        )
        return webauthn.options_to_json(options)

    async def register(self, account: Account, answer: str, name: str) -> list[str]:
        """Keep the passkey the browser made from ``registration_options``; new recovery
        codes (shown only now) when the account had none."""
        rp_id = self._rp()
        name = " ".join(name.split())[:NAME_LENGTH] or "Passkey"
        try:
            credential = parse_registration_credential_json(answer)
        except (WebAuthnException, ValueError, TypeError, KeyError):
            raise BadRequest(ERROR_ID, "the browser's answer is not a passkey") from None
        challenge = self._read_challenge(
            credential.response.client_data_json, REGISTER, account.namespace
        )
        if challenge.account_id != account.id:
            raise Unauthorized(ERROR_ID, "this passkey answer is not for this page")
        try:
            made = webauthn.verify_registration_response(
                credential=credential,
                expected_challenge=challenge.raw,
                expected_rp_id=rp_id,
                expected_origin=self.origin,
            )
        except WebAuthnException as exc:
            raise BadRequest(ERROR_ID, f"the passkey was refused: {exc}") from None
        await self._spend(challenge)
        transports = " ".join(t.value for t in credential.response.transports or ())
        row = PasskeyRow(
            id=f"pky_{secrets.token_urlsafe(12)}",
            namespace=account.namespace,
            account_id=account.id,
            credential_id=bytes_to_base64url(made.credential_id),
            public_key=bytes_to_base64url(made.credential_public_key),
            sign_count=made.sign_count,
            user_handle=challenge.user_handle,
            name=name,
            transports=transports[:128],
            created=self.clock(),
            last_used=None,
        )
        already = BadRequest(ERROR_ID, "this passkey is registered already")
        try:
            async with self.db.write() as conn:
                if await repo.find(conn, account.namespace, row.credential_id) is not None:
                    raise already
                await repo.add(conn, row)
                codes: list[str] = []
                if not await factors_repo.count_recovery_codes(conn, account.namespace, account.id):
                    codes = await self.new_recovery_codes(conn, account)
                await self._event(conn, account, outbox.FACTOR_ENABLED, row)
        except IntegrityError:  # the same credential id registered at the same moment
            raise already from None
        return codes

    # -- signing in -------------------------------------------------------------------

    def sign_in_options(self, namespace: str) -> str:
        """Options for ``navigator.credentials.get`` with a passkey alone: any of the
        namespace's (discoverable), with user verification. Writes nothing."""
        options = webauthn.generate_authentication_options(
            rp_id=self._rp(),
            challenge=self._challenge(SIGN_IN, namespace),
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return webauthn.options_to_json(options)

    async def second_step_options(self, account: Account) -> str | None:
        """Options for the second step of signing in: this account's passkeys (None when
        it has none)."""
        if self.rp_id is None:
            return None
        async with self.db.read() as conn:
            held = await repo.of_account(conn, account.namespace, account.id)
        if not held:
            return None
        options = webauthn.generate_authentication_options(
            rp_id=self.rp_id,
            challenge=self._challenge(SECOND_STEP, account.namespace, account.id),
            allow_credentials=[self._descriptor(row) for row in held],
            user_verification=UserVerificationRequirement.PREFERRED,
        )
        return webauthn.options_to_json(options)

    async def sign_in(self, namespace: str, answer: str) -> tuple[str, str]:
        """The account a passkey alone signs in (its id, and the amr)."""
        return await self._authenticate(namespace, answer, SIGN_IN, None)

    async def second_step(self, account: Account, answer: str) -> str:
        """The amr of a right passkey answer for this account's second step."""
        _, amr = await self._authenticate(account.namespace, answer, SECOND_STEP, account)
        return amr

    async def _authenticate(
        self, namespace: str, answer: str, purpose: str, account: Account | None
    ) -> tuple[str, str]:
        rp_id = self._rp()
        refused = Unauthorized(ERROR_ID, "this passkey is not one of this site's")
        try:
            credential = parse_authentication_credential_json(answer)
        except (WebAuthnException, ValueError, TypeError, KeyError):
            raise BadRequest(ERROR_ID, "the browser's answer is not a passkey") from None
        challenge = self._read_challenge(credential.response.client_data_json, purpose, namespace)
        if account is not None and challenge.account_id != account.id:
            raise refused
        async with self.db.read() as conn:
            row = await repo.find(conn, namespace, bytes_to_base64url(credential.raw_id))
        if row is None or (account is not None and row.account_id != account.id):
            raise refused
        handle = credential.response.user_handle
        if handle is not None and bytes_to_base64url(handle) != row.user_handle:
            raise refused
        try:
            checked = webauthn.verify_authentication_response(
                credential=credential,
                expected_challenge=challenge.raw,
                expected_rp_id=rp_id,
                expected_origin=self.origin,
                credential_public_key=base64url_to_bytes(row.public_key),
                credential_current_sign_count=row.sign_count,
                require_user_verification=purpose == SIGN_IN,
            )
        except WebAuthnException as exc:
            raise Unauthorized(ERROR_ID, f"the passkey was refused: {exc}") from None
        await self._spend(challenge)
        async with self.db.write() as conn:
            if not await repo.count_used(
                conn, namespace, row.id, row.sign_count, checked.new_sign_count, self.clock()
            ):
                raise Unauthorized(ERROR_ID, "the passkey was refused: it was used at once twice")
        amr = f"{PASSKEY_AMR} mfa" if checked.user_verified and purpose == SIGN_IN else PASSKEY_AMR
        return row.account_id, amr

    # -- the account's passkeys -------------------------------------------------------

    async def of_account(self, account: Account) -> list[PasskeyRow]:
        async with self.db.read() as conn:
            return await repo.of_account(conn, account.namespace, account.id)

    async def remove(self, account: Account, id: str, *, last_allowed: bool) -> None:
        """Remove one passkey (``last_allowed``: whether the account may be left with no
        second factor). With no factor left, the recovery codes go too."""
        async with self.db.write() as conn:
            held = {
                row.id: row for row in await repo.of_account(conn, account.namespace, account.id)
            }
            row = held.get(id)
            if row is None:
                raise NotFound(ERROR_ID, "this account has no such passkey")
            totp = await factors_repo.find_totp(conn, account.namespace, account.id)
            last = len(held) == 1 and (totp is None or totp.confirmed is None)
            if last and not last_allowed:
                raise BadRequest(
                    ERROR_ID, "this namespace requires a second factor: add another one first"
                )
            await repo.remove(conn, account.namespace, account.id, id)
            if last:
                await factors_repo.delete_factors(conn, account.namespace, account.id)
            await self._event(conn, account, outbox.FACTOR_DISABLED, row)

    @staticmethod
    def _descriptor(row: PasskeyRow) -> PublicKeyCredentialDescriptor:
        known = {t.value for t in AuthenticatorTransport}
        return PublicKeyCredentialDescriptor(
            id=base64url_to_bytes(row.credential_id),
            transports=[AuthenticatorTransport(t) for t in row.transports.split() if t in known],
        )

    async def _event(self, conn: Any, account: Account, kind: str, row: PasskeyRow) -> None:
        await self.outbox.record(
            conn,
            account.namespace,
            kind,
            self.clock(),
            account_id=account.id,
            payload={"factor": "passkey", "passkey": row.id, "name": row.name},
        )
