"""Finding 6: wrong reset codes void only the codes that were live when they were tried.

The attacker knows the victim's address and sends wrong codes to ResetPassword, hoping
to block every reset of that account for good. A code sent after the burst starts afresh.
"""

from __future__ import annotations

import re

WRONG = "GUESS12345"


def send_code(api, mailbox, email: str, count: int) -> str:
    api.ok("SendPasswordResetEmail", email=email, subject="Reset", text_content="code: $code")
    text = mailbox.wait_for(email, count=count)[count - 1].get_payload(decode=True).decode()
    return re.search(r"code: (\S+)", text).group(1)


def reset(api, email: str, code: str, password: str = "brand new pass 7"):
    return api(
        "ResetPassword",
        email=email,
        code=code,
        new_password=password,
        confirm_password=password,
    )


def test_five_wrong_codes_void_the_live_code_but_a_new_code_works(api, new_user, mailbox):
    account, _ = new_user()
    email = account["email"]
    first = send_code(api, mailbox, email, 1)
    for _ in range(5):
        assert reset(api, email, WRONG).status_code == 400
    # The code that was live while the attacker guessed is void ...
    assert reset(api, email, first).status_code == 400
    # ... and the owner asks for a new one, which works.
    second = send_code(api, mailbox, email, 2)
    assert reset(api, email, second).status_code == 200
    api.ok("Login", email=email, password="brand new pass 7")


def test_a_wrong_code_burst_cannot_void_a_code_sent_later(api, new_user, mailbox):
    account, _ = new_user()
    email = account["email"]
    for _ in range(12):
        assert reset(api, email, WRONG).status_code == 400
    code = send_code(api, mailbox, email, 1)
    assert reset(api, email, code).status_code == 200


def test_failures_count_against_every_live_code(api, new_user, mailbox):
    account, _ = new_user()
    email = account["email"]
    first = send_code(api, mailbox, email, 1)
    second = send_code(api, mailbox, email, 2)
    for _ in range(5):
        assert reset(api, email, WRONG).status_code == 400
    assert reset(api, email, first).status_code == 400
    assert reset(api, email, second).status_code == 400
