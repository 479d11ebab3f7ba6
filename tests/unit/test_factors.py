"""Second factors (micro_user/factors/service.py) with a fake clock and pyotp (an outside
TOTP implementation) as the authenticator app: a code works within one step either side
and once; recovery codes work once; the secret is sealed at rest; Login asks for the
factor with its own error id; guessing codes locks the guesser out like passwords do."""

from __future__ import annotations

import base64

import pyotp
import pytest
from sqlalchemy import select

from micro_user.auth.key_encryption import key_id, new_key
from micro_user.errors import BadRequest, TooManyRequests, Unauthorized
from micro_user.factors.service import SecondFactorRequired
from micro_user.storage.tables import events, mail_queue, totp_factors

pytestmark = pytest.mark.anyio
PASSWORD = "correct horse 1"


@pytest.fixture
async def ada(services):
    await services.start()
    return await services.accounts.create(
        "micro", username="ada", email="ada@example.com", password=PASSWORD
    )


async def enrolled(services, account, clock) -> tuple[pyotp.TOTP, list[str]]:
    secret, uri = await services.factors.start_totp(account)
    assert uri.startswith("otpauth://totp/") and secret in uri
    app = pyotp.TOTP(secret)
    codes = await services.factors.confirm_totp(account, app.at(clock.now))
    clock.now += 30  # the confirming code's step is spent
    return app, codes


async def test_login_asks_for_the_second_factor_and_takes_it_once(services, ada, clock):
    app, _ = await enrolled(services, ada, clock)
    with pytest.raises(SecondFactorRequired) as asked:
        await services.sessions.login("micro", username="ada", password=PASSWORD)
    assert asked.value.id == "user.login.second_factor" and asked.value.code == 401
    code = app.at(clock.now)
    session = await services.sessions.login(
        "micro", username="ada", password=PASSWORD, factor_code=code
    )
    assert session.amr == "pwd otp mfa"
    with pytest.raises(Unauthorized, match="invalid second factor"):
        await services.sessions.login("micro", username="ada", password=PASSWORD, factor_code=code)
    # A wrong password is a wrong password, whatever the code.
    with pytest.raises(Unauthorized) as wrong:
        await services.sessions.login(
            "micro", username="ada", password="nope", factor_code=app.at(clock.now + 30)
        )
    assert wrong.value.id == "user.login"


@pytest.mark.parametrize(
    ("offset", "accepted"), [(-60, False), (-30, True), (30, True), (60, False)]
)
async def test_a_code_is_taken_one_step_either_side(services, ada, clock, offset, accepted):
    app, _ = await enrolled(services, ada, clock)
    clock.now += 90  # well past the confirming step
    code = app.at(clock.now + offset)
    if accepted:
        assert await services.factors.check(ada, code, "user.login") == "otp"
    else:
        with pytest.raises(Unauthorized):
            await services.factors.check(ada, code, "user.login")


async def test_recovery_codes_work_once_each(services, ada, clock):
    _, codes = await enrolled(services, ada, clock)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert await services.factors.check(ada, codes[0].lower(), "user.login") == "otp"
    with pytest.raises(Unauthorized):
        await services.factors.check(ada, codes[0], "user.login")
    assert (await services.factors.status("micro", ada.id)).recovery_codes_left == 9
    fresh = await services.factors.regenerate_recovery_codes(ada)
    with pytest.raises(Unauthorized):
        await services.factors.check(ada, codes[1], "user.login")  # the old ones are void
    assert await services.factors.check(ada, fresh[1], "user.login") == "otp"


async def test_the_secret_is_sealed_at_rest(services, ada, clock):
    secret, _ = await services.factors.start_totp(ada)
    async with services.db.read() as conn:
        row = (await conn.execute(select(totp_factors))).one()
    assert secret not in str(tuple(row)) and row.kek_id


async def test_guessing_codes_locks_the_guesser_out(services, ada, clock):
    app, _ = await enrolled(services, ada, clock)
    refusals = []
    for guess in range(8):
        try:
            await services.factors.check(ada, f"{guess:06d}", "user.login")
        except Unauthorized:
            refusals.append("wrong")
        except TooManyRequests:
            refusals.append("locked")
    assert refusals[:5] == ["wrong"] * 5 and set(refusals[5:]) == {"locked"}


