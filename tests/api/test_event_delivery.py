"""Every kind of lifecycle change, delivered to a webhook and to NATS across restarts of
micro-user and of the receiver: each event arrives once after de-duplication, signed."""

from __future__ import annotations

import asyncio
import re
import signal

import httpx
import pytest

from conftest import unique
from tests.support.nats import stream_made
from tests.support.receiver import Receiver
from tests.support.services import ADMIN_KEY, ServerProcess, SmtpServer, free_port

HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def call(instance: ServerProcess, path: str, **fields):
    response = httpx.post(f"{instance.base_url}{path}", json=fields, headers=HEADERS, timeout=30)
    assert response.status_code == 200, (path, response.text)
    return response.json()


def first_half(instance: ServerProcess, smtp: SmtpServer) -> dict[str, str]:
    """Account, password, session and email changes."""
    name = unique()
    email = f"{name}@example.com"
    account = call(
        instance, "/v1/user/Create", username=name, email=email, password="sturdy-pass-1"
    )["account"]
    call(instance, "/v1/user/Update", id=account["id"], profile={"plan": "pro"})
    call(
        instance,
        "/v1/user/SendVerificationEmail",
        email=email,
        subject="s",
        text_content="$micro_verification_link",
    )
    link = re.search(
        r"https?://\S+", smtp.mailbox.wait_for(email)[0].get_payload(decode=True).decode()
    ).group(0)
    assert httpx.get(link).status_code == 200
    call(
        instance,
        "/v1/user/UpdatePassword",
        userId=account["id"],
        old_password="sturdy-pass-1",
        new_password="sturdy-pass-2",
        confirm_password="sturdy-pass-2",
    )
    session = call(instance, "/v1/user/Login", username=name, password="sturdy-pass-2")["session"]
    call(instance, "/v1/user/Logout", session_id=session["id"])
    call(
        instance,
        "/v1/user/SendPasswordResetEmail",
        email=email,
        subject="s",
        text_content="code: $code",
    )
    code = re.search(
        r"code: (\S+)", smtp.mailbox.wait_for(email, count=2)[1].get_payload(decode=True).decode()
    ).group(1)
    call(
        instance,
        "/v1/user/ResetPassword",
        email=email,
        code=code,
        new_password="sturdy-pass-3",
        confirm_password="sturdy-pass-3",
    )
    return {"id": account["id"], "name": name}


def second_half(instance: ServerProcess, account: dict[str, str]) -> None:
    """Roles, rules, keys, service accounts, sessions ended in bulk, and the deletion."""
    role = unique("role")
    call(instance, "/v1/auth/Roles/Create", name=role)
    call(instance, "/v1/auth/Roles/Grant", role=role, account_type="user", account_id=account["id"])
    call(
        instance, "/v1/auth/Roles/Revoke", role=role, account_type="user", account_id=account["id"]
    )
    rule = unique("rule-")
    call(
        instance,
        "/v1/auth/Rules/Create",
        rule={
            "id": rule,
            "scope": role,
            "resource": {"type": "service", "name": "x", "endpoint": "X.Y"},
        },
    )
    call(instance, "/v1/auth/Rules/Delete", id=rule)
    service = call(instance, "/v1/auth/Auth/Generate", name="billing")["account"]
    call(instance, "/v1/auth/Accounts/ChangeSecret", id=service["id"])
    call(instance, "/v1/auth/Accounts/Delete", id=service["id"])
    key = instance.cli("key", "create", "--name", "short").stdout.strip()
    assert key.startswith("muk_")
    key_id = next(
        k
        for k in instance.cli("key", "list").stdout.split('"')
        if k.startswith("key_") and k != "key_env_admin"
    )
    assert instance.cli("key", "revoke", key_id).returncode == 0
    call(instance, "/v1/user/Login", username=account["name"], password="sturdy-pass-3")
    call(instance, "/v1/user/LogoutAll", user_id=account["id"])
    call(instance, "/v1/user/Delete", id=account["id"])


@pytest.mark.anyio
async def test_every_kind_of_event_reaches_a_webhook_and_nats_once_across_restarts(
    tmp_path, nats_url
):
    import nats

    smtp = SmtpServer()
    instance = ServerProcess(
        f"sqlite:///{tmp_path / 'delivery.db'}",
        tmp_path,
        {
            "MICRO_USER_NATS_URL": nats_url,
            "MICRO_USER_MAIL_SENDER": "smtp",
            "MICRO_USER_SMTP_HOST": "127.0.0.1",
            "MICRO_USER_SMTP_PORT": str(smtp.port),
            "MICRO_USER_SMTP_SECURITY": "none",
            "MICRO_USER_WEBHOOK_BACKOFF_SECONDS": "0.2",
            "MICRO_USER_WEBHOOK_MAX_ATTEMPTS": "20",
            "MICRO_USER_WEBHOOK_TIMEOUT_SECONDS": "2",
            "MICRO_USER_DELIVERY_INTERVAL_SECONDS": "0.1",
        },
    ).start()
    receiver = Receiver(free_port())
    hook = call(instance, "/v1/events/Webhooks/Create", url=receiver.url)["webhook"]
    receiver.secret = hook["secret"]
    receiver.start()
    connection = await nats.connect(nats_url)
    on_nats: dict[str, int] = {}

    async def on_message(message) -> None:
        on_nats[message.headers["Nats-Msg-Id"]] = on_nats.get(message.headers["Nats-Msg-Id"], 0) + 1
        await message.ack()

    try:
        await stream_made(connection.jetstream())
        await connection.jetstream().subscribe("micro.user.micro.>", cb=on_message)
        account = await asyncio.to_thread(first_half, instance, smtp)
        # Mid-way: the receiver goes away, micro-user dies; both come back.
        receiver.stop()
        instance.process.send_signal(signal.SIGKILL)
        instance.process.wait()
        instance.start()
        receiver.start()
        await asyncio.to_thread(second_half, instance, account)

        recorded = call(instance, "/v1/audit/List", limit=1000)["events"]
        expected = {event["id"] for event in recorded}
        types = {event["type"] for event in recorded}
        assert types == {
            "account.created",
            "account.updated",
            "account.verified",
            "password.changed",
            "password.reset",
            "session.created",
            "session.ended",
            "role.granted",
            "role.revoked",
            "rule.created",
            "rule.deleted",
            "service_account.created",
            "service_account.secret_changed",
            "service_account.deleted",
            "key.created",
            "key.revoked",
            "account.deleted",
        }
        await asyncio.to_thread(receiver.wait_for, lambda r: set(r.unique()) >= expected, 60)
        for _ in range(300):
            if set(on_nats) >= expected:
                break
            await asyncio.sleep(0.1)
        assert set(receiver.unique()) == expected
        assert set(on_nats) >= expected
        assert receiver.bad_signatures == 0
        # In order per account: the account's events came in the order they were recorded.
        mine = [e["id"] for e in recorded if e["account_id"] == account["id"]]
        seen: list[str] = []
        for event in receiver.received:
            if event["account_id"] == account["id"] and event["id"] not in seen:
                seen.append(event["id"])
        assert seen == mine
    finally:
        await connection.close()
        receiver.stop()
        instance.stop()
        smtp.stop()
