"""Finding 21: answers that carry session ids, tokens or secrets could be kept by a shared
cache or the browser's, and HTML pages could be framed or sniffed. The attacker reads a
proxy's cache or the browser's history, or frames /docs."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.support.services import ADMIN_KEY, ServerProcess

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def assert_never_stored(answer: httpx.Response) -> None:
    assert answer.headers.get("cache-control") == "no-store", answer.request.url
    assert answer.headers.get("pragma") == "no-cache", answer.request.url


def assert_not_sniffed(answer: httpx.Response) -> None:
    assert answer.headers.get("x-content-type-options") == "nosniff", answer.request.url
    assert answer.headers.get("referrer-policy") == "no-referrer", answer.request.url


def test_answers_with_sessions_tokens_or_secrets_are_never_stored(
    server: ServerProcess, new_user
) -> None:
    base = server.base_url
    account, password = new_user()
    login = httpx.post(
        f"{base}/v1/user/Login",
        json={"username": account["username"], "password": password},
        headers=ADMIN,
    )
    assert login.status_code == 200 and login.json()["session"]["id"]
    generated = httpx.post(f"{base}/v1/auth/Auth/Generate", json={"scopes": []}, headers=ADMIN)
    assert generated.status_code == 200 and generated.json()["account"]["secret"]
    secret = generated.json()["account"]
    answers = [
        login,
        generated,
        httpx.post(f"{base}/v1/auth/Auth/Token", json=secret),
        httpx.get(f"{base}/v1/user/Read", params={"id": account["id"]}, headers=ADMIN),
        httpx.post(f"{base}/v1/user/Login", json={"username": "nobody", "password": "x" * 9}),
        httpx.post(f"{base}/v1/user/NoSuchEndpoint", json={}, headers=ADMIN),
        httpx.post(
            f"{base}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": secret["id"],
                "client_secret": secret["secret"],
            },
        ),
        httpx.post(f"{base}/oauth/token", data={"grant_type": "password"}),
        httpx.get(f"{base}/auth/forward", headers={"X-Original-URI": "/x"}),
        httpx.get(
            f"{base}/auth/forward",
            headers={
                "X-Original-URI": "/x",
                "Authorization": f"Bearer {login.json()['session']['id']}",
            },
        ),
    ]
    for answer in answers:
        assert answer.status_code < 500, answer.text
        assert_never_stored(answer)
        assert_not_sniffed(answer)


@pytest.mark.parametrize("path", ["/health", "/ready", "/openapi.json", "/.well-known/jwks.json"])
def test_json_answers_are_not_sniffed(server: ServerProcess, path: str) -> None:
    answer = httpx.get(server.base_url + path)
    assert answer.status_code == 200
    assert_not_sniffed(answer)


def test_the_docs_page_cannot_be_framed_or_run_a_foreign_script(server: ServerProcess) -> None:
    page = httpx.get(server.base_url + "/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert_not_sniffed(page)
    policy = {
        part.split()[0]: part.split()[1:]
        for part in page.headers["content-security-policy"].split(";")
        if part.strip()
    }
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["default-src"] == ["'none'"]
    # Scripts from this server only: no inline script, nothing from elsewhere (offline too).
    assert policy["script-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert page.headers["x-frame-options"] == "DENY"
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
    assert scripts and all(body.strip() == "" and "src=" in attrs for attrs, body in scripts)
    assert "http" not in page.text
    for source in re.findall(r'(?:src|href)="(?!data:)([^"]+)"', page.text):
        asset = httpx.get(f"{server.base_url}/{source}")
        assert asset.status_code == 200, source
        assert_not_sniffed(asset)
    # Only the reference's own files are served from the package's folder.
    assert httpx.get(server.base_url + "/docs/assets/swagger-editor.js").status_code == 404
    assert httpx.get(server.base_url + "/docs/assets/..%2F..%2Fsettings.py").status_code == 404


def test_unknown_pages_get_the_headers_too(server: ServerProcess) -> None:
    answer = httpx.get(server.base_url + "/no/such/page")
    assert answer.status_code == 404
    assert_not_sniffed(answer)
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
