"""Login, ReadSession, Logout and LogoutAll over real HTTP."""

from __future__ import annotations

import statistics
import time

from conftest import unique


def test_login_by_username_or_email_gives_a_seven_day_session(api, new_user):
    account, password = new_user()
    for key in ({"username": account["username"].upper()}, {"email": account["email"]}):
        session = api.ok("Login", password=password, **key)["session"]
        assert session["userId"] == account["id"]
        assert int(session["expires"]) - int(session["created"]) == 7 * 24 * 3600
        assert len(session["id"]) >= 43  # 256 bits, base64url


def test_read_session_returns_session_and_account(api, new_user):
    account, password = new_user()
    session = api.ok("Login", username=account["username"], password=password)["session"]
    body = api.ok("ReadSession", session_id=session["id"])
    assert body["session"] == session
    assert body["account"] == account


def test_unknown_account_and_wrong_password_look_the_same(api, new_user):
    account, _ = new_user()
    wrong = api("Login", username=account["username"], password="wrong password")
    unknown = api("Login", username=unique("ghost"), password="wrong password")
    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.json()
        == unknown.json()
        == {
            "id": "user.login",
            "code": 401,
            "detail": "invalid credentials",
            "status": "Unauthorized",
        }
    )


def test_unknown_account_takes_as_long_as_a_wrong_password(api, new_user):
    account, _ = new_user()

    def timed(username: str) -> float:
        started = time.perf_counter()
        assert api("Login", username=username, password="wrong password").status_code == 401
        return time.perf_counter() - started

    known = statistics.median(timed(account["username"]) for _ in range(7))
    unknown = statistics.median(timed(unique("ghost")) for _ in range(7))
    # Both pay for one argon2id verification; without the dummy hash the unknown case is ~10x faster.
    assert unknown > known * 0.5, (known, unknown)


def test_logout_ends_the_session_once(api, new_user):
    account, password = new_user()
    session = api.ok("Login", username=account["username"], password=password)["session"]
    assert api.ok("Logout", session_id=session["id"]) == {}
    assert api("ReadSession", session_id=session["id"]).status_code == 401
    assert api("Logout", session_id=session["id"]).status_code == 404


def test_logout_all_ends_every_session_of_the_account_only(api, new_user):
    account, password = new_user()
    other, other_password = new_user()
    sessions = [
        api.ok("Login", username=account["username"], password=password)["session"]
        for _ in range(3)
    ]
    keep = api.ok("Login", username=other["username"], password=other_password)["session"]
    assert api.ok("LogoutAll", user_id=account["id"]) == {}
    for session in sessions:
        assert api("ReadSession", session_id=session["id"]).status_code == 401
    api.ok("ReadSession", session_id=keep["id"])
    assert api("LogoutAll", user_id="nobody").status_code == 404


def test_read_session_of_unknown_or_empty_id(api):
    assert api("ReadSession", session_id="not-a-session").status_code == 401
    assert api("ReadSession").status_code == 400


def test_login_with_both_username_and_email_needs_them_to_match(api, new_user):
    account, password = new_user()
    other, _ = new_user()
    assert (
        api(
            "Login", username=other["username"], email=account["email"], password=password
        ).status_code
        == 401
    )
    api.ok("Login", username=account["username"], email=account["email"], password=password)
