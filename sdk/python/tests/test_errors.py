"""How failures reach the caller: every error answer as an ``APIError`` of the class its
status maps to, and every network failure as a ``TransportError``."""

from __future__ import annotations

import pickle
from typing import Any

import httpx
import pytest
from conftest import unique
from sdk_testing import PASSWORD, Users, connect, new_account
from sdk_testing import anyio_backend_fixture as anyio_backend_fixture
from sdk_testing import flavour_fixture as flavour_fixture
from sdk_testing import users_fixture as users_fixture
from tests.support.services import free_port

from microuser import (
    APIError,
    BadRequestError,
    ForbiddenError,
    MicroUserError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnauthorizedError,
)

pytestmark = pytest.mark.anyio


# From the live server -------------------------------------------------------


async def test_a_taken_email_username_or_id_is_a_bad_request_with_a_stable_id(
    users: Users,
) -> None:
    account = await new_account(users)
    taken = {
        "users-email-check": {"email": account.email.upper(), "username": unique()},
        "users-username-check": {"email": f"{unique()}@example.com", "username": account.username},
        "users-userId-check": {"email": f"{unique()}@example.com", "id": account.id},
    }
    for error_id, fields in taken.items():
        with pytest.raises(BadRequestError) as caught:
            await users.create(password=PASSWORD, **fields)
        error = caught.value
        assert (error.id, error.code, error.status) == (error_id, 400, "Bad Request")
        assert error.detail and error.detail in str(error)
        assert isinstance(error, APIError) and isinstance(error, MicroUserError)


async def test_an_unknown_account_is_not_found(users: Users) -> None:
    with pytest.raises(NotFoundError) as caught:
        await users.read(email=f"{unique('ghost')}@example.com")
    error = caught.value
    assert (error.id, error.code, error.status) == ("user.read", 404, "Not Found")


@pytest.mark.parametrize("key", ["muk_not_a_real_key_at_all_0123456789", ""])
async def test_a_bad_or_missing_key_is_unauthorized(
    flavour: str, server: Any, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MICRO_USER_KEY", raising=False)
    async with connect(flavour, server.base_url, key) as users:
        with pytest.raises(UnauthorizedError) as caught:
            await users.list()
    assert (caught.value.id, caught.value.code) == ("auth", 401)


async def test_a_body_over_the_servers_limit_is_too_large(users: Users) -> None:
    profile = {f"field{i}": "x" * 100 for i in range(700)}  # about 75 KB; the limit is 64 KiB
    with pytest.raises(PayloadTooLargeError) as caught:
        await users.create(f"{unique()}@example.com", PASSWORD, profile=profile)
    assert caught.value.code == 413


async def test_a_closed_port_is_a_transport_error(flavour: str) -> None:
    address = f"http://127.0.0.1:{free_port()}"
    async with connect(flavour, address, "key") as users:
        with pytest.raises(TransportError) as caught:
            await users.list()
    assert isinstance(caught.value, MicroUserError)
    assert not isinstance(caught.value, APIError)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert address in str(caught.value)


# From answers no healthy micro-user gives (a proxy in between, a wrong address) ------


def answering(response: httpx.Response) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: response)


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        (400, BadRequestError),
        (401, UnauthorizedError),
        (403, ForbiddenError),
        (404, NotFoundError),
        (413, PayloadTooLargeError),
        (429, RateLimitedError),
        (500, ServerError),
        (503, ServerError),
        (409, APIError),
    ],
)
async def test_each_status_maps_to_its_error_class(
    flavour: str, code: int, error_class: type[APIError]
) -> None:
    body = {"id": "some.check", "code": code, "detail": "what went wrong", "status": "Whatever"}
    transport = answering(httpx.Response(code, json=body))
    async with connect(flavour, "http://micro-user.test", "key", transport=transport) as users:
        with pytest.raises(APIError) as caught:
            await users.read(id="x")
    error = caught.value
    assert type(error) is error_class
    assert (error.id, error.code, error.detail, error.status) == (
        "some.check",
        code,
        "what went wrong",
        "Whatever",
    )


async def test_an_error_page_that_is_not_json_is_still_an_api_error(flavour: str) -> None:
    page = httpx.Response(502, text="<html><h1>502 Bad Gateway</h1></html>")
    async with connect(
        flavour, "http://micro-user.test", "key", transport=answering(page)
    ) as users:
        with pytest.raises(ServerError) as caught:
            await users.read(id="x")
    error = caught.value
    assert (error.id, error.code, error.status) == ("", 502, "Bad Gateway")
    assert "502 Bad Gateway" in error.detail


async def test_a_success_that_is_not_the_api_is_a_micro_user_error(flavour: str) -> None:
    page = httpx.Response(200, text="<html>Welcome to nginx!</html>")
    async with connect(
        flavour, "http://micro-user.test", "key", transport=answering(page)
    ) as users:
        with pytest.raises(MicroUserError) as caught:
            await users.read(id="x")
    assert not isinstance(caught.value, APIError | TransportError)


async def test_a_timeout_is_a_transport_error(flavour: str) -> None:
    def time_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    transport = httpx.MockTransport(time_out)
    async with connect(flavour, "http://micro-user.test", "key", transport=transport) as users:
        with pytest.raises(TransportError) as caught:
            await users.read(id="x")
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


def test_api_errors_survive_pickling_between_processes() -> None:
    error = NotFoundError("user.read", 404, "account not found", "Not Found")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is NotFoundError
    assert (copy.id, copy.code, copy.detail, copy.status) == (
        "user.read",
        404,
        "account not found",
        "Not Found",
    )
    assert str(copy) == str(error) == "account not found (404 Not Found, id 'user.read')"
