"""Finding 18: a control character in any string of a /v1 request is a 400 naming the field.

On PostgreSQL a NUL byte used to reach the database and come back as a 503 "database
unavailable", and an anonymous Login was enough to trigger it. Runs on both backends."""

from __future__ import annotations

import httpx
import pytest

from conftest import unique


@pytest.fixture
def anonymous(server):
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


def assert_refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 400, response.text
    assert f"'{field}'" in response.json()["detail"], response.text
    assert "control character" in response.json()["detail"]


@pytest.mark.parametrize("bad", ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\x9f", "\n", "\t"])
def test_anonymous_login_with_a_control_character_is_400_not_503(anonymous, bad):
    response = anonymous.post(
        "/v1/user/Login", json={"username": f"alice{bad}", "password": "whatever 123"}
    )
    assert_refused(response, "username")
    response = anonymous.post(
        "/v1/user/Login", json={"email": f"a{bad}@example.com", "password": "whatever 123"}
    )
    assert_refused(response, "email")


def test_nul_in_a_password_or_a_session_id_is_400(anonymous):
    response = anonymous.post("/v1/user/Login", json={"username": "alice", "password": "pw\x00x"})
    assert_refused(response, "password")
    response = anonymous.post("/v1/user/ReadSession", json={"sessionId": "abc\x00"})
    assert_refused(response, "sessionId")


def test_nul_in_a_query_parameter_is_400(api):
    response = api.http.get("/v1/user/Read", params={"username": "x\x00y"})
    assert_refused(response, "username")


def test_nul_inside_a_profile_key_or_value_is_400(api, new_user):
    name = unique()
    fields = {"username": name, "email": f"{name}@example.com", "password": "correct horse 1"}
    response = api("Create", **fields, profile={"bio\x00": "x"})
    assert response.status_code == 400 and "profile" in response.json()["detail"]
    assert "control character" in response.json()["detail"]
    response = api("Create", **fields, profile={"bio": "x\x00y"})
    assert_refused(response, "profile.bio")
    account, _ = new_user()
    response = api("Update", id=account["id"], profile={"k\x00": "v"})
    assert response.status_code == 400 and "control character" in response.json()["detail"]
    response = api("Update", id=account["id"], profile={"bio": "\x00"})
    assert_refused(response, "profile.bio")
    response = api("Update", id=account["id"], profile={"bio": "x\u0085"})
    assert_refused(response, "profile.bio")
    # Nothing was stored by the refused calls.
    assert api.ok("Read", id=account["id"])["account"]["profile"] == {}


def test_text_fields_keep_tab_and_newlines_but_never_nul(api, new_user):
    account, _ = new_user(profile={"address": "1 Main St\r\nSpringfield\tUSA"})
    assert account["profile"]["address"] == "1 Main St\r\nSpringfield\tUSA"
    response = api(
        "SendPasswordResetEmail",
        email=account["email"],
        subject="Reset",
        text_content="Your code:\n\t$code\r\n",
    )
    assert response.status_code == 200, response.text
    response = api(
        "SendPasswordResetEmail", email=account["email"], subject="Reset", text_content="a\x00"
    )
    assert_refused(response, "text_content")
    # A subject is one line: no newline there.
    response = api("SendPasswordResetEmail", email=account["email"], subject="Reset\nBcc: x")
    assert_refused(response, "subject")


def test_the_auth_service_refuses_them_too(api):
    response = api.http.post("/v1/auth/Auth/Inspect", json={"token": "abc\x00"})
    assert_refused(response, "token")
    response = api.http.post("/v1/auth/Auth/Generate", json={"id": "svc\x00", "scopes": ["a\x00"]})
    assert response.status_code == 400 and "control character" in response.json()["detail"]


@pytest.mark.parametrize("field", ["client_id", "client_secret", "grant_type", "scope"])
def test_the_oauth_token_form_refuses_them_before_the_database(anonymous, field):
    form = {"grant_type": "client_credentials", "client_id": "svc", "client_secret": "s"}
    form[field] = "x\x00y"
    response = anonymous.post("/oauth/token", data=form)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert f"'{field}'" in response.json()["error_description"]


def test_a_nul_in_basic_client_credentials_is_401_not_503(anonymous):
    for endpoint in ("/oauth/token", "/oauth/introspect", "/oauth/revoke"):
        response = anonymous.post(
            endpoint,
            data={"grant_type": "client_credentials", "token": "t"},
            auth=("svc\x00", "secret"),
        )
        assert response.status_code == 401, (endpoint, response.text)
        assert response.json()["error"] == "invalid_client"
