"""Finding 21: answers that carry session ids, tokens or secrets could be kept by a shared
cache or the browser's, and HTML pages could be framed or sniffed. The attacker reads a
proxy's cache or the browser's history, or frames /docs."""

from __future__ import annotations

import base64
import hashlib
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


def test_the_docs_page_cannot_be_framed_or_run_a_script(server: ServerProcess) -> None:
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
    assert "script-src" not in policy  # falls back to 'none': no script runs
    assert page.headers["x-frame-options"] == "DENY"
    # The page needs nothing the policy forbids: no script, no outside resource, and its
    # one stylesheet is allowed by its hash (so it renders the same offline).
    assert "<script" not in page.text and "http" not in page.text.replace("/openapi.json", "")
    styles = re.findall(r"<style>(.*?)</style>", page.text, re.S)
    assert len(styles) == 1
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    assert policy["style-src"] == [f"'sha256-{digest}'"]


def test_unknown_pages_get_the_headers_too(server: ServerProcess) -> None:
    answer = httpx.get(server.base_url + "/no/such/page")
    assert answer.status_code == 404
    assert_not_sniffed(answer)
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
