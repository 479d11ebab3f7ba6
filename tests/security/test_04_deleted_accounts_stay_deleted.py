"""Finding 4: a deleted account stays deleted.

The attacker's way in: an admin account is deleted, its grants stay behind, and
``Create`` accepts a client-chosen id, so whoever registers that id next is admin.
Deleting an account now removes its grants, refresh tokens, pending emailed tokens and
sessions in the same transaction, and an id is never given to a second account."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from conftest import unique
from tests.support.services import ADMIN_KEY

PASSWORD = "correct horse 1"


@pytest.fixture
def http(server):
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


def admin(http: httpx.Client, path: str, **fields):
    return http.post(path, json=fields, headers={"Authorization": f"Bearer {ADMIN_KEY}"})


def bearer(http: httpx.Client, token: str, path: str, **fields):
    return http.post(path, json=fields, headers={"Authorization": f"Bearer {token}"})


def mail_body(mailbox, email: str, count: int) -> str:
    return mailbox.wait_for(email, count=count)[count - 1].get_payload(decode=True).decode()


def test_a_new_account_with_a_deleted_admins_id_or_name_is_not_admin(http, api, mailbox):
    victim_id, name = unique("admin-"), unique()
    email = f"{name}@example.com"
    fields = {"username": name, "email": email, "password": PASSWORD}
    api.ok("Create", id=victim_id, **fields)
    grant = admin(
        http, "/v1/auth/Roles/Grant", role="admin", account_type="user", account_id=victim_id
    )
    assert grant.status_code == 200, grant.text

    # Everything the old account held: a session, a refresh token, a reset code, a magic
    # link, a verification link.
    session = api.ok("Login", username=name, password=PASSWORD)["session"]["id"]
    tokens = http.post("/v1/auth/Auth/Token", json={"session_id": session}).json()["token"]
    assert bearer(http, tokens["access_token"], "/v1/user/List").status_code == 200  # admin
    api.ok("SendPasswordResetEmail", email=email, subject="Reset", text_content="code: $code")
    code = re.search(r"code: (\S+)", mail_body(mailbox, email, 1)).group(1)
    api.ok(
        "SendMagicLink",
        email=email,
        subject="Log in",
        text_content="Go: $micro_verification_link",
        address=httpx.URL(http.base_url).host,
        endpoint="magic",
    )
    magic = re.search(r"/magic/([A-Za-z0-9_-]{43})", mail_body(mailbox, email, 2)).group(1)
    api.ok(
        "SendVerificationEmail", email=email, subject="s", text_content="$micro_verification_link"
    )
    verify = re.search(r"[?&]token=([A-Za-z0-9_-]+)", mail_body(mailbox, email, 3)).group(1)

    api.ok("Delete", id=victim_id)

    # The id is never given again, not even to the same person.
    again = api("Create", id=victim_id, **fields)
    assert again.status_code == 400 and again.json()["id"] == "users-userId-check", again.text
    anonymous_again = http.post("/v1/user/Create", json={"id": victim_id, **fields})
    assert anonymous_again.status_code in (400, 401, 403)
    assert anonymous_again.json()["id"] in ("users-userId-check", "auth")

    # The same username and email are free again, for an account with a new id and no role.
    newcomer = api.ok("Create", **fields)["account"]
    assert newcomer["id"] != victim_id
    new_session = api.ok("Login", username=name, password=PASSWORD)["session"]["id"]
    new_tokens = http.post("/v1/auth/Auth/Token", json={"session_id": new_session}).json()
    inspected = admin(
        http, "/v1/auth/Auth/Inspect", token=new_tokens["token"]["access_token"]
    ).json()
    assert inspected["account"]["scopes"] == [], inspected
    assert bearer(http, new_tokens["token"]["access_token"], "/v1/user/List").status_code == 403

    # Nothing the old account held works, for the newcomer or anyone.
    assert api("ReadSession", session_id=session).status_code == 401
    refreshed = http.post("/v1/auth/Auth/Token", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401, refreshed.text
    reset = api(
        "ResetPassword",
        email=email,
        code=code,
        new_password="attacker pw 99",
        confirm_password="attacker pw 99",
    )
    assert reset.status_code == 400
    assert api("Login", username=name, password="attacker pw 99").status_code == 401
    verified = api.ok("VerifyToken", token=magic)
    assert verified["is_valid"] is False and verified["session"]["id"] == ""
    assert api("VerifyEmail", token=verify).status_code == 400
    assert api.ok("Read", id=newcomer["id"])["account"]["verified"] is False


def test_concurrent_creates_of_a_deleted_id_are_all_refused(api):
    account_id = unique("gone-")
    api.ok("Create", id=account_id, email=f"{unique()}@example.com", password=PASSWORD)
    api.ok("Delete", id=account_id)

    def create(_: int) -> httpx.Response:
        with httpx.Client(base_url=str(api.http.base_url), headers=api.http.headers) as client:
            return client.post(
                "/v1/user/Create",
                json={"id": account_id, "email": f"{unique()}@example.com", "password": PASSWORD},
            )

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(create, range(8)))
    assert {r.status_code for r in responses} == {400}
    assert {r.json()["id"] for r in responses} == {"users-userId-check"}
    assert api("Read", id=account_id).status_code == 404


def test_concurrent_creates_of_a_new_id_give_it_once(api):
    account_id = unique("race-")

    def create(_: int) -> httpx.Response:
        with httpx.Client(base_url=str(api.http.base_url), headers=api.http.headers) as client:
            return client.post(
                "/v1/user/Create",
                json={"id": account_id, "email": f"{unique()}@example.com", "password": PASSWORD},
            )

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(create, range(8)))
    assert sorted(r.status_code for r in responses) == [200] + [400] * 7
    assert {r.json()["id"] for r in responses if r.status_code == 400} == {"users-userId-check"}


def test_a_deleted_service_accounts_id_and_grants_do_not_come_back(http):
    account_id = unique("svc-")
    made = admin(http, "/v1/auth/Auth/Generate", id=account_id, scopes=["admin"])
    assert made.status_code == 200, made.text
    secret = made.json()["account"]["secret"]
    tokens = http.post("/v1/auth/Auth/Token", json={"id": account_id, "secret": secret})
    refresh = tokens.json()["token"]["refresh_token"]
    assert admin(http, "/v1/auth/Accounts/Delete", id=account_id).status_code == 200

    again = admin(http, "/v1/auth/Auth/Generate", id=account_id)
    assert again.status_code == 400 and "never reused" in again.json()["detail"]
    assert http.post("/v1/auth/Auth/Token", json={"refresh_token": refresh}).status_code == 401


def test_the_cli_delete_does_the_same(tmp_path):
    from tests.cli.test_cli import cli_runner

    cli = cli_runner(f"sqlite:///{tmp_path / 'cli.db'}", tmp_path)
    create = ("user", "create", "--id", "boss", "--email", "boss@example.com")
    assert cli(*create, "--password", PASSWORD).returncode == 0
    assert cli("role", "grant", "admin", "--account", "boss").returncode == 0
    assert cli("user", "delete", "--id", "boss").returncode == 0
    again = cli(*create, "--password", PASSWORD)
    assert again.returncode == 1 and "never reused" in again.stderr, again.stderr
    # No grant is left behind for the id.
    revoke = cli("role", "revoke", "admin", "--account", "boss")
    assert revoke.returncode != 0 and "does not hold" in revoke.stderr, revoke.stderr
