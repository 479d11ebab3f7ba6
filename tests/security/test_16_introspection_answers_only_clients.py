"""Finding 16: /oauth/introspect and /oauth/revoke answered any principal of any
namespace, end-user sessions included; Auth.Verify evaluated another namespace's
rules for a foreign admin.

RFC 7662 and RFC 7009 (section 2.1 each) answer clients: here a service account
authenticating with its id and secret, or an admin API key, of the token's
namespace. A client revokes only tokens issued to it, unless it holds admin.
"""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest

from conftest import unique
from tests.support.services import ADMIN_KEY, ServerProcess

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def v1(server: ServerProcess, endpoint: str, credential: str = ADMIN_KEY, **body: Any) -> Any:
    response = httpx.post(
        f"{server.base_url}/v1/{endpoint}",
        json=body,
        headers={"Authorization": f"Bearer {credential}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def service(server: ServerProcess, credential: str = ADMIN_KEY, **fields: Any) -> dict[str, Any]:
    account: dict[str, Any] = v1(
        server, "auth/Auth/Generate", credential, id=unique("svc-"), **fields
    )["account"]
    return account


def client_token(server: ServerProcess, account: dict[str, Any], namespace: str = "") -> str:
    response = httpx.post(
        f"{server.base_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            **({"namespace": namespace} if namespace else {}),
        },
        auth=(account["id"], account["secret"]),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def post(server: ServerProcess, path: str, token: str, **how: Any) -> httpx.Response:
    data = {"token": token, **how.pop("data", {})}
    return httpx.post(f"{server.base_url}{path}", data=data, **how)


@pytest.fixture
def user(server: ServerProcess) -> dict[str, str]:
    name = unique()
    v1(
        server,
        "user/Create",
        username=name,
        email=f"{name}@example.com",
        password="correct horse 1",
    )
    session = v1(server, "user/Login", username=name, password="correct horse 1")["session"]["id"]
    pair = v1(server, "auth/Auth/Token", session_id=session)["token"]
    return {"session": session, "access": pair["access_token"], "refresh": pair["refresh_token"]}


@pytest.fixture
def foreign(server: ServerProcess) -> dict[str, Any]:
    """Another namespace's admin key and an admin service account of it."""
    namespace = unique("ns")
    key = server.cli("key", "create", "--namespace", namespace).stdout.strip()
    return {"namespace": namespace, "key": key, "account": service(server, key, scopes=["admin"])}


def test_end_users_are_no_clients(server, user) -> None:
    for path in ("/oauth/introspect", "/oauth/revoke"):
        for credential in (user["session"], user["access"]):
            response = post(
                server, path, user["access"], headers={"Authorization": f"Bearer {credential}"}
            )
            assert response.status_code == 401, (path, response.text)
            assert response.json()["error"] == "invalid_client"
        assert post(server, path, user["access"]).status_code == 401
    # Nothing was revoked by them.
    assert post(server, "/oauth/introspect", user["access"], headers=ADMIN).json()["active"]


def test_a_client_of_the_namespace_gets_an_answer_shaped_as_rfc_7662(server, user) -> None:
    account = service(server)
    answer = post(
        server, "/oauth/introspect", user["access"], auth=(account["id"], account["secret"])
    )
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    body = answer.json()
    # RFC 7662 section 2.2: "active" is REQUIRED and boolean; the optional members typed so.
    assert body["active"] is True
    for name in ("scope", "token_type", "sub", "iss", "jti"):
        assert isinstance(body[name], str), name
    for name in ("exp", "iat"):
        assert isinstance(body[name], int) and not isinstance(body[name], bool), name
    claims = jwt.decode(user["access"], options={"verify_signature": False})
    assert {k: body[k] for k in ("sub", "iss", "exp", "iat", "jti")} == {
        k: claims[k] for k in ("sub", "iss", "exp", "iat", "jti")
    }


def test_another_namespace_learns_nothing_and_revokes_nothing(server, user, foreign) -> None:
    account = foreign["account"]
    basic = {
        "auth": (account["id"], account["secret"]),
        "data": {"namespace": foreign["namespace"]},
    }
    key = {"headers": {"Authorization": f"Bearer {foreign['key']}"}}
    for how in (basic, key):
        for token in (user["access"], user["refresh"]):
            answer = post(server, "/oauth/introspect", token, **dict(how))
            assert answer.status_code == 200 and answer.json() == {"active": False}, answer.text
            revoked = post(server, "/oauth/revoke", token, **dict(how))
            assert revoked.status_code == 401 and revoked.json()["error"] == "invalid_client"
    assert post(server, "/oauth/introspect", user["access"], headers=ADMIN).json()["active"]
    assert post(server, "/oauth/introspect", user["refresh"], headers=ADMIN).json()["active"]
    # Its own tokens it may introspect.
    own = client_token(server, account, foreign["namespace"])
    assert post(server, "/oauth/introspect", own, **dict(key)).json()["active"] is True


def test_a_client_revokes_only_its_own_tokens_unless_admin(server) -> None:
    mallory, victim = service(server), service(server)
    theirs = client_token(server, victim)
    basic = {"auth": (mallory["id"], mallory["secret"])}
    refused = post(server, "/oauth/revoke", theirs, **basic)
    assert refused.status_code == 400 and refused.json()["error"] == "unauthorized_client"
    assert post(server, "/oauth/introspect", theirs, **basic).json()["active"] is True
    mine = client_token(server, mallory)
    assert post(server, "/oauth/revoke", mine, **basic).status_code == 200
    assert post(server, "/oauth/introspect", mine, **basic).json() == {"active": False}
    # An admin client may revoke any token of its namespace.
    boss = service(server, scopes=["admin"])
    assert (
        post(server, "/oauth/revoke", theirs, auth=(boss["id"], boss["secret"])).status_code == 200
    )
    assert post(server, "/oauth/introspect", theirs, headers=ADMIN).json() == {"active": False}


def test_verify_never_evaluates_another_namespaces_rules(server, foreign) -> None:
    resource = {"type": "service", "name": "user", "endpoint": "User.Read"}
    response = httpx.post(
        f"{server.base_url}/v1/auth/Auth/Verify",
        json={"namespace": "micro", "resource": resource},
        headers={"Authorization": f"Bearer {foreign['key']}"},
    )
    assert response.status_code == 403 and response.json()["id"] == "auth.verify", response.text
    # Its own namespace it may ask about.
    own = v1(
        server,
        "auth/Auth/Verify",
        foreign["key"],
        namespace=foreign["namespace"],
        resource=resource,
    )
    assert own["allowed"] is False
