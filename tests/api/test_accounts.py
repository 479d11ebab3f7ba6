"""Create, Read, Update, Delete, List and UpdatePassword over real HTTP, on each backend."""

from __future__ import annotations

import concurrent.futures

import httpx

from conftest import unique


def test_create_returns_every_field_with_int64_as_strings(api, new_user):
    account, _ = new_user(profile={"plan": "pro"})
    assert set(account) == {
        "id",
        "username",
        "email",
        "created",
        "updated",
        "verified",
        "verification_date",
        "profile",
    }
    assert account["created"].isdigit() and int(account["created"]) > 1_600_000_000
    assert account["updated"] == account["created"]
    assert account["verified"] is False
    assert account["verification_date"] == "0"
    assert account["profile"] == {"plan": "pro"}
    assert len(account["id"]) >= 32  # generated


def test_create_trims_and_lowercases_username_and_email(api):
    name = unique("Mixed")
    account = api.ok(
        "Create", username=f"  {name} ", email=f" {name}@Example.COM ", password="sturdy-pass-1"
    )["account"]
    assert account["username"] == name.lower()
    assert account["email"] == f"{name.lower()}@example.com"


def test_create_keeps_a_given_id(api):
    wanted = unique("id-")
    account = api.ok("Create", id=wanted, email=f"{wanted}@example.com", password="sturdy-pass-1")[
        "account"
    ]
    assert account["id"] == wanted
    assert api.ok("Read", id=wanted)["account"]["email"] == f"{wanted}@example.com"


def test_duplicates_are_400_with_the_check_that_failed(api, new_user):
    account, _ = new_user()
    cases = {
        "users-userId-check": {"id": account["id"], "email": f"{unique()}@example.com"},
        "users-username-check": {
            "username": account["username"].upper(),
            "email": f"{unique()}@example.com",
        },
        "users-email-check": {"username": unique(), "email": account["email"].upper()},
    }
    for error_id, fields in cases.items():
        response = api("Create", password="sturdy-pass-1", **fields)
        assert response.status_code == 400, response.text
        assert response.json()["id"] == error_id


def test_invalid_create_requests_are_400_and_say_what_to_fix(api):
    cases = [
        ({"email": "not-an-email", "password": "sturdy-pass-1"}, "email"),
        ({"email": "", "password": "sturdy-pass-1"}, "email is required"),
        ({"email": f"{unique()}@example.com", "password": "short"}, "at least 8"),
        ({"email": f"{unique()}@example.com", "password": "p" * 300}, "at most"),
        (
            {
                "username": "two words",
                "email": f"{unique()}@example.com",
                "password": "sturdy-pass-1",
            },
            "spaces",
        ),
    ]
    for fields, fragment in cases:
        response = api("Create", **fields)
        assert response.status_code == 400, (fields, response.text)
        body = response.json()
        assert body["code"] == 400 and body["status"] == "Bad Request"
        assert fragment in body["detail"], body


