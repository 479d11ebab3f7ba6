"""Lifecycle events: recorded with the change, queried as an audit log, delivered by webhook."""

from __future__ import annotations

import json
import re
import signal

import httpx
import pytest

from conftest import unique
from tests.support.receiver import Receiver
from tests.support.services import ADMIN_KEY, ServerProcess, free_port

HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}


def call(base_url: str, path: str, **fields):
    response = httpx.post(f"{base_url}{path}", json=fields, headers=HEADERS, timeout=30)
    assert response.status_code == 200, (path, response.text)
    return response.json()


def audit(base_url: str, **query):
    return call(base_url, "/v1/audit/List", **query)["events"]


def test_every_change_of_an_account_is_recorded_in_order_without_secrets(server, api, mailbox):
    name = unique()
    password, new_password = f"pw-{unique()}", f"pw-{unique()}"
    account = api.ok("Create", username=name, email=f"{name}@example.com", password=password)[
        "account"
    ]
    api.ok("Update", id=account["id"], profile={"plan": "pro"})
    api.ok(
        "SendVerificationEmail",
        email=account["email"],
        subject="s",
        text_content="$micro_verification_link",
    )
    link = re.search(
        r"https?://\S+", mailbox.wait_for(account["email"])[0].get_payload(decode=True).decode()
    ).group(0)
    assert httpx.get(link).status_code == 200
    api.ok(
        "UpdatePassword",
        userId=account["id"],
        old_password=password,
        new_password=new_password,
        confirm_password=new_password,
    )
    session = api.ok("Login", username=name, password=new_password)["session"]
    api.ok("Logout", session_id=session["id"])
    api.ok("Login", username=name, password=new_password)
    api.ok("LogoutAll", user_id=account["id"])
    call(
        server.base_url,
        "/v1/auth/Roles/Grant",
        role="admin",
        account_type="user",
        account_id=account["id"],
    )
    call(
        server.base_url,
        "/v1/auth/Roles/Revoke",
        role="admin",
        account_type="user",
        account_id=account["id"],
    )
    api.ok("Delete", id=account["id"])

    events = audit(server.base_url, account_id=account["id"])
    assert [e["type"] for e in events] == [
        "account.created",
        "account.updated",
        "account.verified",
        "password.changed",
        "session.created",
        "session.ended",
        "session.created",
        "session.ended",
        "role.granted",
        "role.revoked",
        "account.deleted",
    ]
    assert events[1]["payload"]["changed"] == ["profile"]
    assert {e["actor"] for e in events} == {"key:key_env_admin", "email-link"}
    assert next(e for e in events if e["type"] == "account.verified")["actor"] == "email-link"
    assert all(int(e["seq"]) > 0 and len(e["id"]) == 32 for e in events)
    text = json.dumps(events)
    for secret in (
        password,
        new_password,
        session["id"],
        ADMIN_KEY,
        link.split("token=")[1].split("&")[0],
    ):
        assert secret not in text


def test_a_change_that_fails_records_nothing(server, api, new_user):
    account, _ = new_user()
    before = audit(server.base_url, types=["account.created"], limit=1000)
    assert (
        api(
            "Create", username=unique(), email=account["email"], password="sturdy-pass-1"
        ).status_code
        == 400
    )
    assert api("Update", id=account["id"], email="bad").status_code == 400
    after = audit(
        server.base_url, types=["account.created"], after=int(before[-1]["seq"]) if before else 0
    )
    assert after == []
    assert [e["type"] for e in audit(server.base_url, account_id=account["id"])] == [
        "account.created"
    ]


def test_the_audit_log_filters_by_type_and_time_and_pages(server, new_user):
    first, _ = new_user()
    events = audit(server.base_url, account_id=first["id"])
    created = events[0]
    assert audit(server.base_url, account_id=first["id"], since=int(created["time"]) + 3600) == []
    assert audit(server.base_url, account_id=first["id"], until=int(created["time"])) == []
    page = call(server.base_url, "/v1/audit/List", types=["account.created"], limit=2)
    assert len(page["events"]) <= 2
    following = call(
        server.base_url, "/v1/audit/List", types=["account.created"], limit=2, after=page["next"]
    )
    assert not {e["id"] for e in page["events"]} & {e["id"] for e in following["events"]}
    bad = httpx.post(f"{server.base_url}/v1/audit/List", json={"limit": -1}, headers=HEADERS)
    assert bad.status_code == 400
    # The GET form: a list parameter given once, or repeated, as OpenAPI's form style sends it.
    query = {"account_id": first["id"], "types": "account.created"}
    once = httpx.get(f"{server.base_url}/v1/audit/List", params=query, headers=HEADERS)
    assert once.status_code == 200, once.text
    assert [e["type"] for e in once.json()["events"]] == ["account.created"]
    repeated = httpx.get(
        f"{server.base_url}/v1/audit/List",
        params=[
            ("account_id", first["id"]),
            ("types", "account.created"),
            ("types", "session.created"),
        ],
        headers=HEADERS,
    )
    assert repeated.json()["events"] == once.json()["events"]


