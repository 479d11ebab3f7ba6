"""Finding 15: whoever holds a user's session could change the account's email (and then
reset the password through it) without knowing the password; and Update's conflict
answers told a logged-in user which emails and usernames exist.

Now a user changing their own email with a session or token must give the current
password; a user's conflict answer is one message for a taken username or email.
Admins with API keys are unchanged."""

from __future__ import annotations

import httpx
import pytest

from conftest import unique

PASSWORD = "correct horse 1"


@pytest.fixture
def as_user(server, api, new_user):
    """A fresh account and a client that calls with its own session id."""
    account, password = new_user()
    session = api.ok("Login", username=account["username"], password=password)["session"]["id"]
    with httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {session}"}, timeout=30
    ) as client:
        yield account, client


def update(client: httpx.Client, **fields) -> httpx.Response:
    return client.post("/v1/user/Update", json=fields)


def test_a_stolen_session_cannot_change_the_email(api, as_user):
    account, client = as_user
    target = f"{unique()}@attacker.example"
    missing = update(client, id=account["id"], email=target)
    assert missing.status_code == 400 and "password" in missing.json()["detail"], missing.text
    wrong = update(client, id=account["id"], email=target, password="not the password")
    assert wrong.status_code == 400 and "password" in wrong.json()["detail"], wrong.text
    assert api.ok("Read", id=account["id"])["account"]["email"] == account["email"]
    # The owner, who knows it, can; and other fields never needed it.
    assert update(client, id=account["id"], email=target, password=PASSWORD).status_code == 200
    assert api.ok("Read", id=account["id"])["account"]["email"] == target
    assert update(client, id=account["id"], profile={"a": "b"}).status_code == 200
    assert update(client, id=account["id"], username=unique()).status_code == 200
    # Giving the current email again changes nothing and needs nothing.
    assert update(client, id=account["id"], email=target.upper()).status_code == 200


def test_the_same_through_an_access_token(server, api, as_user):
    account, client = as_user
    session = client.headers["Authorization"].split()[1]
    token = httpx.post(f"{server.base_url}/v1/auth/Auth/Token", json={"session_id": session})
    access = token.json()["token"]["access_token"]
    response = httpx.post(
        f"{server.base_url}/v1/user/Update",
        json={"id": account["id"], "email": f"{unique()}@attacker.example"},
        headers={"Authorization": f"Bearer {access}"},
    )
    assert response.status_code == 400 and "password" in response.json()["detail"]


def test_an_admin_key_needs_no_password(api, new_user):
    account, _ = new_user()
    target = f"{unique()}@example.com"
    assert api.ok("Update", id=account["id"], email=target) == {}
    assert api.ok("Read", id=account["id"])["account"]["email"] == target


def test_a_users_conflict_answer_does_not_say_which_exists(api, new_user, as_user):
    other, _ = new_user()
    account, client = as_user
    taken_email = update(client, id=account["id"], email=other["email"], password=PASSWORD)
    taken_name = update(client, id=account["id"], username=other["username"])
    assert taken_email.status_code == taken_name.status_code == 400
    assert taken_email.json() == taken_name.json()
    assert taken_email.json()["id"] == "users-update-check"
    assert "email" not in taken_email.json()["id"] and "username" not in taken_name.json()["id"]
    # An admin (who may List every account anyway) is told which.
    assert api("Update", id=account["id"], email=other["email"]).json()["id"] == "users-email-check"
    assert (
        api("Update", id=account["id"], username=other["username"]).json()["id"]
        == "users-username-check"
    )
