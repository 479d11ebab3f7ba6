"""Secrets never reach the server's log."""

from __future__ import annotations

import re

from conftest import unique


def test_passwords_sessions_tokens_codes_and_keys_stay_out_of_the_log(
    server, api, mailbox, admin_key
):
    name = unique()
    password = f"pw-{unique()}-secret"
    account = api.ok("Create", username=name, email=f"{name}@example.com", password=password)[
        "account"
    ]
    session = api.ok("Login", username=name, password=password)["session"]
    api.ok("ReadSession", session_id=session["id"])
    api.ok(
        "SendPasswordResetEmail", email=account["email"], subject="s", text_content="code: $code"
    )
    code = re.search(
        r"code: (\S+)", mailbox.wait_for(account["email"])[0].get_payload(decode=True).decode()
    ).group(1)
    new_password = f"pw-{unique()}-new"
    api.ok(
        "ResetPassword",
        email=account["email"],
        code=code,
        new_password=new_password,
        confirm_password=new_password,
    )
    api.ok(
        "SendMagicLink",
        email=account["email"],
        subject="s",
        text_content="$micro_verification_link",
        address="example.com",
        endpoint="go",
    )
    token = (
        mailbox.wait_for(account["email"], count=2)[1]
        .get_payload(decode=True)
        .decode()
        .rsplit("/", 1)[1]
        .strip()
    )
    api.ok("VerifyToken", token=token)
    api("Login", username=name, password="wrong-" + password)
    log = server.log()
    assert "/v1/user/Login" in log  # the request log is there
    for secret in (password, new_password, session["id"], code, token, admin_key):
        assert secret not in log, secret
