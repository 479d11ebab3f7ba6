"""Finding 3: behind Traefik the client chose which path was judged.

Traefik's ForwardAuth middleware (pkg/middlewares/auth/forward.go, ``writeHeader``) sends a
GET to the auth address carrying every header of the client's request (hop-by-hop ones
removed), then sets X-Forwarded-For, X-Forwarded-Method, X-Forwarded-Proto,
X-Forwarded-Host and X-Forwarded-Uri itself (overwriting the client's unless
``trustForwardHeader``). A client's own X-Original-URI therefore arrives untouched, and it
used to win over X-Forwarded-Uri. Only the configured gateway kind's headers count now, and
a path header of another kind that disagrees is refused.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.gateway import Gateway, instance, nginx_gateway, public_host, raw_request
from tests.support.services import ServerProcess


@pytest.fixture
def host(server: ServerProcess) -> str:
    return public_host(server, "shop-")


def traefik_forward(
    auth: ServerProcess, method: str, request_uri: str, host: str, client_headers: dict[str, str]
) -> httpx.Response:
    """The request Traefik's ForwardAuth makes for a client's ``method request_uri`` (default
    options: trustForwardHeader false, no authRequestHeaders filter)."""
    headers = {
        **client_headers,  # copied as the client sent them
        "Host": host,
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Method": method,
        "X-Forwarded-Proto": "http",
        "X-Forwarded-Host": host,
        "X-Forwarded-Uri": request_uri,  # req.URL.RequestURI(): the path as sent, and query
    }
    return httpx.get(f"{auth.base_url}/auth/forward", headers=headers)


def test_a_client_header_cannot_choose_the_path_behind_traefik(
    server: ServerProcess, host: str, tmp_path: Path
) -> None:
    with instance(server, tmp_path, {"MICRO_USER_GATEWAY_KIND": "traefik"}) as auth:
        assert traefik_forward(auth, "GET", "/public/page?x=1", host, {}).status_code == 200
        assert traefik_forward(auth, "GET", "/admin/secret", host, {}).status_code == 401
        # The attack: the real request is /admin/secret; the client adds X-Original-URI.
        forged = traefik_forward(
            auth, "GET", "/admin/secret", host, {"X-Original-URI": "/public/page"}
        )
        assert forged.status_code == 403, forged.text
        assert "x-original-uri" in forged.json()["detail"]
        # Agreeing with what Traefik says is harmless; the path Traefik names is judged.
        same = {"X-Original-URI": "/public/page"}
        assert traefik_forward(auth, "GET", "/public/page", host, same).status_code == 200
        # Ambiguous paths are refused here too.
        dotted = traefik_forward(auth, "GET", "/public/..%2fadmin/secret", host, {})
        assert dotted.status_code == 403


def test_an_nginx_gate_reads_only_nginx_headers(
    server: ServerProcess, host: str, tmp_path: Path
) -> None:
    # Traefik's form at a gateway configured for nginx (the default) is not understood.
    traefik_form = traefik_forward(server, "GET", "/public/page", host, {})
    assert traefik_form.status_code == 403
    assert "x-original-uri" in traefik_form.json()["detail"]
    with nginx_gateway(server, tmp_path) as gateway:
        check(gateway, host)


def check(gateway: Gateway, host: str) -> None:
    # Through nginx, a client's X-Forwarded-Uri naming a public page does not help.
    status, _ = raw_request(
        gateway.port, "/admin/secret", {"Host": host, "X-Forwarded-Uri": "/public/page"}
    )
    assert status == 403
    status, _ = raw_request(gateway.port, "/public/page", {"Host": host})
    assert status == 200
    assert gateway.upstream.take() == ["/public/page"]
