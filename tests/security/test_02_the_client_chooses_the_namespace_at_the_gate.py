"""Finding 2: the client chose the namespace at the gate.

A tenant whose admin opened everything (scope "" on ``*:*:*``) exists. nginx's
``auth_request`` passes client headers on, so a client naming that tenant in
``Micro-Namespace`` got in anonymously. The namespace comes from the identity, else from
the gateway's settings (``MICRO_USER_GATEWAY_NAMESPACE``, per route ``namespace``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from conftest import unique
from tests.support.gateway import IDENTITY_HEADERS, Gateway, instance, nginx_gateway, raw_request
from tests.support.services import ADMIN_KEY, ServerProcess


@pytest.fixture
def open_tenant(server: ServerProcess) -> str:
    tenant = unique("open-")
    created = server.cli("rule", "create", "--resource", "*:*:*", "--scope", "", "-n", tenant)
    assert created.returncode == 0, created.stderr
    return tenant


@pytest.fixture
def gateway(server: ServerProcess, tmp_path: Path):
    with nginx_gateway(server, tmp_path) as running:
        yield running


def eventually(check, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return result


def test_naming_an_open_tenant_through_nginx_does_not_open_the_gate(
    server: ServerProcess, gateway: Gateway, open_tenant: str
) -> None:
    headers = {"Host": "app.example", "Micro-Namespace": open_tenant}
    status, _ = raw_request(gateway.port, "/admin/secret", headers)
    assert status == 401
    # The server has loaded the tenant's rule once its API lets an anonymous caller of that
    # tenant in (the API takes the namespace a caller names: no gateway in between).
    assert eventually(
        lambda: (
            httpx.post(
                f"{server.base_url}/v1/user/List", json={}, headers={"Micro-Namespace": open_tenant}
            ).status_code
            == 200
        )
    ), "the open tenant's rule never reached the server"
    status, _ = raw_request(gateway.port, "/admin/secret", headers)
    assert status == 401
    assert gateway.upstream.take() == []
    # Nor with the header straight at micro-user.
    direct = httpx.get(
        f"{server.base_url}/auth/forward",
        headers={"X-Original-URI": "/admin/secret", **headers},
    )
    assert direct.status_code == 401


def test_identity_headers_a_client_sends_never_reach_the_upstream(
    server: ServerProcess, gateway: Gateway
) -> None:
    """The upstream trusts X-Micro-*: nginx, configured as the README says, replaces what a
    client sent with micro-user's answer (nothing, for an anonymous request)."""
    public = server.cli("rule", "create", "--resource", "api:app.example:/public/*", "--scope", "")
    assert public.returncode == 0, public.stderr
    forged = {
        "Host": "app.example",
        "X-Micro-Account-Id": "admin-of-everything",
        "X-Micro-Account-Type": "service",
        "X-Micro-Namespace": "other-tenant",
        "X-Micro-Scopes": "admin",
    }
    status, body = eventually(
        lambda: (answer := raw_request(gateway.port, "/public/page", forged))[0] == 200 and answer
    ) or (None, None)
    assert status == 200, "the public rule never let the anonymous request through"
    assert body["identity"] == dict.fromkeys(IDENTITY_HEADERS), body
    # With a credential: micro-user's answer, not the client's.
    headers = {**forged, "Authorization": f"Bearer {ADMIN_KEY}"}
    status, body = raw_request(gateway.port, "/public/page", headers)
    assert status == 200
    assert body["identity"]["X-Micro-Namespace"] == "micro"
    assert body["identity"]["X-Micro-Scopes"] == "admin"
    assert body["identity"]["X-Micro-Account-Id"] != "admin-of-everything"


def test_anonymous_requests_are_judged_in_the_gateways_namespace(
    server: ServerProcess, open_tenant: str, tmp_path: Path
) -> None:
    routes = [{"prefix": "/api", "type": "api", "name": "internal", "namespace": "micro"}]
    env = {
        "MICRO_USER_GATEWAY_NAMESPACE": open_tenant,
        "MICRO_USER_GATEWAY_ROUTES": json.dumps(routes),
    }
    with instance(server, tmp_path, env) as gate:

        def judged(path: str, **headers: str) -> int:
            response = httpx.get(
                f"{gate.base_url}/auth/forward",
                headers={"X-Original-URI": path, "X-Forwarded-Host": "app.example", **headers},
            )
            return response.status_code

        # The gateway's namespace is the open tenant: anonymous requests pass.
        assert eventually(lambda: judged("/page") == 200)
        # A route with a namespace of its own: judged by that namespace's rules.
        assert judged("/api/orders") == 401
        assert judged("/api") == 401
        assert judged("/api/orders", **{"Micro-Namespace": open_tenant}) == 401
        # Route prefixes are whole segments: /apiary is not /api.
        assert judged("/apiary") == 200
        # An identity's own namespace decides for it, whatever the header says.
        admin = {"Authorization": f"Bearer {ADMIN_KEY}", "Micro-Namespace": open_tenant}
        allowed = httpx.get(
            f"{gate.base_url}/auth/forward", headers={"X-Original-URI": "/api/x", **admin}
        )
        assert allowed.status_code == 200 and allowed.headers["x-micro-namespace"] == "micro"


def test_a_gateway_namespace_must_be_a_namespace(server: ServerProcess, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        with instance(server, tmp_path, {"MICRO_USER_GATEWAY_NAMESPACE": "Not A Namespace"}):
            pass
