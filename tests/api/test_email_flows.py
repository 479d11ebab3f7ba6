"""Verification, password reset and magic link, end to end through a real SMTP server on loopback."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import httpx

from conftest import unique


def body_of(message) -> str:
    return message.get_payload(decode=True).decode()


def only_link(text: str) -> str:
    links = re.findall(r"https?://\S+", text)
    assert len(links) == 1, text
    return links[0]


def test_verification_link_verifies_and_redirects_once(server, api, new_user, mailbox):
    account, _ = new_user()
    api.ok(
        "SendVerificationEmail",
        email=account["email"],
        subject="Confirm your address",
        text_content="Hello! Click $micro_verification_link to confirm.",
        redirect_url="https://app.example.com/welcome",
        failure_redirect_url="https://app.example.com/oops",
        from_name="Example App",
    )
    [mail] = mailbox.wait_for(account["email"])
    assert mail["Subject"] == "Confirm your address"
    assert mail["From"].startswith("Example App")
    link = only_link(body_of(mail))
    assert link.startswith(f"{server.base_url}/v1/user/VerifyEmail?token=")
    query = parse_qs(urlsplit(link).query)
    assert query["redirectUrl"] == ["https://app.example.com/welcome"]
    # Opened in a browser: no API key, the token is the credential.
    first = httpx.get(link, follow_redirects=False)
    assert (
        first.status_code == 302 and first.headers["location"] == "https://app.example.com/welcome"
    )
    verified = api.ok("Read", id=account["id"])["account"]
    assert verified["verified"] is True
    assert abs(int(verified["verification_date"]) - time.time()) < 60
    again = httpx.get(link, follow_redirects=False)
    assert again.status_code == 302 and again.headers["location"] == "https://app.example.com/oops"


def test_verification_token_can_be_posted_with_a_key_once(api, new_user, mailbox):
    account, _ = new_user()
    api.ok(
        "SendVerificationEmail",
        email=account["email"],
        subject="s",
        text_content="$micro_verification_link",
    )
    token = parse_qs(urlsplit(only_link(body_of(mailbox.wait_for(account["email"])[0]))).query)[
        "token"
    ][0]
    assert api.ok("VerifyEmail", token=token) == {}
    assert api.ok("Read", id=account["id"])["account"]["verified"] is True
    assert api("VerifyEmail", token=token).status_code == 400
    assert api("VerifyEmail", token="made-up").status_code == 400
    assert (
        httpx.get(
            only_link(body_of(mailbox.wait_for(account["email"])[0])), follow_redirects=False
        ).status_code
        == 400
    )


def test_changing_the_email_clears_verified_and_voids_old_links(api, new_user, mailbox):
    account, _ = new_user()
    api.ok(
        "SendVerificationEmail",
        email=account["email"],
        subject="s",
        text_content="$micro_verification_link",
    )
    link = only_link(body_of(mailbox.wait_for(account["email"])[0]))
    api.ok("Update", id=account["id"], email=f"{unique()}@example.com")
    assert httpx.get(link, follow_redirects=False).status_code == 400
    assert api.ok("Read", id=account["id"])["account"]["verified"] is False


def test_verification_mail_needs_the_link_placeholder_and_valid_urls(api, new_user):
    account, _ = new_user()
    missing = api(
        "SendVerificationEmail", email=account["email"], subject="s", text_content="no link here"
    )
    assert missing.status_code == 400 and "$micro_verification_link" in missing.json()["detail"]
    bad_url = api(
        "SendVerificationEmail",
        email=account["email"],
        subject="s",
        text_content="$micro_verification_link",
        redirect_url="javascript:alert(1)",
    )
    assert bad_url.status_code == 400 and "redirect_url" in bad_url.json()["detail"]


def test_mail_for_an_unknown_address_answers_the_same_and_sends_nothing(api, mailbox, new_user):
    ghost = f"{unique('ghost')}@example.com"
    known, _ = new_user()
    assert (
        api.ok(
            "SendVerificationEmail",
            email=ghost,
            subject="s",
            text_content="$micro_verification_link",
        )
        == {}
    )
    assert api.ok("SendPasswordResetEmail", email=ghost, subject="s", text_content="$code") == {}
    assert (
        api.ok(
            "SendMagicLink",
            email=ghost,
            subject="s",
            text_content="$micro_verification_link",
            address="example.com",
            endpoint="login",
        )
        == {}
    )
    # Two marker mails, the second asked for once the first arrived: the sender works in
    # rounds, oldest first, so when the second arrives every mail queued before the first
    # (a ghost's too, had one been queued) has been sent.
    for count in (1, 2):
        api.ok("SendPasswordResetEmail", email=known["email"], subject="s", text_content="$code")
        mailbox.wait_for(known["email"], count=count)
    assert mailbox.sent_to(ghost) == []


def reset_code(mailbox, email: str, count: int = 1) -> str:
    text = body_of(mailbox.wait_for(email, count=count)[count - 1])
    return re.search(r"code: (\S+)", text).group(1)


def test_password_reset_with_the_mailed_code(api, new_user, mailbox):
    account, password = new_user()
    session = api.ok("Login", email=account["email"], password=password)["session"]
    api.ok(
        "SendPasswordResetEmail",
        email=account["email"],
        subject="Reset",
        text_content="Your code: $code",
        expiration="600",
    )
    code = reset_code(mailbox, account["email"])
    new = {
        "email": account["email"],
        "new_password": "brand new pass",
        "confirm_password": "brand new pass",
    }
    mismatch = api("ResetPassword", **{**new, "confirm_password": "other"}, code=code)
    assert mismatch.status_code == 400 and "match" in mismatch.json()["detail"]
    wrong = api("ResetPassword", **new, code="WRONGCODE1")
    assert wrong.status_code == 400 and wrong.json()["detail"] == "invalid or expired code"
    api.ok("ResetPassword", **new, code=code.lower())
    assert api("Login", email=account["email"], password=password).status_code == 401
    api.ok("Login", email=account["email"], password="brand new pass")
    # A reset ends the sessions made with the old password, and a code works once.
    assert api("ReadSession", session_id=session["id"]).status_code == 401
    assert api("ResetPassword", **new, code=code).status_code == 400


def test_reset_codes_stop_working_after_too_many_wrong_guesses(api, new_user, mailbox):
    account, _ = new_user()
    api.ok(
        "SendPasswordResetEmail",
        email=account["email"],
        subject="Reset",
        text_content="Your code: $code",
    )
    code = reset_code(mailbox, account["email"])
    new = {
        "email": account["email"],
        "new_password": "brand new pass",
        "confirm_password": "brand new pass",
    }
    for _ in range(5):
        assert api("ResetPassword", **new, code="GUESS12345").status_code == 400
    assert api("ResetPassword", **new, code=code).status_code == 400


def test_reset_mail_needs_the_code_placeholder_and_a_sane_expiration(api, new_user):
    account, _ = new_user()
    assert (
        api(
            "SendPasswordResetEmail", email=account["email"], subject="s", text_content="no code"
        ).status_code
        == 400
    )
    too_short = api(
        "SendPasswordResetEmail",
        email=account["email"],
        subject="s",
        text_content="$code",
        expiration=5,
    )
    assert too_short.status_code == 400 and "expiration" in too_short.json()["detail"]


def test_magic_link_logs_in_once(api, new_user, mailbox):
    account, _ = new_user()
    api.ok(
        "SendMagicLink",
        email=account["email"],
        subject="Log in",
        text_content="Go: $micro_verification_link",
        address="app.example.com",
        endpoint="auth/magic",
    )
    link = only_link(body_of(mailbox.wait_for(account["email"])[0]))
    match = re.fullmatch(r"https://app\.example\.com/auth/magic/([A-Za-z0-9_-]{43})", link)
    assert match, link
    result = api.ok("VerifyToken", token=match.group(1))
    assert result["is_valid"] is True and result["message"] == ""
    assert result["session"]["userId"] == account["id"]
    assert (
        api.ok("ReadSession", session_id=result["session"]["id"])["account"]["id"] == account["id"]
    )
    again = api.ok("VerifyToken", token=match.group(1))
    assert again["is_valid"] is False and again["message"]
    assert again["session"] == {"id": "", "userId": "", "created": "0", "expires": "0"}


def test_verify_token_answers_bad_tokens_without_an_error(api):
    for token in ("", "made-up-token"):
        result = api.ok("VerifyToken", token=token)
        assert result["is_valid"] is False and result["message"]