async def test_a_magic_link_is_not_enough_for_an_account_with_a_second_factor(services, ada, clock):
    await enrolled(services, ada, clock)
    await services.email.send_magic_link(
        "micro",
        email="ada@example.com",
        subject="in",
        text_content="$micro_verification_link",
        address="localhost:8080",
        endpoint="magic",
    )
    # The token is only in the mail: read it back from the queue.
    async with services.db.read() as conn:
        body = (await conn.execute(select(mail_queue.c.body))).scalar_one()
    token = body.rsplit("/", 1)[1].strip()
    ok, reason, session = await services.email.verify_token("micro", token)
    assert not ok and session is None and "second factor" in reason


async def test_removing_the_factor_is_an_event(services, ada, clock):
    await enrolled(services, ada, clock)
    await services.factors.remove(ada, reason="operator")
    assert not await services.factors.required("micro", ada.id)
    async with services.db.read() as conn:
        kinds = [row.type for row in await conn.execute(select(events.c.type))]
    assert "factor.enabled" in kinds and "factor.disabled" in kinds
    session = await services.sessions.login("micro", username="ada", password=PASSWORD)
    assert session.amr == "pwd"


async def test_totp_keys_are_resealed_when_the_key_encryption_key_rotates(make_services, clock):
    old, new = new_key(), new_key()
    first = make_services(key_encryption_key=old)
    await first.start()
    ada = await first.accounts.create(
        "micro", username="ada", email="ada@example.com", password=PASSWORD
    )
    app, _ = await enrolled(first, ada, clock)
    await first.close()
    both = make_services(key_encryption_key=f"{new},{old}")
    assert await both.factors.rewrap() == 1
    await both.close()
    only_new = make_services(key_encryption_key=new)
    async with only_new.db.read() as conn:
        [row] = (await conn.execute(select(totp_factors))).all()
    assert row.kek_id == key_id(base64.b64decode(new))
    assert await only_new.factors.check(ada, app.at(clock.now), "user.login") == "otp"
    await only_new.close()


async def test_a_policy_requires_a_factor_of_everyone_or_of_roles(services, ada, clock):
    with pytest.raises(BadRequest, match="none, everyone, roles"):
        await services.factors.set_policy("micro", "some")
    with pytest.raises(BadRequest, match="roles"):
        await services.factors.set_policy("micro", "roles")
    for wrong in ("", " auditor", "two words"):  # refused, never trimmed or dropped
        with pytest.raises(BadRequest, match="not a role name"):
            await services.factors.set_policy("micro", "roles", [wrong])
    with pytest.raises(BadRequest, match="not a role name"):
        await services.factors.set_policy("micro", "none", [""])
    await services.factors.set_policy("micro", "roles", ["auditor"])
    assert not await services.factors.must_have("micro", ada.id)
    await services.roles.create("micro", "auditor")
    await services.roles.grant("micro", "user", ada.id, "auditor")
    assert await services.factors.must_have("micro", ada.id)
    with pytest.raises(Unauthorized) as asked:
        await services.sessions.login("micro", username="ada", password=PASSWORD)
    assert asked.value.id == "user.login.second_factor_setup"
    # Inside sign-in: the password parks as a pending token; the first code finishes it.
    account, _, _ = await services.sessions.authenticate("micro", username="ada", password=PASSWORD)
    pending = await services.sessions.begin_second_factor(account)
    secret, _ = await services.factors.start_totp(account)
    session, codes = await services.sessions.finish_with_new_factor(
        "micro", pending, pyotp.TOTP(secret).at(clock.now)
    )
    assert session.amr == "pwd otp mfa" and len(codes) == 10
    with pytest.raises(Unauthorized, match="expired"):  # the pending sign-in worked once
        await services.sessions.finish_second_factor("micro", pending, codes[0])
    # The policy keeps the factor: the user cannot remove it (an operator can).
    with pytest.raises(BadRequest, match="requires a second factor"):
        await services.factors.remove(ada, reason="user")
    await services.factors.remove(ada, reason="operator")
    await services.factors.set_policy("micro", "none")
    assert (await services.sessions.login("micro", username="ada", password=PASSWORD)).amr == "pwd"
