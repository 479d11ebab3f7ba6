"""A software WebAuthn authenticator for tests that speak HTTP without a browser: one ES256
key, attestation "none", answers shaped as ``micro_user/http/static/passkeys.js`` posts them.

It reads the options a hosted page put in its ``data-passkey-create`` or ``data-passkey-get``
attribute and answers as a browser and a platform authenticator together would, or as an
attacker would: another origin, another relying party, a counter gone backwards (a clone),
no user verification, someone else's user handle, a challenge the server never made. Its
sign count is reported as set (0, the default, is an authenticator that does not count,
as many passkey providers do). The real browser's own WebAuthn is
``tests/browser/test_passkeys.py``."""

from __future__ import annotations

import hashlib
import html
import json
import re
import secrets
import struct
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, encode_cbor

# Authenticator data flags (WebAuthn §6.1): user present, user verified, attested
# credential data included.
UP, UV, AT = 0x01, 0x04, 0x40
_OPTIONS = re.compile(r'data-passkey-(?:create|get)="([^"]*)"')


def passkey_options(page: str) -> str:
    """The WebAuthn options (JSON) of the page's passkey form; AssertionError without one."""
    found = _OPTIONS.search(page)
    assert found is not None, "the page has no passkey form"
    return html.unescape(found.group(1))


@dataclass
class Authenticator:
    """One passkey. ``rp_id`` empty: the one the options name. ``user_handle``: the one
    the registration options gave, unless set."""

    origin: str
    rp_id: str = ""
    sign_count: int = 0
    user_verified: bool = True
    user_handle: str | None = None
    credential_id: bytes = field(default_factory=lambda: secrets.token_bytes(16))
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    def create(self, options: str) -> str:
        """The answer to ``navigator.credentials.create`` with these options."""
        asked = json.loads(options)
        if self.user_handle is None:
            self.user_handle = asked["user"]["id"]
        numbers = self.key.public_key().public_numbers()
        x, y = numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")
        cose_key = {1: 2, 3: -7, -1: 1, -2: x, -3: y}  # EC2, ES256, P-256
        attested = (
            bytes(16)  # AAGUID: none
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + encode_cbor(cose_key)
        )
        data = self._authenticator_data(asked["rp"]["id"], AT) + attested
        return self._answer(
            {
                "clientDataJSON": self._client_data("webauthn.create", asked["challenge"]),
                "attestationObject": bytes_to_base64url(
                    encode_cbor({"fmt": "none", "attStmt": {}, "authData": data})
                ),
                "transports": ["internal"],
            }
        )

    def get(self, options: str, *, challenge: bytes | None = None, **changes: Any) -> str:
        """The answer to ``navigator.credentials.get`` with these options, signed over
        ``challenge`` instead of theirs if given, by this passkey with ``changes``
        (``origin=``, ``sign_count=``, ...) for this answer only."""
        if changes:
            return replace(self, **changes).get(options, challenge=challenge)
        asked = json.loads(options)
        signed = asked["challenge"] if challenge is None else bytes_to_base64url(challenge)
        client_data = self._client_data("webauthn.get", signed)
        data = self._authenticator_data(asked["rpId"], 0)
        signature = self.key.sign(
            data + hashlib.sha256(base64url_to_bytes(client_data)).digest(),
            ec.ECDSA(hashes.SHA256()),
        )
        response = {
            "clientDataJSON": client_data,
            "authenticatorData": bytes_to_base64url(data),
            "signature": bytes_to_base64url(signature),
        }
        if self.user_handle is not None:
            response["userHandle"] = self.user_handle
        return self._answer(response)

    def _authenticator_data(self, asked_rp_id: str, flags: int) -> bytes:
        rp_id_hash = hashlib.sha256((self.rp_id or asked_rp_id).encode()).digest()
        flags |= UP | (UV if self.user_verified else 0)
        return rp_id_hash + bytes([flags]) + struct.pack(">I", self.sign_count)

    def _client_data(self, kind: str, challenge: str) -> str:
        data = {"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": False}
        return bytes_to_base64url(json.dumps(data).encode())

    def _answer(self, response: dict[str, Any]) -> str:
        credential_id = bytes_to_base64url(self.credential_id)
        return json.dumps(
            {
                "id": credential_id,
                "rawId": credential_id,
                "type": "public-key",
                "response": response,
                "clientExtensionResults": {},
                "authenticatorAttachment": "platform",
            }
        )
