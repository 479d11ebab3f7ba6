"""Finding 14 (guessing part): wrong old passwords on UpdatePassword, wrong client secrets at
/oauth/token and wrong bearer credentials were never throttled. (The entropy of
operator-chosen secrets is another test's.)"""

from __future__ import annotations

import time

import httpx
import pytest

from conftest import unique
from tests.support.services import ADMIN_KEY
from tests.support.strict import ADMIN, call, create_account, running

ATTACKER = "203.0.113.14"
OWNER = "198.51.100.14"
PASSWORD = "correct horse 1"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running(tmp_path_factory.mktemp("guessing")) as instance:
        yield instance


def assert_error_shape(response: httpx.Response, error_id: str) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    body = response.json()
    assert body["id"] == error_id and body["code"] == 429
    assert body["status"] == "Too Many Requests" and "retry in" in body["detail"]


def test_guessing_the_old_password_locks_the_guesser_not_the_owner(server):
    account = create_account(server, unique(), PASSWORD)

    def update(address: str, old: str) -> httpx.Response:
        return call(
            server,
            "UpdatePassword",
            address,
            userId=account["id"],
            old_password=old,
            new_password="another horse 2",
            confirm_password="another horse 2",
        )

    for i in range(5):
        assert update(ATTACKER, f"guess {i}").status_code == 401
    # Locked for this (address, account), even with the right password now ...
    assert_error_shape(update(ATTACKER, PASSWORD), "user.updatepassword")
    # ... and the same lock holds for Login from that address: it is the same secret.
    login = call(server, "Login", ATTACKER, username=account["username"], password=PASSWORD)
    assert login.status_code == 429
    # The owner, elsewhere, is untouched.
    assert update(OWNER, PASSWORD).status_code == 200


def test_guessing_a_client_secret_is_throttled_per_client_and_address(server):
    generated = httpx.post(
        f"{server.base_url}/v1/auth/Auth.Generate", json={"id": unique("svc-")}, headers=ADMIN
    ).json()["account"]

    def token(address: str, secret: str) -> httpx.Response:
        return httpx.post(
            f"{server.base_url}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": generated["id"],
                "client_secret": secret,
            },
            headers={"X-Forwarded-For": address},
        )

    for i in range(5):
        wrong = token(ATTACKER, f"mus_guess{i}")
        assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    limited = token(ATTACKER, generated["secret"])
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert limited.headers["cache-control"] == "no-store"
    assert set(limited.json()) == {"error", "error_description"}
    assert limited.json()["error"] == "temporarily_unavailable"
    # Micro's Auth.Token checks the same secret and shares the lock.
    micro = httpx.post(
        f"{server.base_url}/v1/auth/Auth.Token",
        json={"id": generated["id"], "secret": generated["secret"]},
        headers={**ADMIN, "X-Forwarded-For": f"10.9.8.7, {ATTACKER}"},
    )
    assert_error_shape(micro, "auth.token")
    # The service itself, from its own address, still gets its token.
    assert token(OWNER, generated["secret"]).status_code == 200


def test_guessing_bearer_credentials_is_throttled_per_address(server):
    def read(address: str, credential: str) -> httpx.Response:
        return call(
            server, "Read", address, headers={"Authorization": f"Bearer {credential}"}, id="x"
        )

    statuses = [read(ATTACKER, f"muk_guess_{i}").status_code for i in range(31)]
    assert statuses == [401] * 30 + [429], statuses
    # Refused without a look at the credential, valid or not.
    assert_error_shape(read(ATTACKER, ADMIN_KEY), "auth")
    # Another address with a valid key is served as ever.
    assert read(OWNER, ADMIN_KEY).status_code == 404  # served: there is no account "x"


def test_guessing_at_the_gateway_is_throttled_per_client_address(server):
    def forward(address: str, credential: str) -> httpx.Response:
        return httpx.get(
            f"{server.base_url}/auth/forward",
            headers={
                "Authorization": f"Bearer {credential}",
                "X-Original-URI": "/v1/user/Read",
                "X-Original-Method": "GET",
                "X-Forwarded-For": f"10.9.8.7, {address}",
            },
        )

    attacker = "203.0.113.41"
    statuses = [forward(attacker, f"session-guess-{i}").status_code for i in range(31)]
    # 403, not 429: nginx's auth_request passes only 401 and 403 on (tests/gateway runs it).
    assert statuses == [401] * 30 + [403], statuses
    limited = forward(attacker, ADMIN_KEY)
    assert limited.status_code == 403 and int(limited.headers["retry-after"]) >= 1
    assert limited.json()["id"] == "auth.forward" and "retry in" in limited.json()["detail"]
    assert forward("198.51.100.41", ADMIN_KEY).status_code == 200


def test_tokens_of_our_own_keys_that_were_revoked_are_no_guesses(server):
    generated = httpx.post(
        f"{server.base_url}/v1/auth/Auth.Generate", json={"id": unique("svc-")}, headers=ADMIN
    ).json()["account"]
    basic = httpx.BasicAuth(generated["id"], generated["secret"])
    token = httpx.post(
        f"{server.base_url}/oauth/token", data={"grant_type": "client_credentials"}, auth=basic
    ).json()["access_token"]
    revoked = httpx.post(f"{server.base_url}/oauth/revoke", data={"token": token}, auth=basic)
    assert revoked.status_code == 200
    address = "203.0.113.140"
    deadline = time.monotonic() + 5
    while (
        call(
            server, "Read", address, headers={"Authorization": f"Bearer {token}"}, id="x"
        ).status_code
        != 401
    ):
        assert time.monotonic() < deadline, "the revoked token still works"
        time.sleep(0.1)
    statuses = {
        call(
            server, "Read", address, headers={"Authorization": f"Bearer {token}"}, id="x"
        ).status_code
        for _ in range(35)
    }
    assert statuses == {401}


def test_behind_traefik_the_throttled_guesser_gets_a_429(tmp_path):
    settings = {
        "MICRO_USER_GATEWAY_KIND": "traefik",
        "MICRO_USER_BEARER_FAILURES_PER_ADDRESS_PER_MINUTE": "3",
    }
    with running(tmp_path, settings) as traefik_server:

        def forward(credential: str) -> httpx.Response:
            return httpx.get(
                f"{traefik_server.base_url}/auth/forward",
                headers={
                    "Authorization": f"Bearer {credential}",
                    "X-Forwarded-Uri": "/v1/user/Read",
                    "X-Forwarded-Method": "GET",
                    "X-Forwarded-For": ATTACKER,
                },
            )

        statuses = [forward(f"guess-{i}").status_code for i in range(4)]
        assert statuses == [401] * 3 + [429], statuses
        assert int(forward(ADMIN_KEY).headers["retry-after"]) >= 1
