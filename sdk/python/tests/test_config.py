"""Where a client sends its requests, with what credentials, and what it sends."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sdk_testing import anyio_backend_fixture as anyio_backend_fixture
from sdk_testing import connect, new_account
from sdk_testing import flavour_fixture as flavour_fixture
from tests.support.services import free_port

import microuser

pytestmark = pytest.mark.anyio


async def test_address_and_key_come_from_the_environment(
    flavour: str, server: Any, admin_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MICRO_USER_ADDRESS", server.base_url)
    monkeypatch.setenv("MICRO_USER_KEY", admin_key)
    async with connect(flavour, None, None) as users:
        account = await new_account(users)
        assert await users.read(id=account.id) == account


async def test_arguments_win_over_the_environment(
    flavour: str, server: Any, admin_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MICRO_USER_ADDRESS", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("MICRO_USER_KEY", "muk_not_a_real_key_at_all_0123456789")
    async with connect(flavour, server.base_url + "/", admin_key) as users:
        assert isinstance(await users.list(limit=1), list)


class Recorder:
    """A transport that keeps every request and answers like an empty success."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.transport = httpx.MockTransport(self.answer)

    def answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json={})


async def test_the_default_address_is_a_local_install(
    flavour: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MICRO_USER_ADDRESS", raising=False)
    monkeypatch.delenv("MICRO_USER_KEY", raising=False)
    recorder = Recorder()
    async with connect(flavour, None, None, transport=recorder.transport) as users:
        await users.logout("s1")
    [request] = recorder.requests
    assert request.url == "http://localhost:8080/v1/user/Logout"
    assert "authorization" not in request.headers


async def test_a_call_is_a_json_post_with_the_key_and_the_proto_field_names(
    flavour: str,
) -> None:
    recorder = Recorder()
    async with connect(
        flavour,
        "https://users.example.com/micro/",
        "muk_secret",
        transport=recorder.transport,
        headers={"X-Request-Id": "r-1"},
    ) as users:
        await users.update_password("u1", "old password", "new password", "new password")
    [request] = recorder.requests
    assert request.method == "POST"
    assert request.url == "https://users.example.com/micro/v1/user/UpdatePassword"
    assert request.headers["authorization"] == "Bearer muk_secret"
    assert request.headers["x-request-id"] == "r-1"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == f"micro-user-sdk/{microuser.__version__}"
    assert json.loads(request.content) == {
        "userId": "u1",
        "old_password": "old password",
        "new_password": "new password",
        "confirm_password": "new password",
    }
