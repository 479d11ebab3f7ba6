"""OAuth clients (micro_user/auth/clients.py): what a client may register as its redirect
URIs (the one thing an attacker would bend to steal codes), secrets at rest, and secrets
checked the same way whether or not the client exists."""

from __future__ import annotations

import pytest

from micro_user.auth.clients import DEFAULT_SCOPES, check_redirect_uri
from micro_user.crypto import digest
from micro_user.errors import BadRequest, NotFound
from micro_user.storage.tables import events, oauth_clients

pytestmark = pytest.mark.anyio

ACCEPTED = [
    "https://app.example/callback",
    "https://app.example:8443/cb?tenant=1",
    "http://localhost:3000/callback",  # native and development apps (RFC 8252 7.3)
    "http://127.0.0.1:51234/cb",
    "http://[::1]/cb",
]
REFUSED = [
    "",
    "/callback",  # relative
    "app.example/callback",
    "http://app.example/callback",  # plain http off the loopback
    "https://app.example/cb#fragment",  # RFC 6749 3.1.2
    "https://app.example/cb#",
    "https://user@app.example/cb",  # a user name reads as a host to some people
    "https://app.example@evil.example/cb",
    "https://*.app.example/cb",  # no wildcards: exact matching only
    "https://app.example/c b",
    "https://app.example/cb\n",
    "javascript:alert(1)",
    "data:text/html,hi",
    "https://[::1/cb",  # a broken IPv6 literal
    "https://app.example:port/cb",
    "https://app.example/" + "a" * 600,
]


@pytest.mark.parametrize("uri", ACCEPTED)
def test_redirect_uris_that_are_accepted(uri):
    assert check_redirect_uri(uri, "x") == uri


@pytest.mark.parametrize("uri", REFUSED)
def test_redirect_uris_that_are_refused(uri):
    with pytest.raises(BadRequest):
        check_redirect_uri(uri, "x")


async def test_a_confidential_client_has_a_secret_stored_as_a_digest_only(services):
    clients = services.clients
    client, secret = await clients.create(
        "ns", name="Shop", redirect_uris=["https://shop.example/cb"]
    )
    assert secret.startswith("mcs_") and len(secret) > 40
    assert not client.public and client.first_party and client.scopes == DEFAULT_SCOPES
    async with services.db.read() as conn:
        [row] = (await conn.execute(oauth_clients.select())).all()
        [event] = (await conn.execute(events.select())).all()
    assert row.secret_hash == digest(secret) and secret not in str(tuple(row))
    assert event.type == "client.created" and secret not in event.payload
    assert await clients.authenticate("ns", client.id, secret) == client
    assert await clients.authenticate("ns", client.id, secret + "x") is None
    assert await clients.authenticate("other", client.id, secret) is None  # per namespace
    assert await clients.authenticate("ns", "mcl_nobody", secret) is None
    assert await clients.find("ns", client.id) == client
    assert await clients.list("ns") == [client]


async def test_a_public_client_has_no_secret_and_never_authenticates_by_one(services):
    client, secret = await services.clients.create(
        "ns",
        name="SPA",
        redirect_uris=["https://spa.example/", "https://spa.example/"],
        public=True,
        first_party=False,
        scopes=["openid", "email"],
    )
    assert secret == "" and client.public and not client.first_party
    assert client.redirect_uris == ("https://spa.example/",)  # listed once
    assert client.scopes == ("openid", "email")
    assert await services.clients.authenticate("ns", client.id, "") is None
    assert await services.clients.authenticate("ns", client.id, "mcs_anything") is None


@pytest.mark.parametrize(
    "fields, says",
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 129}, "name"),
        ({"redirect_uris": []}, "redirect URIs"),
        ({"redirect_uris": [f"https://a.example/{i}" for i in range(11)]}, "redirect URIs"),
        ({"redirect_uris": ["http://a.example/cb"]}, "https"),
        ({"scopes": ["openid", "admin"]}, "unknown scope"),
        ({"scopes": ["email"]}, "openid"),
    ],
)
async def test_a_malformed_client_is_a_400_that_says_what_to_fix(services, fields, says):
    asked = {"name": "App", "redirect_uris": ["https://a.example/cb"], **fields}
    with pytest.raises(BadRequest, match=says):
        await services.clients.create("ns", **asked)
    assert await services.clients.list("ns") == []


async def test_deleting_a_client(services):
    client, _ = await services.clients.create(
        "ns", name="App", redirect_uris=["https://a.example/cb"]
    )
    await services.clients.delete("ns", client.id)
    assert await services.clients.find("ns", client.id) is None
    with pytest.raises(NotFound):
        await services.clients.delete("ns", client.id)
