"""Abuse protection with the default limits: rate limits, lockout, Retry-After, shared by instances."""

from __future__ import annotations

import concurrent.futures

import httpx
import pytest

from conftest import new_postgres_database, unique
from tests.support.services import ADMIN_KEY, RELAXED_LIMITS, ServerProcess

HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}


def defaults_env():
    return {"MICRO_USER_TRUSTED_PROXY_HEADER": "X-Forwarded-For"}


@pytest.fixture(params=["sqlite", "postgres", "redis"])
def guarded(request, tmp_path):
    """Counters in the database of each backend, or in Redis."""
    env = defaults_env()
    if request.param == "postgres":
        url = new_postgres_database(request)
    else:
        url = f"sqlite:///{tmp_path / 'abuse.db'}"
    if request.param == "redis":
        env["MICRO_USER_REDIS_URL"] = request.getfixturevalue("redis_server").url
    instance = ServerProcess(url, tmp_path, env)
    for name in RELAXED_LIMITS:
        instance.env.pop(name)
    instance.start()
    yield instance
    instance.stop()


def login(instance, address: str, **fields) -> httpx.Response:
    return httpx.post(
        f"{instance.base_url}/v1/user/Login",
        json=fields,
        headers={**HEADERS, "X-Forwarded-For": f"10.9.8.7, {address}"},
        timeout=30,
    )


def test_failed_logins_from_one_address_get_429_while_the_owner_logs_in_elsewhere(guarded):
    name = unique()
    created = httpx.post(
        f"{guarded.base_url}/v1/user/Create",
        json={"username": name, "email": f"{name}@example.com", "password": "correct horse 1"},
        headers=HEADERS,
    )
    assert created.status_code == 200

    def attack(i: int) -> httpx.Response:
        return login(guarded, "203.0.113.66", username=name, password=f"guess {i}")

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(attack, range(200)))
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {401, 429}
    assert statuses.count(401) <= 30, "at most the per-address allowance is even checked"
    assert statuses.count(429) >= 170
    limited = next(a for a in answers if a.status_code == 429)
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["id"] == "user.login" and "retry in" in limited.json()["detail"]
    # The owner, from home, is not locked out.
    assert (
        login(guarded, "198.51.100.7", username=name, password="correct horse 1").status_code == 200
    )


def test_consecutive_failures_lock_the_pair_with_growing_delays(guarded):
    name = unique()
    httpx.post(
        f"{guarded.base_url}/v1/user/Create",
        json={"username": name, "email": f"{name}@example.com", "password": "correct horse 1"},
        headers=HEADERS,
    )
    for i in range(5):
        assert login(guarded, "192.0.2.10", username=name, password=f"wrong {i}").status_code == 401
    locked = login(guarded, "192.0.2.10", username=name, password="correct horse 1")
    assert locked.status_code == 429 and "this account from this address" in locked.json()["detail"]
    assert 1 <= int(locked.headers["retry-after"]) <= 2
    assert (
        login(guarded, "192.0.2.11", username=name, password="correct horse 1").status_code == 200
    )


def test_mail_endpoints_are_limited_per_recipient(guarded):
    name = unique()
    email = f"{name}@example.com"
    httpx.post(
        f"{guarded.base_url}/v1/user/Create",
        json={"email": email, "password": "correct horse 1"},
        headers=HEADERS,
    )
    body = {"email": email, "subject": "Reset", "text_content": "code: $code"}
    statuses = [
        httpx.post(
            f"{guarded.base_url}/v1/user/SendPasswordResetEmail",
            json=body,
            headers={**HEADERS, "X-Forwarded-For": f"198.51.100.{i}"},
        ).status_code
        for i in range(7)
    ]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]


def test_an_account_under_attack_gives_each_address_one_attempt_and_still_lets_a_new_one_in(
    guarded,
):
    name = unique()
    httpx.post(
        f"{guarded.base_url}/v1/user/Create",
        json={"username": name, "email": f"{name}@example.com", "password": "correct horse 1"},
        headers=HEADERS,
    )
    # More than 60 failures a minute from all addresses: the account is under attack.
    for n in range(61):
        assert login(guarded, f"192.0.2.{n}", username=name, password="wrong").status_code == 401
    # Then one failure locks an address (here for 2 s), by username or email alike ...
    assert login(guarded, "192.0.2.100", username=name, password="wrong").status_code == 401
    again = login(guarded, "192.0.2.100", email=f"{name}@example.com", password="correct horse 1")
    assert again.status_code == 429 and "from this address" in again.json()["detail"]
    # ... while an address that has not failed, the owner's, still gets in.
    assert (
        login(guarded, "192.0.2.101", username=name, password="correct horse 1").status_code == 200
    )
