"""Create, Read, Update, Delete, List and UpdatePassword with both clients, on a live server."""

from __future__ import annotations

import pytest
from conftest import unique
from sdk_testing import PASSWORD, Users, connect, new_account
from sdk_testing import anyio_backend_fixture as anyio_backend_fixture
from sdk_testing import flavour_fixture as flavour_fixture
from sdk_testing import users_fixture as users_fixture

from microuser import Account, BadRequestError, NotFoundError, UnauthorizedError

pytestmark = pytest.mark.anyio


async def test_create_returns_the_account_as_stored(users: Users) -> None:
    name = unique("Sdk")
    account = await users.create(
        email=f" {name}@Example.COM ",
        password=PASSWORD,
        username=name.upper(),
        id=f"id-{name}",
        profile={"plan": "pro"},
    )
    assert account == Account(
        id=f"id-{name}",
        username=name.lower(),
        email=f"{name.lower()}@example.com",
        created=account.created,
        updated=account.created,
        verified=False,
        verification_date=0,
        profile={"plan": "pro"},
    )
    assert isinstance(account.created, int) and account.created > 1_600_000_000
    assert await users.read(id=account.id) == account


async def test_create_generates_an_id_when_none_is_given(users: Users) -> None:
    first, second = await new_account(users), await new_account(users)
    assert first.id and second.id and first.id != second.id
    assert first.profile == {}


async def test_read_by_id_username_or_email(users: Users) -> None:
    account = await new_account(users)
    assert await users.read(id=account.id) == account
    assert await users.read(username=account.username.upper()) == account
    assert await users.read(email=account.email.upper()) == account
    with pytest.raises(NotFoundError):
        await users.read(username=unique("ghost"))


async def test_update_changes_only_the_given_fields(users: Users) -> None:
    account = await new_account(users, profile={"plan": "free"})
    new_name = unique("renamed")
    assert await users.update(account.id, username=new_name) is None
    renamed = await users.read(id=account.id)
    assert (renamed.username, renamed.email, renamed.profile) == (
        new_name,
        account.email,
        {"plan": "free"},
    )
    assert renamed.updated >= account.updated
    await users.update(account.id, email=f"{new_name}@example.org", profile={"plan": "pro"})
    moved = await users.read(id=account.id)
    assert (moved.username, moved.email, moved.profile) == (
        new_name,
        f"{new_name}@example.org",
        {"plan": "pro"},
    )
    with pytest.raises(NotFoundError):
        await users.update(unique("ghost"), username=unique())


async def test_delete_removes_the_account_and_its_sessions(users: Users) -> None:
    account = await new_account(users)
    session = await users.login(PASSWORD, username=account.username)
    assert await users.delete(account.id) is None
    with pytest.raises(NotFoundError):
        await users.read(id=account.id)
    with pytest.raises(UnauthorizedError):
        await users.read_session(session.id)
    with pytest.raises(NotFoundError):
        await users.delete(account.id)


async def every_account(users: Users) -> list[Account]:
    accounts: list[Account] = []
    while page := await users.list(offset=len(accounts), limit=1000):
        accounts += page
    return accounts


async def test_list_pages_with_offset_and_limit_oldest_first(users: Users) -> None:
    made = [await new_account(users) for _ in range(3)]
    everyone = await every_account(users)
    assert all(account in everyone for account in made)
    assert [a.created for a in everyone] == sorted(a.created for a in everyone)
    start = everyone.index(made[1]) - 1
    assert await users.list(offset=start, limit=2) == everyone[start : start + 2]
    assert await users.list(offset=start + 2) == everyone[start + 2 : start + 27]
    assert await users.list() == everyone[:25]


async def test_update_password(users: Users) -> None:
    account = await new_account(users)
    new = "a much better password"
    with pytest.raises(UnauthorizedError) as wrong_old:  # as Micro's handler answers
        await users.update_password(account.id, "not the password", new, new)
    with pytest.raises(BadRequestError) as mismatch:
        await users.update_password(account.id, PASSWORD, new, new + "!")
    assert wrong_old.value.id == mismatch.value.id == "user.updatepassword"
    assert await users.update_password(account.id, PASSWORD, new, new) is None
    session = await users.login(new, email=account.email)
    assert session.user_id == account.id
    with pytest.raises(UnauthorizedError):
        await users.login(PASSWORD, email=account.email)


async def test_a_user_changing_their_own_email_gives_the_password(
    users: Users, flavour: str, server
) -> None:
    account = await new_account(users)
    session = await users.login(PASSWORD, username=account.username)
    async with connect(flavour, server.base_url, session.id) as own:
        with pytest.raises(BadRequestError):
            await own.update(account.id, email=f"{unique()}@example.org")
        new_email = f"{unique()}@example.org"
        await own.update(account.id, email=new_email, password=PASSWORD)
    assert (await users.read(id=account.id)).email == new_email
