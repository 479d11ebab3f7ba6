"""Login, ReadSession, Logout and LogoutAll with both clients, on a live server."""

from __future__ import annotations

import pytest
from conftest import unique
from sdk_testing import PASSWORD, Users, new_account
from sdk_testing import anyio_backend_fixture as anyio_backend_fixture
from sdk_testing import flavour_fixture as flavour_fixture
from sdk_testing import users_fixture as users_fixture

from microuser import NotFoundError, Session, UnauthorizedError

pytestmark = pytest.mark.anyio

WEEK = 7 * 24 * 3600


async def test_login_by_username_or_email_starts_a_week_long_session(users: Users) -> None:
    account = await new_account(users)
    by_name = await users.login(PASSWORD, username=account.username.upper())
    by_email = await users.login(password=PASSWORD, email=account.email)
    for session in (by_name, by_email):
        assert isinstance(session, Session)
        assert session.user_id == account.id
        assert session.expires - session.created == WEEK
    assert by_name.id != by_email.id


async def test_wrong_password_and_unknown_account_are_unauthorized(users: Users) -> None:
    account = await new_account(users)
    with pytest.raises(UnauthorizedError) as wrong:
        await users.login("wrong password", username=account.username)
    with pytest.raises(UnauthorizedError) as unknown:
        await users.login("wrong password", username=unique("ghost"))
    assert (wrong.value.id, wrong.value.detail) == (unknown.value.id, unknown.value.detail)
    assert wrong.value.id == "user.login"


async def test_read_session_gives_the_session_and_its_account(users: Users) -> None:
    account = await new_account(users)
    session = await users.login(PASSWORD, username=account.username)
    assert await users.read_session(session.id) == (session, account)


async def test_logout_ends_the_session_once(users: Users) -> None:
    account = await new_account(users)
    session = await users.login(PASSWORD, username=account.username)
    assert await users.logout(session.id) is None
    with pytest.raises(UnauthorizedError) as ended:
        await users.read_session(session.id)
    assert ended.value.id == "user.readsession"
    with pytest.raises(NotFoundError):
        await users.logout(session.id)


async def test_logout_all_ends_every_session_of_the_account_only(users: Users) -> None:
    account, other = await new_account(users), await new_account(users)
    sessions = [await users.login(PASSWORD, email=account.email) for _ in range(2)]
    kept = await users.login(PASSWORD, email=other.email)
    assert await users.logout_all(account.id) is None
    for session in sessions:
        with pytest.raises(UnauthorizedError):
            await users.read_session(session.id)
    assert (await users.read_session(kept.id))[1] == other
    with pytest.raises(NotFoundError):
        await users.logout_all(unique("ghost"))
