"""What the SDK's tests share: one view of both clients, so that every test runs against
``Client`` and ``AsyncClient`` alike, and helpers for accounts and mail.

The live server, the mailbox and the admin key come from the repository's root
``conftest.py``. This module is not a ``conftest.py`` on purpose: the root one is
imported as the top-level module ``conftest`` (tests do ``from conftest import unique``),
and a second ``conftest.py`` outside a package would take its place in ``sys.modules``
for the whole run. Test modules import the fixtures below by name instead.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from email.message import Message
from typing import Any

import pytest
from conftest import unique

from microuser import Account, AsyncAuthClient, AsyncClient, AuthClient, Client
from microuser._client import AsyncConnection, SyncConnection

PASSWORD = "correct horse 1"
FLAVOURS = ["sync", "async"]


class Users:
    """Either client, every method awaited. For a ``Client`` the method is simply called
    (and must not hand back an awaitable); for an ``AsyncClient`` it is awaited."""

    def __init__(self, client: SyncConnection | AsyncConnection) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self.client, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            if isinstance(self.client, AsyncConnection):
                return await result
            assert not inspect.isawaitable(result), f"{name} returned an awaitable"
            return result

        return call


@asynccontextmanager
async def connect(
    flavour: str, address: str | None, key: str | None, **options: Any
) -> AsyncIterator[Users]:
    """A ``Client`` ("sync") or ``AsyncClient`` ("async"), closed afterwards."""
    if flavour == "sync":
        with Client(address, key, **options) as client:
            yield Users(client)
    else:
        async with AsyncClient(address, key, **options) as aclient:
            yield Users(aclient)


@asynccontextmanager
async def connect_auth(
    flavour: str, address: str | None, key: str | None, **options: Any
) -> AsyncIterator[Users]:
    """An ``AuthClient`` ("sync") or ``AsyncAuthClient`` ("async"), closed afterwards."""
    if flavour == "sync":
        with AuthClient(address, key, **options) as client:
            yield Users(client)
    else:
        async with AsyncAuthClient(address, key, **options) as aclient:
            yield Users(aclient)


@pytest.fixture(name="anyio_backend")
def anyio_backend_fixture() -> str:
    return "asyncio"


@pytest.fixture(name="flavour", params=FLAVOURS)
def flavour_fixture(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(name="users")
async def users_fixture(flavour: str, server: Any, admin_key: str) -> AsyncIterator[Users]:
    """A client of the live server (each backend), with the admin key, in each flavour."""
    async with connect(flavour, server.base_url, admin_key) as users:
        yield users


async def new_account(users: Users, **fields: Any) -> Account:
    """A new account with a unique username and email, and the password ``PASSWORD``."""
    name = unique("sdk")
    account: Account = await users.create(
        email=f"{name}@example.com", password=PASSWORD, username=name, **fields
    )
    return account


def mail_to(mailbox: Any, address: str) -> Message:
    """The one mail sent to ``address`` (waiting for it to arrive)."""
    messages: list[Message] = mailbox.wait_for(to=address)
    assert len(messages) == 1, messages
    return messages[0]


def text_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def only_link(text: str) -> str:
    links = re.findall(r"https?://\S+", text)
    assert len(links) == 1, text
    return str(links[0])
