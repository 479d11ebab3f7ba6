"""A real nginx in front of a recording upstream, asking micro-user (auth_request) about every
request, configured as the README says; and a raw HTTP client that sends a request target
exactly as given (as ``curl --path-as-is`` does), which httpx would normalise."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.services import ADMIN_KEY, REQUIRE, ServerProcess, free_port

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
            auth_request_set $micro_type $upstream_http_x_micro_account_type;
            auth_request_set $micro_namespace $upstream_http_x_micro_namespace;
            auth_request_set $micro_scopes $upstream_http_x_micro_scopes;
            proxy_set_header X-Micro-Account-Id $micro_account;
            proxy_set_header X-Micro-Account-Type $micro_type;
            proxy_set_header X-Micro-Namespace $micro_namespace;
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
            proxy_set_header X-Real-IP $remote_addr;
        }}
    }}
}}
"""


IDENTITY_HEADERS = (
    "X-Micro-Account-Id",
    "X-Micro-Account-Type",
    "X-Micro-Namespace",
    "X-Micro-Scopes",
)
"""What micro-user tells the upstream through the gateway, which the gateway sets itself."""


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


class Recorder(ThreadingHTTPServer):
    """The service behind the gateway: records the request target of everything that reached
    it, exactly as received, and echoes it."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Upstream)
        self.received: list[str] = []
        self.lock = threading.Lock()

    def take(self) -> list[str]:
        """What reached the upstream since the last call."""
        with self.lock:
            taken, self.received = self.received, []
        return taken


class Upstream(BaseHTTPRequestHandler):
    server: Recorder

    def do_GET(self) -> None:  # noqa: N802 - http.server's hook name
        with self.server.lock:
            self.server.received.append(self.path)
        body = json.dumps(
            {
                "path": self.path,
                "account": self.headers.get("X-Micro-Account-Id", ""),
                # Every identity header as it arrived (None: not sent at all).
                "identity": {name: self.headers.get(name) for name in IDENTITY_HEADERS},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class Gateway:
    base: str
    port: int
    upstream: Recorder


@contextmanager
def nginx_gateway(server: ServerProcess, workdir: Path) -> Iterator[Gateway]:
    """nginx on a free port, in front of a new recording upstream, asking ``server``."""
    binary = nginx_binary()
    upstream = Recorder()
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = free_port()
    config = workdir / "nginx.conf"
    config.write_text(
        NGINX_CONFIG.format(
            user="user root;" if os.geteuid() == 0 else "",
            run=workdir,
            port=port,
            upstream=upstream.server_address[1],
            micro_user=server.port,
        )
    )
    process = subprocess.Popen(
        [binary, "-p", str(workdir), "-c", str(config)], stderr=subprocess.PIPE
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
    upstream.take()
    try:
        yield Gateway(base, port, upstream)
    finally:
        process.terminate()
        process.wait(timeout=10)
        upstream.shutdown()
        upstream.server_close()


def raw_request(
    port: int, target: str | bytes, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, Any]:
    """Send one request with ``target`` on the request line byte for byte; (status, body as
    JSON when it is JSON, else text)."""
    raw_target = target.encode("latin-1") if isinstance(target, str) else target
    lines = [f"{k}: {v}" for k, v in {"Host": "127.0.0.1", **(headers or {})}.items()]
    head = b"%s %s HTTP/1.1\r\n" % (method.encode(), raw_target)
    head += ("\r\n".join([*lines, "Connection: close"]) + "\r\n\r\n").encode("latin-1")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    status_line, _, rest = response.partition(b"\r\n")
    status = int(status_line.split()[1])
    body = rest.partition(b"\r\n\r\n")[2]
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode("latin-1")


def public_host(server: ServerProcess, prefix: str) -> str:
    """A host name of its own, whose only rule lets everyone reach ``/public/*``."""
    name = f"{prefix}{secrets.token_hex(5)}.example"
    rule = {
        "id": f"public-{secrets.token_hex(5)}",
        "scope": "",
        "resource": {"type": "api", "name": name, "endpoint": "/public/*"},
    }
    response = httpx.post(
        f"{server.base_url}/v1/auth/Rules/Create",
        json={"rule": rule},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert response.status_code == 200, response.text
    return name


@contextmanager
def instance(server: ServerProcess, workdir: Path, env: dict[str, str]) -> Iterator[ServerProcess]:
    """Another micro-user on ``server``'s database, with settings of its own (a gateway kind,
    routes, ...)."""
    other = server.sibling(workdir, env).start()
    try:
        yield other
    finally:
        other.stop()


def wait_for_log(process: ServerProcess, text: str, timeout: float = 10.0) -> str:
    """The server's log once it holds ``text`` (lines are written after the answer)."""
    deadline = time.monotonic() + timeout
    while text not in (log := process.log()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not in the server log:\n{log[-2000:]}")
        time.sleep(0.05)
    return log
