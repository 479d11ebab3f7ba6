"""Finding 20: in Envoy mode the original path follows /auth/forward, and the request log
wrote it whole, magic-link tokens included. The log names the route or resource now."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx

from tests.support.gateway import instance, raw_request, wait_for_log
from tests.support.services import ServerProcess


def test_the_log_names_the_route_not_the_path(server: ServerProcess, tmp_path: Path) -> None:
    token = secrets.token_urlsafe(24)
    other = secrets.token_urlsafe(24)
    with instance(server, tmp_path, {"MICRO_USER_GATEWAY_KIND": "envoy"}) as envoy:
        # A magic link's landing page, as Envoy appends it; and one refused as ambiguous.
        magic = httpx.get(f"{envoy.base_url}/auth/forward/login/magic/{token}?token={token}")
        refused = raw_request(envoy.port, f"/auth/forward/login%2f{other}")[0]
        assert httpx.get(f"{envoy.base_url}/auth/forward/v1/orders/list").status_code == 401
        log = wait_for_log(envoy, "Orders.List")
    assert token not in log and other not in log
    lines = [line for line in log.splitlines() if "/auth/forward" in line]
    assert len(lines) == 3, lines
    assert all("/auth/forward/" not in line for line in lines), lines
    assert "service:orders:Orders.List" in lines[2]
    assert (magic.status_code, refused) == (401, 403)
