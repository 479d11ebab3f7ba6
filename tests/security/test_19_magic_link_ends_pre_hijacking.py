"""Finding 19: account pre-hijacking.

The attacker signs up with the victim's address and a password of its own, logs in and
trades the session for tokens, then waits. The victim, never having signed up, logs in
with a magic link: that proves the address, so the account becomes verified, and the
attacker's password, sessions and refresh tokens end. The victim sets a password with a
reset. An account whose address was already proven keeps its password and sessions.
"""

from __future__ import annotations

import re

import httpx

from conftest import unique

LINK = "$micro_verification_link"


def magic_login(api, mailbox, email: str, count: int = 1) -> dict:
    api.ok(
        "SendMagicLink",
        email=email,
        subject="Log in",
        text_content=f"Go: {LINK}",
        address="app.example.com",
        endpoint="login",
    )
    text = mailbox.wait_for(email, count=count)[count - 1].get_payload(decode=True).decode()
    token = re.search(r"https://app\.example\.com/login/(\S+)", text).group(1)
    result = api.ok("VerifyToken", token=token)
    assert result["is_valid"] is True, result
    return result["session"]


def test_a_magic_link_login_ends_what_an_attacker_set_up_before(server, api, mailbox):
    victim = f"{unique('victim')}@example.com"
    anonymous = httpx.Client(base_url=server.base_url, timeout=30)
    try:
        # The attacker registers the victim's address with its own password.
        attacker_password = "attacker pass 1"
        account = api.ok("Create", email=victim, password=attacker_password)["account"]
        assert account["verified"] is False
        attacker_session = api.ok("Login", email=victim, password=attacker_password)["session"]
        tokens = anonymous.post(
            "/v1/auth/Auth/Token", json={"session_id": attacker_session["id"]}
        ).json()["token"]

        # The owner logs in with a magic link.
        own = magic_login(api, mailbox, victim)
        assert own["userId"] == account["id"]

        read = api.ok("Read", id=account["id"])["account"]
        assert read["verified"] is True and int(read["verification_date"]) > 0
        # The attacker's password, session and refresh token are gone.
        assert api("Login", email=victim, password=attacker_password).status_code == 401
        assert api("ReadSession", session_id=attacker_session["id"]).status_code == 401
        refreshed = anonymous.post(
            "/v1/auth/Auth/Token", json={"refresh_token": tokens["refresh_token"]}
        )
        assert refreshed.status_code == 401, refreshed.text
        # The owner's own session works, and the owner sets a password with a reset.
        assert api.ok("ReadSession", session_id=own["id"])["account"]["id"] == account["id"]
        api.ok("SendPasswordResetEmail", email=victim, subject="Reset", text_content="c: $code")
        text = mailbox.wait_for(victim, count=2)[1].get_payload(decode=True).decode()
        code = re.search(r"c: (\S+)", text).group(1)
        api.ok(
            "ResetPassword",
            email=victim,
            code=code,
            new_password="owner pass 22",
            confirm_password="owner pass 22",
        )
        api.ok("Login", email=victim, password="owner pass 22")
    finally:
        anonymous.close()


def test_a_proven_address_keeps_its_password_and_sessions(api, new_user, mailbox):
    account, password = new_user()
    api.ok("SendVerificationEmail", email=account["email"], subject="s", text_content=LINK)
    text = mailbox.wait_for(account["email"])[0].get_payload(decode=True).decode()
    assert httpx.get(re.search(r"https?://\S+", text).group(0)).status_code < 400
    assert api.ok("Read", id=account["id"])["account"]["verified"] is True
    session = api.ok("Login", email=account["email"], password=password)["session"]
    magic_login(api, mailbox, account["email"], count=2)
    api.ok("Login", email=account["email"], password=password)
    api.ok("ReadSession", session_id=session["id"])
