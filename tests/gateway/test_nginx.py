"""A real nginx in front of a small upstream, asking micro-user (auth_request) about every request."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from conftest import unique
from tests.support.gateway import nginx_gateway
from tests.support.services import ADMIN_KEY


@pytest.fixture
def gateway(server, tmp_path: Path):
    with nginx_gateway(server, tmp_path) as running:
        yield running.base


def admin(server, path: str, **fields):
    response = httpx.post(
        f"{server.base_url}{path}", json=fields, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_nginx_lets_through_what_the_rules_allow_and_follows_rule_changes(server, gateway):
    role = unique("clerk")
    admin(server, "/v1/auth/Roles/Create", name=role)
    account = admin(server, "/v1/auth/Auth/Generate", id=unique("svc-"), scopes=[role])["account"]
    token = admin(server, "/v1/auth/Auth/Token", id=account["id"], secret=account["secret"])[
        "token"
    ]["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    rule = {
        "id": unique("orders-list-"),
        "scope": role,
        "resource": {"type": "service", "name": "orders", "endpoint": "Orders.List"},
    }

    # Before any rule: authenticated but not allowed, and no credentials at all.
    assert httpx.get(gateway + "/v1/orders/list", headers=bearer).status_code == 403
    assert httpx.get(gateway + "/v1/orders/list").status_code == 401
    assert (
        httpx.get(
            gateway + "/v1/orders/list", headers={"Authorization": "Bearer " + token[:-4] + "AAAA"}
        ).status_code
        == 401
    )

    admin(server, "/v1/auth/Rules/Create", rule=rule)
    allowed = httpx.get(gateway + "/v1/orders/list?page=2", headers=bearer)
    assert allowed.status_code == 200
    assert allowed.json() == {
        "path": "/v1/orders/list?page=2",
        "account": account["id"],
        "identity": {
            "X-Micro-Account-Id": account["id"],
            "X-Micro-Account-Type": "service",
            "X-Micro-Namespace": "micro",
            "X-Micro-Scopes": role,
        },
    }
    # Other endpoints of the service stay closed; the rule names one.
    assert httpx.post(gateway + "/v1/orders/delete", headers=bearer).status_code == 403
    assert httpx.get(gateway + "/v1/orders/list").status_code == 401

    admin(server, "/v1/auth/Rules/Delete", id=rule["id"])
    assert httpx.get(gateway + "/v1/orders/list", headers=bearer).status_code == 403


def test_nginx_with_a_public_path_and_an_api_key(server, gateway):
    rule_id = unique("public-health-")
    assert httpx.get(gateway + "/status").status_code == 401
    admin(
        server,
        "/v1/auth/Rules/Create",
        rule={
            "id": rule_id,
            "scope": "",
            "resource": {"type": "api", "name": "127.0.0.1", "endpoint": "/status"},
        },
    )
    assert httpx.get(gateway + "/status").status_code == 200
    admin(server, "/v1/auth/Rules/Delete", id=rule_id)
    assert (
        httpx.get(
            gateway + "/anything", headers={"Authorization": f"Bearer {ADMIN_KEY}"}
        ).status_code
        == 200
    )


def test_a_guesser_throttled_at_the_gate_gets_a_403_from_nginx_not_a_500(tmp_path):
    from tests.support.strict import running

    (tmp_path / "server").mkdir()
    settings = {
        "MICRO_USER_TRUSTED_PROXY_HEADER": "X-Real-IP",
        "MICRO_USER_BEARER_FAILURES_PER_ADDRESS_PER_MINUTE": "5",
    }
    with running(tmp_path / "server", settings) as server, nginx_gateway(server, tmp_path) as gate:
        guesses = [
            httpx.get(gate.base + "/x", headers={"Authorization": f"Bearer guess-{i}"})
            for i in range(6)
        ]
        assert [answer.status_code for answer in guesses] == [401] * 5 + [403]
        # The guesser stays out, even with a good key, until the window ends; nothing reached
        # the upstream.
        key = {"Authorization": f"Bearer {ADMIN_KEY}"}
        assert httpx.get(gate.base + "/x", headers=key).status_code == 403
        assert gate.upstream.take() == []
