"""The mailed flows end to end with both clients: a live server, a real SMTP server on
loopback, and the links and codes read from the mails."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sdk_testing import PASSWORD, Users, mail_to, new_account, only_link, text_of
from sdk_testing import anyio_backend_fixture as anyio_backend_fixture
from sdk_testing import flavour_fixture as flavour_fixture
from sdk_testing import users_fixture as users_fixture

from microuser import BadRequestError, UnauthorizedError, VerifyTokenResult

pytestmark = pytest.mark.anyio

NEW_PASSWORD = "a brand new password"
WELCOME = "https://app.example.com/welcome"
OOPS = "https://app.example.com/oops"


async def test_password_reset_with_the_mailed_code(users: Users, mailbox: Any) -> None:
    account = await new_account(users)
    await users.login(PASSWORD, email=account.email)
    sent = await users.send_password_reset_email(
        account.email, "Reset your password", "Your code: $code.", from_name="Acme", expiration=600
    )
    assert sent is None
    mail = mail_to(mailbox, account.email)
    assert mail["Subject"] == "Reset your password"
    assert mail["From"].startswith("Acme <")
    match = re.search(r"Your code: (\w+)\.", text_of(mail))
    assert match, text_of(mail)
    code = match[1]

    assert await users.reset_password(account.email, code, NEW_PASSWORD, NEW_PASSWORD) is None
    assert (await users.login(NEW_PASSWORD, email=account.email)).user_id == account.id
    with pytest.raises(UnauthorizedError):
        await users.login(PASSWORD, email=account.email)
    with pytest.raises(BadRequestError) as reused:
        await users.reset_password(account.email, code, PASSWORD, PASSWORD)
    assert reused.value.id == "user.resetpassword"


async def test_magic_link_token_logs_in_once(users: Users, mailbox: Any) -> None:
    account = await new_account(users)
    await users.send_magic_link(
        account.email,
        "Your login link",
        "Log in: $micro_verification_link",
        address="app.example.com",
        endpoint="magic",
    )
    link = only_link(text_of(mail_to(mailbox, account.email)))
    match = re.fullmatch(r"https://app\.example\.com/magic/([\w-]+)", link)
    assert match, link

    result = await users.verify_token(match[1])
    assert (result.is_valid, result.message) == (True, "")
    assert result.session is not None and result.session.user_id == account.id
    session, owner = await users.read_session(result.session.id)
    # The link proved the address: the account is verified now (and otherwise unchanged).
    assert owner.verified and owner.verification_date > 0
    proven = replace(
        account, verified=True, verification_date=owner.verification_date, updated=owner.updated
    )
    assert (session, owner) == (result.session, proven)

    again = await users.verify_token(match[1])
    assert again.is_valid is False and again.session is None
    assert again.message  # says why, for people


async def test_an_unknown_token_is_an_answer_not_an_error(users: Users) -> None:
    result = await users.verify_token("not-a-token")
    assert result == VerifyTokenResult(is_valid=False, message=result.message, session=None)
    assert result.message


async def test_verification_link_verifies_and_redirects(
    users: Users, server: Any, mailbox: Any
) -> None:
    account = await new_account(users)
    await users.send_verification_email(
        account.email,
        "Confirm your address",
        "Click $micro_verification_link to confirm.",
        redirect_url=WELCOME,
        failure_redirect_url=OOPS,
        from_name="Acme",
    )
    link = only_link(text_of(mail_to(mailbox, account.email)))
    assert link.startswith(f"{server.base_url}/v1/user/VerifyEmail?")

    opened = httpx.get(link, follow_redirects=False)
    assert (opened.status_code, opened.headers["location"]) == (302, WELCOME)
    verified = await users.read(id=account.id)
    assert verified.verified is True
    assert verified.verification_date >= account.created

    again = httpx.get(link, follow_redirects=False)
    assert (again.status_code, again.headers["location"]) == (302, OOPS)


async def test_verify_email_with_the_token_of_the_link(users: Users, mailbox: Any) -> None:
    account = await new_account(users)
    await users.send_verification_email(account.email, "Confirm", "$micro_verification_link")
    link = only_link(text_of(mail_to(mailbox, account.email)))
    [token] = parse_qs(urlsplit(link).query)["token"]

    assert await users.verify_email(token) is None
    assert (await users.read(email=account.email)).verified is True
    with pytest.raises(BadRequestError) as reused:
        await users.verify_email(token)
    assert reused.value.id == "user.verifyemail"
