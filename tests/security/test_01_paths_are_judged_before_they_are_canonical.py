"""Finding 1: paths were judged before they were made canonical.

With one rule letting everyone reach ``api:<host>:/public/*`` and nothing else, an attacker
sends paths that a naive prefix check reads as /public/... but the upstream serves as
/admin/secret: through a real nginx configured as the README says, and straight at
micro-user (as a gateway that forwards whatever it got would). None may reach the admin
page. Then the property: for generated paths, whatever reached the upstream must, as the
upstream may read it, fall under the rule that let it in.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.gateway import Gateway, nginx_gateway, public_host, raw_request
from tests.support.services import ServerProcess

BYPASSES = [
    "/public/../admin/secret",
    "/public/%2e%2e/admin/secret",
    "/public/%2E%2E/admin/secret",
    "/public/..%2fadmin/secret",
    "/public/..%2Fadmin/secret",
    "//x/public/../../admin/secret",
    "/public/..;/admin/secret",
    "/public/%2e%2e;/admin/secret",
    "/public/\\..\\admin/secret",
    "/public/..%5cadmin/secret",
    "/public/./../admin/secret",
    "http://evil.example/admin/secret",
    "http://evil.example/public/../admin/secret",
]


def oracle_views(received: str) -> set[str]:
    """Independent of micro-user's own code: the paths an upstream may read a received
    target as: decoded once and normalised as a POSIX path, with a backslash read as a
    slash or not, with ';' parameters cut or not (Tomcat does both)."""
    path = received.split("?", 1)[0].split("#", 1)[0]
    if "://" in path:  # an absolute-form target: its path
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    views = set()
    for text in (path, re.sub(r";[^/]*", "", path)):
        decoded = unquote(text, errors="replace")
        for variant in (decoded, decoded.replace("\\", "/")):
            views.add(posixpath.normpath("/" + variant.lstrip("/")))
    return views


def under_public(view: str) -> bool:
    return view == "/public" or view.startswith("/public/")


@pytest.fixture
def host(server: ServerProcess) -> str:
    return public_host(server, "app-")


@pytest.fixture
def gateway(server: ServerProcess, tmp_path: Path):
    with nginx_gateway(server, tmp_path) as running:
        yield running


def reached_outside_public(gateway: Gateway) -> list[str]:
    return [
        received
        for received in gateway.upstream.take()
        if not all(under_public(view) for view in oracle_views(received))
    ]


def test_the_public_page_is_open_and_nothing_else(gateway: Gateway, host: str) -> None:
    status, body = raw_request(gateway.port, "/public/page", {"Host": host})
    assert status == 200 and body["path"] == "/public/page"
    assert raw_request(gateway.port, "/admin/secret", {"Host": host})[0] == 401
    assert gateway.upstream.take() == ["/public/page"]


@pytest.mark.parametrize("target", BYPASSES)
def test_no_bypass_through_nginx_reaches_the_admin_page(
    gateway: Gateway, host: str, target: str
) -> None:
    status, body = raw_request(gateway.port, target, {"Host": host})
    assert reached_outside_public(gateway) == [], (target, status, body)
    assert status in (400, 401, 403, 404), (target, status, body)


@pytest.mark.parametrize(
    "target",
    [
        "/public/..;/admin/secret",
        "/public/\\..\\admin/secret",
        "/public/..%2fadmin/secret",
        "/public/%2e%2e%2fadmin/secret",
        "/public/%00/../../admin",
        "http://evil.example/public/page",
        "public/page",
        "*",
    ],
)
def test_micro_user_refuses_ambiguous_targets_with_403_saying_why(
    server: ServerProcess, host: str, target: str
) -> None:
    # 403, not 400: nginx's auth_request turns anything but 2xx, 401 and 403 into a 500.
    response = httpx.get(
        f"{server.base_url}/auth/forward",
        headers={"X-Original-URI": target, "X-Forwarded-Host": host},
    )
    assert response.status_code == 403, (target, response.text)
    assert "refused" in response.json()["detail"]


def test_dot_segments_are_judged_after_removal(server: ServerProcess, host: str) -> None:
    def judged(target: str) -> int:
        headers = {"X-Original-URI": target, "X-Forwarded-Host": host}
        return httpx.get(f"{server.base_url}/auth/forward", headers=headers).status_code

    assert judged("/public/../admin/secret") == 401
    assert judged("/public/%2e%2e/admin/secret") == 401
    assert judged("//x/public/../../admin/secret") == 401
    assert judged("/admin/../public/page") == 200
    assert judged("/public/a/../page?next=/../admin") == 200
    # Decoded once: a double-encoded dot-dot is a segment named %2e%2e under /public.
    assert judged("/public/%252e%252e/admin/secret") == 200


def test_envoy_mode_judges_the_path_as_sent(server: ServerProcess, host: str, tmp_path) -> None:
    envoy = server.sibling(tmp_path, {"MICRO_USER_GATEWAY_KIND": "envoy"}).start()
    try:
        headers = {"Host": host}
        # Starlette decodes %2f in its path: judged on that, this was /public/../admin.
        for target, refused in [
            ("/auth/forward/public%2f..%2fadmin", 403),
            ("/auth/forward/public/..%2Fadmin", 403),
            ("/auth/forward/public/..;/admin", 403),
            ("/auth/forward/public/../admin", 401),
            ("/auth/forward/public/%2e%2e/admin", 401),
        ]:
            assert raw_request(envoy.port, target, headers)[0] == refused, target
        assert raw_request(envoy.port, "/auth/forward/public/page", headers)[0] == 200
    finally:
        envoy.stop()


SEGMENTS = [
    "public",
    "admin",
    "secret",
    "page",
    ".",
    "..",
    "%2e",
    "%2e%2e",
    ".%2e",
    "%2f",
    "%2F",
    "%5c",
    "\\",
    ";",
    "..;",
    ";x",
    "",
    "%00",
    "%252e",
    "%252e%252e",
    "a",
    "B",
    "%41",
]


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    segments=st.lists(
        st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=2).map("".join),
        min_size=1,
        max_size=7,
    ),
    query=st.sampled_from(["", "?x=/../admin", "#/../admin"]),
)
def test_whatever_reaches_the_upstream_is_allowed(
    gateway: Gateway, host: str, segments: list[str], query: str
) -> None:
    target = "/" + "/".join(segments) + query
    status, _ = raw_request(gateway.port, target, {"Host": host})
    assert status != 500, target
    assert reached_outside_public(gateway) == [], (target, status)
