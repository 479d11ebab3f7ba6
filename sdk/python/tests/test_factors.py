"""Two-step sign-in through the SDK, with both clients, on a live server: set up an
authenticator (pyotp plays the app), then login needs factor_code; recovery codes work
once and can be renewed; turning it off takes a current code."""

from __future__ import annotations

import time

import pyotp
import pytest
from sdk_testing import PASSWORD, Users, new_account
from sdk_testing import anyio_backend_fixture as anyio_backend_fixture
from sdk_testing import flavour_fixture as flavour_fixture
from sdk_testing import users_fixture as users_fixture

from microuser import BadRequestError, UnauthorizedError

pytestmark = pytest.mark.anyio


async def test_two_step_sign_in_from_set_up_to_removal(users: Users) -> None:
    account = await new_account(users)
    secret, uri = await users.start_totp(account.id)
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    app = pyotp.TOTP(secret)
    with pytest.raises(BadRequestError):
        await users.confirm_totp(account.id, "000000" if app.now() != "000000" else "111111")
    codes = await users.confirm_totp(account.id, app.now())
    assert len(codes) == 10

    with pytest.raises(UnauthorizedError) as asked:
        await users.login(PASSWORD, username=account.username)
    assert asked.value.id == "user.login.second_factor"
    session = await users.login(PASSWORD, username=account.username, factor_code=codes[0])
    assert session.user_id == account.id
    with pytest.raises(UnauthorizedError):
        await users.login(PASSWORD, username=account.username, factor_code=codes[0])

    renewed = await users.regenerate_recovery_codes(account.id, codes[1])
    assert set(renewed).isdisjoint(codes)
    with pytest.raises(UnauthorizedError):
        await users.remove_factors(account.id, codes[2])  # voided by the renewal
    await users.remove_factors(account.id, app.at(time.time() + 30))
    assert (await users.login(PASSWORD, username=account.username)).user_id == account.id
