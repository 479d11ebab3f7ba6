"""A real nginx in front of a small upstream, asking micro-user (auth_request) about every request."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from conftest import unique
from tests.support.services import ADMIN_KEY, REQUIRE, free_port

NGINX_CONFIG = """
{user}
worker_processes 1;
daemon off;
pid {run}/nginx.pid;
error_log {run}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            auth_request /_micro_auth;
            auth_request_set $micro_account $upstream_http_x_micro_account_id;
            auth_request_set $micro_scopes $upstream_http_x_micro_scopes;
            proxy_set_header X-Micro-Account-Id $micro_account;
            proxy_set_header X-Micro-Scopes $micro_scopes;
            proxy_pass http://127.0.0.1:{upstream};
        }}
        location = /_micro_auth {{
            internal;
            proxy_pass http://127.0.0.1:{micro_user}/auth/forward;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header X-Forwarded-Host $host;
        }}
    }}
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None
    )
    if found is None:
        reason = "nginx is not installed (scripts/install-nginx installs it)"
        if "nginx" in REQUIRE:
            pytest.fail(f"nginx is required (MICRO_USER_TEST_REQUIRE) but: {reason}")
        pytest.skip(reason)
    return found


class Upstream(BaseHTTPRequestHandler):
    """The service behind the gateway: echoes what reached it."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's hook name
        body = json.dumps(
            {"path": self.path, "account": self.headers.get("X-Micro-Account-Id", "")}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gateway(server, tmp_path: Path):
    binary = nginx_binary()
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = free_port()
    config = tmp_path / "nginx.conf"
    config.write_text(
        NGINX_CONFIG.format(
            user="user root;" if os.geteuid() == 0 else "",
            run=tmp_path,
            port=port,
            upstream=upstream.server_address[1],
            micro_user=server.port,
        )
    )
    process = subprocess.Popen(
        [binary, "-p", str(tmp_path), "-c", str(config)], stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while True:
        try:
            httpx.get(base + "/", timeout=1)
            break
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                error = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"nginx did not start: {error}") from None
            time.sleep(0.1)
    yield base
    process.terminate()
    process.wait(timeout=10)
    upstream.shutdown()


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
    assert allowed.json() == {"path": "/v1/orders/list?page=2", "account": account["id"]}
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