def test_hundred_concurrent_creates_with_one_email_give_exactly_one_account(server, admin_key):
    email = f"{unique('race')}@example.com"

    def create(i: int) -> httpx.Response:
        return httpx.post(
            f"{server.base_url}/v1/user/Create",
            json={"username": f"{unique('racer')}{i}", "email": email, "password": "sturdy-pass-1"},
            headers={"Authorization": f"Bearer {admin_key}"},
            timeout=120,
        )

    with concurrent.futures.ThreadPoolExecutor(max_workers=100) as pool:
        responses = list(pool.map(create, range(100)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 1, [r.text for r in responses if r.status_code != 400][:3]
    assert statuses.count(400) == 99
    assert {r.json()["id"] for r in responses if r.status_code == 400} == {"users-email-check"}


def test_read_by_id_username_or_email_case_insensitively(api, new_user):
    account, _ = new_user()
    assert api.ok("Read", id=account["id"])["account"] == account
    assert api.ok("Read", username=account["username"].upper())["account"] == account
    assert api.ok("Read", email=account["email"].upper())["account"] == account


def test_read_unknown_is_404_and_empty_is_400(api):
    response = api("Read", id="no-such-account")
    assert response.status_code == 404 and response.json()["id"] == "user.read"
    assert api("Read").status_code == 400


def test_update_changes_only_given_fields(api, new_user):
    account, _ = new_user(profile={"a": "1"})
    new_name = unique("renamed")
    assert api.ok("Update", id=account["id"], username=new_name) == {}
    updated = api.ok("Read", id=account["id"])["account"]
    assert updated["username"] == new_name
    assert updated["email"] == account["email"]
    assert updated["profile"] == {"a": "1"}
    api.ok("Update", id=account["id"], profile={"b": "2"})
    assert api.ok("Read", id=account["id"])["account"]["profile"] == {"b": "2"}


def test_update_to_a_taken_email_is_400_and_unknown_id_404(api, new_user):
    first, _ = new_user()
    second, _ = new_user()
    response = api("Update", id=second["id"], email=first["email"])
    assert response.status_code == 400 and response.json()["id"] == "users-email-check"
    assert api("Update", id="no-such-id", username=unique()).status_code == 404
    assert api("Update", username=unique()).status_code == 400


def test_delete_removes_the_account_and_ends_its_sessions(api, new_user):
    account, password = new_user()
    session = api.ok("Login", username=account["username"], password=password)["session"]
    assert api.ok("Delete", id=account["id"]) == {}
    assert api("Read", id=account["id"]).status_code == 404
    assert api("ReadSession", session_id=session["id"]).status_code == 401
    assert api("Delete", id=account["id"]).status_code == 404


def test_list_pages_with_offset_and_limit_in_a_stable_order(api, new_user):
    for _ in range(3):
        new_user()
    everyone = api.ok("List", limit=1000)["users"]
    assert len(everyone) >= 3
    page = api.ok("List", offset=1, limit=2)["users"]
    assert page == everyone[1:3]
    assert len(api.ok("List")["users"]) == min(25, len(everyone))
    assert api.ok("List", offset=len(everyone))["users"] == []


def test_update_password_checks_old_and_confirmation(api, new_user):
    account, password = new_user()
    base = {"userId": account["id"], "old_password": password}
    mismatch = api(
        "UpdatePassword", **base, new_password="new password 1", confirm_password="other"
    )
    assert mismatch.status_code == 400 and "match" in mismatch.json()["detail"]
    short = api("UpdatePassword", **base, new_password="short", confirm_password="short")
    assert short.status_code == 400 and "at least 8" in short.json()["detail"]
    wrong = api(
        "UpdatePassword",
        **{**base, "old_password": "wrong password"},
        new_password="new password 1",
        confirm_password="new password 1",
    )
    # Micro's handler: errors.Unauthorized("user.updatepassword", ...).
    assert wrong.status_code == 401 and wrong.json()["id"] == "user.updatepassword"
    api.ok(
        "UpdatePassword", **base, new_password="new password 1", confirm_password="new password 1"
    )
    assert api("Login", email=account["email"], password=password).status_code == 401
    api.ok("Login", email=account["email"], password="new password 1")
    assert (
        api(
            "UpdatePassword",
            userId="nobody",
            old_password="x",
            new_password="new password 1",
            confirm_password="new password 1",
        ).status_code
        == 404
    )


def test_common_passwords_are_refused_everywhere_a_password_is_set(api, new_user):
    for common in ("password1", "qwertyuiop", "Iloveyou1"):
        response = api("Create", email=f"{unique()}@example.com", password=common)
        assert (
            response.status_code == 400 and "most common passwords" in response.json()["detail"]
        ), common
    account, password = new_user()
    response = api(
        "UpdatePassword",
        userId=account["id"],
        old_password=password,
        new_password="password123",
        confirm_password="password123",
    )
    assert (
        response.status_code == 400
        and "new_password is one of the most common" in response.json()["detail"]
    )


def test_a_missing_password_is_said_to_be_required(api):
    for body in ({}, {"password": ""}):
        response = api("Create", email=f"{unique()}@example.com", **body)
        assert response.status_code == 400, body
        error = response.json()
        assert error["detail"] == "password is required (at least 8 characters)", error
        assert error["id"] == api("Create", email="x@example.com", password="short").json()["id"]
