"""The SMTP sender against real servers: STARTTLS or implicit TLS, with a login, and failures."""

from __future__ import annotations

import time

import pytest

from conftest import unique
from tests.support.services import ADMIN_KEY, ServerProcess, SmtpServer, self_signed_certificate

LOGIN = ("mailer", "mail-password-1")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    made = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    if made is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    return made


def serve_with_mail(
    tmp_path, smtp_port: int, security: str, ca_file=None, login=LOGIN
) -> ServerProcess:
    env = {
        "MICRO_USER_MAIL_SENDER": "smtp",
        "MICRO_USER_SMTP_HOST": "127.0.0.1",
        "MICRO_USER_SMTP_PORT": str(smtp_port),
        "MICRO_USER_SMTP_SECURITY": security,
        "MICRO_USER_SMTP_USERNAME": login[0],
        "MICRO_USER_SMTP_PASSWORD": login[1],
        "MICRO_USER_SMTP_TIMEOUT_SECONDS": "5",
        "MICRO_USER_MAIL_FROM": "Accounts <accounts@example.com>",
    }
    if ca_file:
        env["MICRO_USER_SMTP_CA_FILE"] = str(ca_file)
    return ServerProcess(f"sqlite:///{tmp_path / 'smtp.db'}", tmp_path, env).start()


def send_reset(instance: ServerProcess):
    import httpx

    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    name = unique()
    email = f"{name}@example.com"
    created = httpx.post(
        f"{instance.base_url}/v1/user/Create",
        headers=headers,
        json={"email": email, "password": "sturdy-pass-1"},
    )
    assert created.status_code == 200
    response = httpx.post(
        f"{instance.base_url}/v1/user/SendPasswordResetEmail",
        headers=headers,
        json={"email": email, "subject": "Reset", "text_content": "code: $code"},
        timeout=30,
    )
    return email, response


# aiosmtpd warns that AUTH without STARTTLS is unsafe; with implicit TLS the whole session is encrypted.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_mail_goes_out_encrypted_and_logged_in(tmp_path, certificate, security):
    smtp = SmtpServer(security, certificate, LOGIN)
    instance = serve_with_mail(tmp_path, smtp.port, security, ca_file=certificate[0])
    try:
        email, response = send_reset(instance)
        assert response.status_code == 200, response.text
        [mail] = smtp.mailbox.wait_for(email)
        assert mail["From"] == "Accounts <accounts@example.com>"
        assert "code: " in mail.get_payload(decode=True).decode()
    finally:
        instance.stop()
        smtp.stop()


def wait_for_log(instance: ServerProcess, text: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in instance.log():
        assert time.monotonic() < deadline, f"no {text!r} in the log within {timeout}s"
        time.sleep(0.05)


def test_an_untrusted_certificate_or_a_wrong_login_sends_nothing_and_is_retried(
    tmp_path, certificate
):
    smtp = SmtpServer("starttls", certificate, LOGIN)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    untrusted = serve_with_mail(tmp_path / "a", smtp.port, "starttls")
    wrong_login = serve_with_mail(
        tmp_path / "b", smtp.port, "starttls", certificate[0], ("mailer", "nope")
    )
    try:
        for instance in (untrusted, wrong_login):
            # The answer never waits for the mail server: the mail is queued and retried.
            email, response = send_reset(instance)
            assert response.status_code == 200, response.text
            wait_for_log(instance, "attempt 1 failed, will retry")
            assert smtp.mailbox.sent_to(email) == []
            assert "mail-password-1" not in instance.log()
    finally:
        untrusted.stop()
        wrong_login.stop()
        smtp.stop()


def test_a_mail_server_that_is_down_is_not_the_callers_problem(tmp_path):
    from tests.support.services import free_port

    instance = serve_with_mail(tmp_path, free_port(), "none")
    try:
        _, response = send_reset(instance)
        assert response.status_code == 200 and response.json() == {}
        wait_for_log(instance, "attempt 1 failed, will retry")
    finally:
        instance.stop()
