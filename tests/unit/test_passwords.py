"""Password hashing: parameters, upgrades on login, and accounts imported from Micro."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from micro_user.accounts.passwords import PasswordHasher, make_legacy_hash
from micro_user.errors import Unauthorized
from micro_user.storage.tables import accounts


async def stored_hash(services, account_id: str) -> str:
    async with services.db.read() as conn:
        return (
            await conn.execute(select(accounts.c.password_hash).where(accounts.c.id == account_id))
        ).scalar_one()


def test_default_parameters_are_owasp_argon2id():
    hashed = PasswordHasher().hash_sync("sturdy-pass-1")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_verify_reports_match_and_rehash_need():
    old = PasswordHasher(time_cost=1, memory_kib=8192)
    new = PasswordHasher()
    stored = old.hash_sync("sturdy-pass-1")
    assert new.verify_sync(stored, "sturdy-pass-1") == (True, True)
    assert new.verify_sync(stored, "wrong") == (False, False)
    assert new.verify_sync(new.hash_sync("sturdy-pass-1"), "sturdy-pass-1") == (True, False)
    assert new.verify_sync(None, "sturdy-pass-1") == (False, False)
    assert new.verify_sync("garbage", "sturdy-pass-1") == (False, False)


def test_micro_bcrypt_scheme_verifies():
    stored = make_legacy_hash("sturdy-pass-1", salt="abcdefghijklmnop")
    assert stored.startswith("micro-bcrypt$abcdefghijklmnop$")
    hasher = PasswordHasher()
    assert hasher.verify_sync(stored, "sturdy-pass-1") == (True, True)
    assert hasher.verify_sync(stored, "sturdy-pass-2")[0] is False


@pytest.mark.anyio
async def test_login_upgrades_the_hash_when_parameters_change(make_services):
    weak = make_services(argon2_time_cost=1, argon2_memory_kib=8192)
    account = await weak.accounts.create("micro", email="a@example.com", password="sturdy-pass-1")
    assert "m=8192,t=1" in await stored_hash(weak, account.id)
    await weak.close()
    strong = make_services()
    await strong.sessions.login("micro", email="a@example.com", password="sturdy-pass-1")
    assert "m=19456,t=2,p=1" in await stored_hash(strong, account.id)
    await strong.sessions.login("micro", email="a@example.com", password="sturdy-pass-1")
    await strong.close()


@pytest.mark.anyio
async def test_imported_micro_account_logs_in_and_moves_to_argon2id(services):
    from micro_user.transfer import import_accounts

    line = (
        '{"id": "legacy-1", "username": "old", "email": "old@example.com", "created": 1623677579,'
        f' "salt": "abcdefghijklmnop", "password": "{make_legacy_hash("sturdy-pass-1", "abcdefghijklmnop").split("$", 2)[2]}"}}'
    )
    report = await import_accounts(services, [line], default_namespace="micro", skip_existing=False)
    assert report.imported == 1
    with pytest.raises(Unauthorized):
        await services.sessions.login("micro", username="old", password="sturdy-pass-2")
    session = await services.sessions.login("micro", username="old", password="sturdy-pass-1")
    assert session.account_id == "legacy-1"
    assert (await stored_hash(services, "legacy-1")).startswith("$argon2id$")
    await services.sessions.login("micro", username="old", password="sturdy-pass-1")
