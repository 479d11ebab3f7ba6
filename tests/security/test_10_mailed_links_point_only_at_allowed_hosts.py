"""Finding 10: whoever may call SendMagicLink or SendVerificationEmail cannot choose where the
mailed link (or the redirect after it) points.

Hosts come from MICRO_USER_LINK_HOSTS (by default the host of MICRO_USER_PUBLIC_URL). The
shared test server allows 127.0.0.1, example.com and app.example.com.
"""

from __future__ import annotations

import re

import httpx
import pytest

from conftest import unique
from tests.support.services import ADMIN_KEY, ServerProcess

LINK = "$micro_verification_link"

BAD_ADDRESSES = [
    "evil.example",
    "EVIL.example",
    "app.example.com@evil.example",
    "app.example.com:443@evil.example",
    "//evil.example",
    "evil.example/app.example.com",
    "evil.example#app.example.com",
    "evil.example?app.example.com",
    "app.example.com\\@evil.example",
    "evil.example\\app.example.com",
    "app.example.com.evil.example",
    "xn--pple-43d.com",
    "app.example.com%2F@evil.example",
    "app.example.com evil.example",
    "app.example.com:nope",
]

BAD_REDIRECTS = [
    "https://evil.example/welcome",
    "HTTPS://EVIL.EXAMPLE/welcome",
    "https://app.example.com@evil.example/",
    "https://app.example.com:443@evil.example/",
    "//evil.example/welcome",
    "/\\evil.example/welcome",
    "\\\\evil.example/welcome",
    "https:\\\\evil.example",
    "https://evil.example\\@app.example.com/",
    "https://app.example.com.evil.example/",
    "javascript:alert(1)",
    "data:text/html,hi",
    "ftp://app.example.com/",
    " https://evil.example/",
    "https://evil.example/\r\nhttps://app.example.com/",
]


def magic(api, email: str, address: str, endpoint: str = "login"):
    return api(
        "SendMagicLink",
        email=email,
        subject="Log in",
        text_content=LINK,
        address=address,
        endpoint=endpoint,
    )


def assert_refused(response, field: str) -> None:
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert field in detail, detail


@pytest.mark.parametrize("address", BAD_ADDRESSES)
def test_a_magic_link_cannot_point_at_another_host(api, new_user, address):
    account, _ = new_user()
    for email in (account["email"], f"{unique('ghost')}@example.com"):
        response = magic(api, email, address)
        assert_refused(response, "address")
        if re.fullmatch(r"/*[A-Za-z0-9.-]+", address):  # a host name, but not an allowed one
            assert "MICRO_USER_LINK_HOSTS" in response.json()["detail"]


def test_an_allowed_host_in_any_case_gives_an_https_link_on_it(api, new_user, mailbox):
    account, _ = new_user()
    api.ok(
        "SendMagicLink",
        email=account["email"],
        subject="Log in",
        text_content=LINK,
        address="App.Example.COM",
        endpoint="//evil.example/x",
    )
    text = mailbox.wait_for(account["email"])[0].get_payload(decode=True).decode()
    link = re.search(r"\S+://\S+", text).group(0)
    assert link.startswith("https://app.example.com/evil.example/x/"), link


@pytest.mark.parametrize("field", ["redirect_url", "failure_redirect_url"])
@pytest.mark.parametrize("url", BAD_REDIRECTS)
def test_a_verification_redirect_cannot_leave_the_allowed_hosts(api, new_user, field, url):
    account, _ = new_user()
    for email in (account["email"], f"{unique('ghost')}@example.com"):
        response = api(
            "SendVerificationEmail",
            email=email,
            subject="Confirm",
            text_content=LINK,
            **{field: url},
        )
        assert_refused(response, field)
        # A line break is refused for every field at decoding, before the host is read.
        reason = "control character" if re.search(r"[\x00-\x1f]", url) else "MICRO_USER_LINK_HOSTS"
        assert reason in response.json()["detail"]


def test_allowed_and_relative_redirects_are_kept(server, api, new_user, mailbox):
    account, _ = new_user()
    api.ok(
        "SendVerificationEmail",
        email=account["email"],
        subject="Confirm",
        text_content=LINK,
        redirect_url="https://APP.example.com/welcome",
        failure_redirect_url="/oops",
    )
    text = mailbox.wait_for(account["email"])[0].get_payload(decode=True).decode()
    link = re.search(r"https?://\S+", text).group(0)
    assert link.startswith(server.base_url)
    opened = httpx.get(link, follow_redirects=False)
    assert opened.headers["location"] == "https://APP.example.com/welcome"
    again = httpx.get(link, follow_redirects=False)
    assert again.headers["location"] == "/oops"


def test_by_default_only_the_public_url_host_is_allowed(tmp_path, smtp):
    instance = ServerProcess(
        f"sqlite:///{tmp_path / 'links.db'}",
        tmp_path,
        {
            "MICRO_USER_MAIL_SENDER": "smtp",
            "MICRO_USER_SMTP_HOST": "127.0.0.1",
            "MICRO_USER_SMTP_PORT": str(smtp.port),
            "MICRO_USER_SMTP_SECURITY": "none",
        },
    ).start()
    http = httpx.Client(
        base_url=instance.base_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
    )
    try:
        email = f"{unique()}@example.com"
        assert http.post("/v1/user/Create", json={"email": email, "password": "sturdy-pass-1"})
        send = {"email": email, "subject": "Log in", "text_content": LINK, "endpoint": "login"}
        refused = http.post("/v1/user/SendMagicLink", json={**send, "address": "example.com"})
        assert_refused(refused, "address")
        assert "MICRO_USER_LINK_HOSTS" in refused.json()["detail"]
        # The public URL's own host and port: the link keeps the public URL's scheme.
        address = instance.base_url.removeprefix("http://")
        ok = http.post("/v1/user/SendMagicLink", json={**send, "address": address})
        assert ok.status_code == 200, ok.text
        text = smtp.mailbox.wait_for(email)[0].get_payload(decode=True).decode()
        assert f"{instance.base_url}/login/" in text
        redirect = http.post(
            "/v1/user/SendVerificationEmail",
            json={
                "email": email,
                "subject": "Confirm",
                "text_content": LINK,
                "redirect_url": "https://example.com/welcome",
            },
        )
        assert_refused(redirect, "redirect_url")
    finally:
        http.close()
        instance.stop()
