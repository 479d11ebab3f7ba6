"""The authorization code flow as a real relying party runs it: Authlib (not our code) makes
the authorization URL with PKCE (S256), exchanges the code, checks the ID token by its own
rules (signature from the discovery document's key set, issuer, audience, nonce, expiry,
at_hash), calls userinfo, refreshes and revokes. The user signs in on the hosted pages
(driven by ``tests/support/forms.py``; the browser walk is tests/browser/)."""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from authlib.jose import JsonWebKey, JsonWebToken
from authlib.oidc.core import CodeIDToken

from conftest import unique
from tests.support.forms import Agent
from tests.support.services import ServerProcess

REDIRECT_URI = "http://127.0.0.1:9/callback"


def register(server: ServerProcess, *args: str, namespace: str = "") -> dict[str, Any]:
    command = ["client", "create", "--name", "Notes", "--redirect-uri", REDIRECT_URI, *args]
    if namespace:
        command += ["--namespace", namespace]
    done = server.cli(*command)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def discover(issuer: str) -> dict[str, Any]:
    answer = httpx.get(f"{issuer}/.well-known/openid-configuration")
    assert answer.status_code == 200, answer.text
    return answer.json()


def id_token_claims(
    metadata: dict[str, Any], token: dict[str, Any], client_id: str, nonce: str
) -> dict[str, Any]:
    """Authlib's own ID token checks (OpenID Connect Core section 3.1.3.7)."""
    keys = JsonWebKey.import_key_set(httpx.get(metadata["jwks_uri"]).json())
    claims = JsonWebToken(metadata["id_token_signing_alg_values_supported"]).decode(
        token["id_token"],
        keys,
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": metadata["issuer"]}},
        claims_params={
            "nonce": nonce,
            "client_id": client_id,
            "access_token": token["access_token"],
        },
    )
    claims.validate()
    return dict(claims)


def relying_party(registered: dict[str, Any], scope: str) -> OAuth2Client:
    """Authlib's client for a registered client: PKCE S256; a public one sends no secret."""
    return OAuth2Client(
        registered["id"],
        registered["secret"] or None,
        scope=scope,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic" if registered["secret"] else "none",
    )