@pytest.fixture
def hooked(tmp_path, request):
    """A micro-user of its own with fast retries (max attempts by the test's parameter), and a receiver."""
    attempts = getattr(request, "param", 4)
    instance = ServerProcess(
        f"sqlite:///{tmp_path / 'events.db'}",
        tmp_path,
        {
            "MICRO_USER_WEBHOOK_BACKOFF_SECONDS": "0.2",
            "MICRO_USER_WEBHOOK_MAX_ATTEMPTS": str(attempts),
            "MICRO_USER_WEBHOOK_TIMEOUT_SECONDS": "2",
            "MICRO_USER_DELIVERY_INTERVAL_SECONDS": "0.1",
        },
    ).start()
    receiver = Receiver(free_port())
    hook = call(
        instance.base_url,
        "/v1/events/Webhooks/Create",
        url=receiver.url,
        event_types=["account.created", "account.updated", "account.deleted"],
    )["webhook"]
    receiver.secret = hook["secret"]
    receiver.start()
    yield instance, receiver, hook
    receiver.stop()
    instance.stop()


def create(instance, n: int) -> list[str]:
    ids = []
    for i in range(n):
        ids.append(
            call(
                instance.base_url,
                "/v1/user/Create",
                email=f"{unique()}{i}@example.com",
                password="sturdy-pass-1",
            )["account"]["id"]
        )
    return ids


def test_webhooks_are_signed_and_retried_until_delivered(hooked):
    instance, receiver, hook = hooked
    assert hook["secret"].startswith("whsec_")
    assert call(instance.base_url, "/v1/events/Webhooks/List")["webhooks"][0]["secret"] == ""
    receiver.fail_next = 2
    [account_id] = create(instance, 1)
    call(instance.base_url, "/v1/user/Update", id=account_id, username=unique())
    receiver.wait_for(lambda r: len(r.unique()) == 2)
    events = list(receiver.unique().values())
    assert [e["type"] for e in events] == ["account.created", "account.updated"]
    assert events[0]["account_id"] == account_id and events[0]["data"]["id"] == account_id
    assert receiver.bad_signatures == 0
    # Session events were not subscribed to.
    assert "session.created" not in {e["type"] for e in events}


def test_deliveries_park_after_the_bound_and_can_be_replayed(hooked):
    instance, receiver, _ = hooked
    receiver.stop()
    [account_id] = create(instance, 1)
    call(instance.base_url, "/v1/user/Delete", id=account_id)

    def parked():
        return call(instance.base_url, "/v1/events/Deliveries/List", status="parked")["deliveries"]

    import time

    deadline = time.monotonic() + 20
    while not parked():
        assert time.monotonic() < deadline, "the delivery was never parked"
        time.sleep(0.2)
    [first] = parked()
    assert first["type"] == "account.created" and first["attempts"] == 4 and first["last_error"]
    # The later event of the same account waits behind it: order per account holds.
    assert [
        d["type"]
        for d in call(instance.base_url, "/v1/events/Deliveries/List", status="pending")[
            "deliveries"
        ]
    ] == ["account.deleted"]
    receiver.start()
    assert call(instance.base_url, "/v1/events/Deliveries/Replay")["replayed"] == 1
    receiver.wait_for(lambda r: len(r.unique()) == 2)
    assert [e["type"] for e in receiver.unique().values()] == ["account.created", "account.deleted"]


# Enough attempts to outlast the outage (0.2 s doubling: about 25 s before the 8th).
@pytest.mark.parametrize("hooked", [12], indirect=True)
def test_nothing_is_lost_when_micro_user_and_the_receiver_restart(hooked):
    instance, receiver, _ = hooked
    first = create(instance, 5)
    receiver.stop()
    second = create(instance, 5)
    # micro-user dies without warning, then both come back.
    instance.process.send_signal(signal.SIGKILL)
    instance.process.wait()
    receiver.start()
    instance.start()
    third = create(instance, 5)
    receiver.wait_for(lambda r: len(r.unique()) == 15, timeout=60)
    delivered = {e["account_id"] for e in receiver.unique().values()}
    assert delivered == set(first + second + third)
    assert receiver.bad_signatures == 0


def test_webhook_requests_are_validated(server):
    bad = httpx.post(
        f"{server.base_url}/v1/events/Webhooks/Create", json={"url": "ftp://x"}, headers=HEADERS
    )
    assert bad.status_code == 400 and "url" in bad.json()["detail"]
    # URLs the standard library cannot even take apart (found by schemathesis: a 500).
    for url in ("http://[", "http://[::1/x", "http://host:port/", "https://x:99999999/"):
        broken = httpx.post(
            f"{server.base_url}/v1/events/Webhooks/Create", json={"url": url}, headers=HEADERS
        )
        assert broken.status_code == 400, (url, broken.text)
        assert "absolute http or https URL" in broken.json()["detail"]
    unknown = httpx.post(
        f"{server.base_url}/v1/events/Webhooks/Create",
        json={"url": "http://127.0.0.1:9/x", "event_types": ["nope"]},
        headers=HEADERS,
    )
    assert unknown.status_code == 400 and "unknown event types" in unknown.json()["detail"]
    assert (
        httpx.post(
            f"{server.base_url}/v1/events/Webhooks/Delete", json={"id": "wh_nope"}, headers=HEADERS
        ).status_code
        == 404
    )
