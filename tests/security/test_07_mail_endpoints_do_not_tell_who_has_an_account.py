"""Finding 7: the mail endpoints must not tell who has an account.

The attacker sends SendPasswordResetEmail, SendMagicLink, SendVerificationEmail and
ResetPassword for an address it wants to probe and compares the answer with one for an
address that surely has no account: status, body, time, with a header injection in the
subject, and while the mail server is down. Every answer must be the same.
"""

from __future__ import annotations

import sqlite3
import statistics
import time

import httpx
import pytest

from conftest import unique
from tests.support.services import ADMIN_KEY, ServerProcess, SmtpServer, free_port

LINK = "$micro_verification_link"
REQUESTS = {
    "SendPasswordResetEmail": {"subject": "Reset", "text_content": "code: $code"},
    "SendMagicLink": {
        "subject": "Log in",
        "text_content": LINK,
        "address": "app.example.com",
        "endpoint": "login",
    },
    "SendVerificationEmail": {"subject": "Confirm", "text_content": LINK},
    "ResetPassword": {
        "code": "WRONGCODE1",
        "new_password": "brand new pass 7",
        "confirm_password": "brand new pass 7",
    },
}
SAMPLES = 200
MAX_RATIO = 1.25


def answer(response: httpx.Response) -> tuple[int, bytes]:
    return response.status_code, response.content


@pytest.mark.parametrize("endpoint", REQUESTS)
def test_known_and_unknown_addresses_get_the_same_answer(api, new_user, endpoint):
    known = new_user()[0]["email"]
    unknown = f"{unique('ghost')}@example.com"
    fields = REQUESTS[endpoint]
    assert answer(api(endpoint, email=known, **fields)) == answer(
        api(endpoint, email=unknown, **fields)
    )


@pytest.mark.parametrize("endpoint", [e for e in REQUESTS if e != "ResetPassword"])
@pytest.mark.parametrize(
    "field,value",
    [
        ("subject", "Hi\r\nBcc: victim@evil.example"),
        ("subject", "Hi\nX-Injected: 1"),
        ("subject", "Hi\x00there"),
        ("from_name", "Support\r\nBcc: victim@evil.example"),
        ("from_name", "Support\u0085Bcc: x"),
        ("from_name", "Support\u2028Bcc: x"),
    ],
)
def test_header_injection_is_a_400_for_everyone(api, new_user, mailbox, endpoint, field, value):
    known = new_user()[0]["email"]
    unknown = f"{unique('ghost')}@example.com"
    fields = {**REQUESTS[endpoint], field: value}
    first, second = api(endpoint, email=known, **fields), api(endpoint, email=unknown, **fields)
    assert first.status_code == 400, first.text
    assert field in first.json()["detail"]
    assert answer(first) == answer(second)
    assert mailbox.sent_to(known) == []


@pytest.mark.parametrize("endpoint", [e for e in REQUESTS if e != "ResetPassword"])
def test_a_missing_placeholder_is_a_400_for_everyone(api, new_user, endpoint):
    known = new_user()[0]["email"]
    unknown = f"{unique('ghost')}@example.com"
    fields = {**REQUESTS[endpoint], "text_content": "no placeholder"}
    first, second = api(endpoint, email=known, **fields), api(endpoint, email=unknown, **fields)
    assert first.status_code == 400 and answer(first) == answer(second)


@pytest.mark.parametrize("endpoint", REQUESTS)
def test_known_and_unknown_addresses_take_the_same_time(api, new_user, endpoint):
    known = new_user()[0]["email"]
    unknown = f"{unique('ghost')}@example.com"
    fields = REQUESTS[endpoint]
    times: dict[str, list[float]] = {known: [], unknown: []}

    def timed(email: str) -> None:
        started = time.perf_counter()
        response = api(endpoint, email=email, **fields)
        times[email].append(time.perf_counter() - started)
        assert response.status_code in (200, 400), response.text

    for _ in range(20):  # warm up both paths
        timed(known)
        timed(unknown)
    times = {known: [], unknown: []}
    # Interleaved, alternating which goes first, so that a busy machine slows both alike.
    for i in range(SAMPLES):
        pair = (known, unknown) if i % 2 == 0 else (unknown, known)
        for email in pair:
            timed(email)
    k, u = statistics.median(times[known]), statistics.median(times[unknown])
    ratio = max(k, u) / min(k, u)
    assert ratio <= MAX_RATIO, (
        f"{endpoint}: median {k * 1000:.2f} ms known vs {u * 1000:.2f} ms unknown"
    )


def wait_until(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {timeout}s"
        time.sleep(0.05)


def test_with_the_mail_server_down_both_get_200_and_the_mail_goes_out_later(tmp_path):
    smtp_port = free_port()  # nothing listens here yet
    database = tmp_path / "down.db"
    instance = ServerProcess(
        f"sqlite:///{database}",
        tmp_path,
        {
            "MICRO_USER_MAIL_SENDER": "smtp",
            "MICRO_USER_SMTP_HOST": "127.0.0.1",
            "MICRO_USER_SMTP_PORT": str(smtp_port),
            "MICRO_USER_SMTP_SECURITY": "none",
            "MICRO_USER_SMTP_TIMEOUT_SECONDS": "2",
            "MICRO_USER_MAIL_BACKOFF_SECONDS": "1",
            "MICRO_USER_LINK_HOSTS": "app.example.com",
        },
    ).start()
    http = httpx.Client(
        base_url=instance.base_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30
    )
    smtp = None
    try:
        known, unknown = f"{unique()}@example.com", f"{unique('ghost')}@example.com"
        created = http.post("/v1/user/Create", json={"email": known, "password": "sturdy-pass-1"})
        assert created.status_code == 200
        for endpoint in ("SendPasswordResetEmail", "SendMagicLink", "SendVerificationEmail"):
            fields = REQUESTS[endpoint]
            first = http.post(f"/v1/user/{endpoint}", json={"email": known, **fields})
            second = http.post(f"/v1/user/{endpoint}", json={"email": unknown, **fields})
            assert first.status_code == 200, first.text
            assert answer(first) == answer(second)
        wait_until(lambda: "will retry" in instance.log(), "a failed attempt in the log")

        # The mail server comes back: the queued mail goes out, and only to the account.
        smtp = SmtpServer(port=smtp_port)
        mails = smtp.mailbox.wait_for(known, count=3, timeout=60)
        assert {m["Subject"] for m in mails} == {"Reset", "Log in", "Confirm"}
        assert smtp.mailbox.sent_to(unknown) == []

        # A sent mail (which holds a code or link) leaves the queue.
        def queue_is_empty() -> bool:
            with sqlite3.connect(database) as conn:
                return conn.execute("SELECT count(*) FROM mail_queue").fetchone()[0] == 0

        wait_until(queue_is_empty, "the mail queue emptied")
    finally:
        http.close()
        instance.stop()
        if smtp is not None:
            smtp.stop()
