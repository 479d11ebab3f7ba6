"""The upstream provider harness (tests/support/upstream.py) is a real OpenID Provider:
Authlib, as the relying party, runs the code flow with PKCE against it, the user signs in
on its HTML form (driven by tests/support/forms.py), and the ID token's signature is checked
against the provider's published key set with PyJWT."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client

from tests.support.forms import Agent
from tests.support.upstream import Upstream, upstream_provider

REDIRECT_URI = "https://app.example/callback"
CLIENT: dict[str, Any] = {
    "client_id": "notes",
    "client_secret": "notes-secret-1",
    "redirect_uris": [REDIRECT_URI],
}
ADA: dict[str, Any] = {
    "sub": "ada-1",
    "login": "ada",
    "password": "analytical engine",
    "email": "ada@example.com",
    "email_verified": True,
    "name": "Ada Lovelace",
}
BOB: dict[str, Any] = {
    "sub": "bob-2",
    "login": "bob",
    "password": "difference engine",
    "email": "bob@example.com",
    "email_verified": False,
    "name": "Bob Babbage",
}


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with upstream_provider([CLIENT], [ADA, BOB]) as running:
        yield running


@pytest.fixture(scope="module")
def metadata(upstream: Upstream) -> dict[str, Any]:
    answer = httpx.get(f"{upstream.issuer}/.well-known/openid-configuration")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def relying_party(auth_method: str = "client_secret_basic") -> OAuth2Client:
    return OAuth2Client(
        CLIENT["client_id"],
        CLIENT["client_secret"],
        scope="openid email profile",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method=auth_method,
    )


def sign_in(
    metadata: dict[str, Any], account: dict[str, Any], auth_method: str = "client_secret_basic"
) -> tuple[dict[str, Any], str]:
    """Run the code flow with PKCE as ``account``: (the token response, the nonce)."""
    verifier, nonce = generate_token(48), generate_token(16)
    with relying_party(auth_method) as client:
        url, state = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
        )
        agent = Agent(metadata["issuer"])
        try:
            page = agent.go(url)
            assert page.status_code == 200 and "Sign in" in page.text, page.text
            back = agent.submit({"login": account["login"], "password": account["password"]})
        finally:
            agent.close()
        assert back.status_code in (302, 303), back.text
        callback = back.headers["location"]
        assert callback.startswith(REDIRECT_URI + "?"), callback
        assert parse_qs(urlsplit(callback).query)["iss"] == [metadata["issuer"]]
        token = client.fetch_token(
            metadata["token_endpoint"],
            authorization_response=callback,
            state=state,
            code_verifier=verifier,
        )
    return dict(token), nonce


def test_discovery_names_the_issuer(upstream: Upstream, metadata: dict[str, Any]) -> None:
    assert metadata["issuer"] == upstream.issuer
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert {"client_secret_basic", "client_secret_post"} <= set(
        metadata["token_endpoint_auth_methods_supported"]
    )
    assert {"openid", "email", "profile"} <= set(metadata["scopes_supported"])


@pytest.mark.parametrize(
    ("account", "auth_method"), [(ADA, "client_secret_basic"), (BOB, "client_secret_post")]
)
def test_code_flow_ends_in_a_signed_id_token(
    metadata: dict[str, Any], account: dict[str, Any], auth_method: str
) -> None:
    token, nonce = sign_in(metadata, account, auth_method)
    key = jwt.PyJWKClient(metadata["jwks_uri"]).get_signing_key_from_jwt(token["id_token"])
    claims = jwt.decode(
        token["id_token"],
        key,
        algorithms=metadata["id_token_signing_alg_values_supported"],
        audience=CLIENT["client_id"],
        issuer=metadata["issuer"],
    )
    assert claims["sub"] == account["sub"]
    assert claims["nonce"] == nonce
    assert claims["email"] == account["email"]
    assert claims["email_verified"] is account["email_verified"]
    assert claims["name"] == account["name"]
    assert claims["preferred_username"] == account["login"]


def test_userinfo_returns_the_email(metadata: dict[str, Any]) -> None:
    token, _ = sign_in(metadata, ADA)
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    info = httpx.get(metadata["userinfo_endpoint"], headers=bearer)
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == ADA["sub"]
    assert info.json()["email"] == ADA["email"]
    assert info.json()["email_verified"] is True


def test_a_wrong_password_shows_the_form_again(metadata: dict[str, Any]) -> None:
    with relying_party() as client:
        url, _ = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=generate_token(48)
        )
    agent = Agent(metadata["issuer"])
    try:
        agent.go(url)
        again = agent.submit({"login": ADA["login"], "password": "not the password"})
        assert again.status_code == 200
        assert "location" not in again.headers
        assert "Wrong login or password." in again.text
        assert 'name="password"' in again.text and "Sign in" in again.text
        # The same form still signs in with the right password.
        back = agent.submit({"password": ADA["password"]})
        assert "code" in parse_qs(urlsplit(back.headers["location"]).query)
    finally:
        agent.close()


def test_pkce_is_required(metadata: dict[str, Any]) -> None:
    with relying_party() as client:
        url, _ = client.create_authorization_url(metadata["authorization_endpoint"])
    answer = httpx.get(url)
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["error"] == ["invalid_request"]
    assert "PKCE" in query["error_description"][0]