def user_in_new_namespace(server: ServerProcess) -> tuple[str, dict[str, Any], str]:
    """A new namespace with one user: (namespace, account, password)."""
    namespace = unique("ns")
    key = server.cli("key", "create", "--namespace", namespace).stdout.strip()
    name, password = unique(), "correct horse 1"
    made = httpx.post(
        f"{server.base_url}/v1/user/Create",
        json={"username": name, "email": f"{name}@example.com", "password": password},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert made.status_code == 200, made.text
    return namespace, made.json()["account"], password


def sign_in(agent: Agent, url: str, login: str, password: str) -> httpx.Response:
    """Open the authorization URL, sign in on the hosted page; the redirect to the client."""
    page = agent.go(url)
    assert page.status_code == 200, page.text
    assert "Sign in" in page.text
    return agent.submit({"login": login, "password": password})


def code_of(answer: httpx.Response) -> str:
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    return location


@pytest.fixture
def agent(server: ServerProcess):
    browser = Agent(server.base_url)
    yield browser
    browser.close()


def test_a_confidential_client_signs_a_user_in_refreshes_and_logs_out(
    server: ServerProcess, new_user, agent: Agent
) -> None:
    user, password = new_user(profile={"name": "Ada Lovelace"})
    registered = register(server)
    metadata = discover(server.base_url)
    assert "S256" in metadata["code_challenge_methods_supported"]
    nonce, verifier = generate_token(20), generate_token(48)
    rp = relying_party(registered, "openid profile email offline_access")
    url, state = rp.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    location = code_of(sign_in(agent, url, user["username"], password))
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == [state]
    assert query["iss"] == [metadata["issuer"]]  # RFC 9207

    token = rp.fetch_token(
        metadata["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    claims = id_token_claims(metadata, token, registered["id"], nonce)
    assert claims["sub"] == user["id"]
    assert claims["aud"] == registered["id"]
    assert claims["amr"] == ["pwd"] and claims["acr"] == "1"
    assert metadata["acr_values_supported"] == ["1", "2"]
    assert claims["email"] == user["email"]
    assert claims["preferred_username"] == user["username"]
    assert claims["name"] == "Ada Lovelace"
    assert isinstance(claims["auth_time"], int) and claims["auth_time"] <= claims["iat"]

    info = rp.get(metadata["userinfo_endpoint"])
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == user["id"]
    assert info.json()["email"] == user["email"]

    # The session made here is the Micro API's: ReadSession sees it.
    session_cookie = agent.http.cookies.get("mu_session_micro")
    read = httpx.post(
        f"{server.base_url}/v1/user/ReadSession",
        json={"sessionId": session_cookie},
        headers={"Authorization": f"Bearer {server.env['MICRO_USER_ADMIN_KEY']}"},
    )
    assert read.status_code == 200, read.text
    assert read.json()["session"]["userId"] == user["id"]

    refreshed = rp.refresh_token(metadata["token_endpoint"])
    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert rp.get(metadata["userinfo_endpoint"]).status_code == 200

    # RP-initiated logout with the ID token as hint: the session ends, and with it every
    # token the client holds.
    back = f"{REDIRECT_URI}?signed-out"
    del back  # the client registered none: logout without a return address
    ended = agent.go(f"{metadata['end_session_endpoint']}?id_token_hint={token['id_token']}")
    assert ended.status_code == 200 and "signed out" in ended.text
    assert rp.get(metadata["userinfo_endpoint"]).status_code == 401
    with pytest.raises(Exception, match="invalid_grant"):
        rp.refresh_token(metadata["token_endpoint"])


def test_a_public_client_proves_its_codes_with_pkce_alone(
    server: ServerProcess, new_user, agent: Agent
) -> None:
    user, password = new_user()
    registered = register(server, "--public")
    assert registered["secret"] == ""
    metadata = discover(server.base_url)
    nonce, verifier = generate_token(20), generate_token(48)
    rp = relying_party(registered, "openid email")
    url, _ = rp.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    location = code_of(sign_in(agent, url, user["email"], password))
    token = rp.fetch_token(
        metadata["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    claims = id_token_claims(metadata, token, registered["id"], nonce)
    assert claims["email"] == user["email"]
    assert "preferred_username" not in claims  # profile was not asked for
    assert rp.refresh_token(metadata["token_endpoint"])["access_token"]


def test_a_signed_in_browser_gets_a_code_without_signing_in_again(
    server: ServerProcess, new_user, agent: Agent
) -> None:
    user, password = new_user()
    registered = register(server)
    metadata = discover(server.base_url)
    rp = relying_party(registered, "openid")
    first, _ = rp.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=generate_token(48)
    )
    code_of(sign_in(agent, first, user["username"], password))
    verifier = generate_token(48)
    second, _ = rp.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, prompt="none"
    )
    location = code_of(agent.go(second))
    token = rp.fetch_token(
        metadata["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    assert token["id_token"]
    # prompt=login asks again, even with a live session.
    again, _ = rp.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=generate_token(48), prompt="login"
    )
    page = agent.go(again)
    assert page.status_code == 200 and "Sign in" in page.text


def test_a_namespace_signs_in_its_own_users_under_its_own_issuer(
    server: ServerProcess, agent: Agent
) -> None:
    namespace, user, password = user_in_new_namespace(server)
    name = user["username"]
    registered = register(server, namespace=namespace)
    issuer = f"{server.base_url}/namespaces/{namespace}"
    metadata = discover(issuer)
    assert metadata["authorization_endpoint"] == f"{issuer}/oauth/authorize"
    nonce, verifier = secrets.token_urlsafe(16), generate_token(48)
    rp = relying_party(registered, "openid")
    url, _ = rp.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    location = code_of(sign_in(agent, url, name, password))
    token = rp.fetch_token(
        metadata["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    claims = id_token_claims(metadata, token, registered["id"], nonce)
    assert claims["iss"] == issuer
    # The default namespace's issuer knows neither the client nor its users.
    default = discover(server.base_url)
    url, _ = rp.create_authorization_url(
        default["authorization_endpoint"], code_verifier=generate_token(48)
    )
    refused = agent.go(url)
    assert refused.status_code == 400 and "not registered" in refused.text
