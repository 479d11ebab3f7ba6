"""Several instances on one database behave as one service."""

from __future__ import annotations

import concurrent.futures
import json
import time

import httpx
import pytest

from conftest import unique
from tests.support.services import ADMIN_KEY, ServerProcess

HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture
def second(server, tmp_path):
    """Another micro-user, with two worker processes, on the first one's database."""
    other = server.sibling(tmp_path, {"MICRO_USER_WORKERS": "2"})
    other.start()
    yield other
    other.stop()


def call(instance: ServerProcess, endpoint: str, **fields) -> httpx.Response:
    return httpx.post(
        f"{instance.base_url}/v1/user/{endpoint}", json=fields, headers=HEADERS, timeout=60
    )


def test_a_session_made_on_one_instance_is_honoured_and_ended_on_another(server, second):
    name = unique()
    assert (
        call(
            server, "Create", username=name, email=f"{name}@example.com", password="sturdy-pass-1"
        ).status_code
        == 200
    )
    session = call(second, "Login", username=name, password="sturdy-pass-1").json()["session"]
    assert call(server, "ReadSession", session_id=session["id"]).status_code == 200
    assert call(server, "Logout", session_id=session["id"]).status_code == 200
    for _ in range(4):  # whichever worker of the second instance answers
        assert call(second, "ReadSession", session_id=session["id"]).status_code == 401


def test_concurrent_creates_across_instances_make_one_account(server, second):
    email = f"{unique('race')}@example.com"
    instances = [server, second] * 20

    def create(pair):
        i, instance = pair
        return call(
            instance, "Create", username=f"{unique()}{i}", email=email, password="sturdy-pass-1"
        )

    with concurrent.futures.ThreadPoolExecutor(max_workers=40) as pool:
        statuses = sorted(r.status_code for r in pool.map(create, enumerate(instances)))
    assert statuses.count(200) == 1 and statuses.count(400) == 39, statuses


def test_ready_only_while_the_database_answers(tmp_path, request):
    from conftest import new_postgres_database
    from tests.support.services import PostgresDatabase

    url = new_postgres_database(request)
    instance = ServerProcess(url, tmp_path).start()
    try:
        assert httpx.get(instance.base_url + "/ready").status_code == 200
        # Take the database away under the running server.
        name = url.rsplit("/", 1)[1]
        PostgresDatabase.drop_named(name)
        response = httpx.get(instance.base_url + "/ready", timeout=10)
        assert response.status_code == 503 and response.json()["id"] == "micro-user.ready"
        assert httpx.get(instance.base_url + "/health").status_code == 200
        api = httpx.post(f"{instance.base_url}/v1/user/List", json={}, headers=HEADERS, timeout=30)
        assert api.status_code == 503 and api.json()["id"] == "micro-user.database"
    finally:
        instance.stop()


def eventually(check, seconds: float = 3.0) -> None:
    """The documented bound: a change reaches every instance within MICRO_USER_AUTH_REFRESH_SECONDS
    (1 s) plus a reload; allow 3 s."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the change did not reach the other instance in time"
        time.sleep(0.05)


@pytest.fixture
def cached(server, tmp_path):
    """Another instance that would trust an API key lookup for a minute, were it not told of changes."""
    other = server.sibling(tmp_path, {"MICRO_USER_KEY_CACHE_SECONDS": "60"})
    other.start()
    yield other
    other.stop()


def test_revocations_and_ended_sessions_reach_every_instance(server, cached):
    key = server.cli("key", "create", "--name", "short-lived").stdout.strip()
    as_key = {"Authorization": f"Bearer {key}"}
    assert httpx.post(f"{cached.base_url}/v1/user/List", json={}, headers=as_key).status_code == 200
    key_id = json.loads(server.cli("key", "list").stdout)[-1]["id"]
    assert server.cli("key", "revoke", key_id).returncode == 0
    eventually(
        lambda: (
            httpx.post(f"{cached.base_url}/v1/user/List", json={}, headers=as_key).status_code
            == 401
        )
    )

    account = call(
        server, "Create", email=f"{unique()}@example.com", password="sturdy-pass-1"
    ).json()["account"]
    generated = httpx.post(
        f"{server.base_url}/v1/auth/Auth/Generate", json={"scopes": ["admin"]}, headers=HEADERS
    ).json()["account"]
    token = httpx.post(
        f"{server.base_url}/v1/auth/Auth/Token",
        json={"id": generated["id"], "secret": generated["secret"]},
    ).json()["token"]
    as_token = {"Authorization": f"Bearer {token['access_token']}"}
    assert (
        httpx.post(
            f"{cached.base_url}/v1/user/Read", json={"id": account["id"]}, headers=as_token
        ).status_code
        == 200
    )
    basic = (generated["id"], generated["secret"])
    assert (
        httpx.post(
            f"{server.base_url}/oauth/revoke", data={"token": token["access_token"]}, auth=basic
        ).status_code
        == 200
    )
    eventually(
        lambda: (
            httpx.post(
                f"{cached.base_url}/v1/user/Read", json={"id": account["id"]}, headers=as_token
            ).status_code
            == 401
        )
    )

    session = call(server, "Login", email=account["email"], password="sturdy-pass-1").json()[
        "session"
    ]
    forward = {"X-Original-URI": "/v1/user/Read", "Authorization": f"Bearer {session['id']}"}
    assert httpx.get(f"{cached.base_url}/auth/forward", headers=forward).status_code == 403
    call(server, "Logout", session_id=session["id"])
    assert httpx.get(f"{cached.base_url}/auth/forward", headers=forward).status_code == 401
