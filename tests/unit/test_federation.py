"""External identity providers' rules in-process (micro_user/federation/providers.py):
which emails count as verified, which subjects are taken, and that proving an address
with a magic link removes identities someone linked to the account before."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from micro_user.federation.providers import Identity, _email_of
from micro_user.storage.tables import mail_queue

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("claimed", "verified", "expected"),
    [
        ("Ada@Example.com", True, ("ada@example.com", True)),
        ("ada@example.com", "true", ("ada@example.com", False)),  # a string is not true
        ("ada@example.com", False, ("ada@example.com", False)),
        ("\u212ada@example.com", True, ("\u212ada@example.com".lower(), False)),  # Kelvin sign
        ("ad\u00e9@example.com", True, ("ad\u00e9@example.com", False)),  # not ASCII
        ("not an address", True, ("", False)),
        (42, True, ("", False)),
        ("", True, ("", False)),
    ],
)
def test_which_emails_count_as_verified(claimed, verified, expected) -> None:
    assert _email_of(claimed, verified) == expected


async def test_proving_the_address_removes_identities_linked_before(services) -> None:
    """Someone registers the owner's address with a password and links their own account
    at a provider; when the owner proves the address with a magic link, the link goes
    with the password and sessions."""
    await services.start()
    squatted = await services.accounts.create(
        "micro", username="squatter", email="owner@example.com", password="correct horse 1"
    )
    provider = await services.federation.create(
        "micro",
        id="corp",
        kind="oauth2",
        name="Corp",
        client_id="c",
        client_secret="s",
        authorization_endpoint="https://id.example.com/auth",
        token_endpoint="https://id.example.com/token",
        userinfo_endpoint="https://id.example.com/me",
    )
    identity = Identity(provider, "attacker-1", "attacker@example.com", True, "", {})
    await services.federation.link(squatted, identity)
    assert await services.federation.linked_account(identity) == squatted.id
    await services.email.send_magic_link(
        "micro",
        email="owner@example.com",
        subject="in",
        text_content="$micro_verification_link",
        address="localhost:8080",
        endpoint="magic",
    )
    async with services.db.read() as conn:
        body = (await conn.execute(select(mail_queue.c.body))).scalar_one()
    ok, _, session = await services.email.verify_token("micro", body.rsplit("/", 1)[1].strip())
    assert ok and session is not None
    assert await services.federation.linked_account(identity) is None
    assert await services.federation.links_of("micro", squatted.id) == []
