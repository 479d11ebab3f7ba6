"""One issuer per namespace (micro_user/auth/issuers.py), held to OpenID Connect Discovery
1.0 by PyJWT, an outside implementation: the discovery document is served under its
issuer, names it, and tokens from its own token endpoint carry it as ``iss``, so a verifier
that checks the issuer (as every one should) accepts them; the issuer of one namespace
never accepts another's tokens or clients."""

from __future__ import annotations

import httpx
import jwt as pyjwt
import pytest

from conftest import unique
from tests.api.test_auth import Auth
from tests.support.services import ADMIN_KEY, ServerProcess


def discover(issuer: str) -> dict:
    answer = httpx.get(f"{issuer}/.well-known/openid-configuration")
    assert answer.status_code == 200, answer.text
    return answer.json()


def client_token(metadata: dict, client_id: str, secret: str) -> str:
    answer = httpx.post(
        metadata["token_endpoint"],
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def verified(metadata: dict, token: str) -> dict:
    """PyJWT's checks, from the discovery document alone: signature by the key set it
    names, expiry, and the issuer."""
    key = pyjwt.PyJWKClient(metadata["jwks_uri"]).get_signing_key_from_jwt(token)
    return pyjwt.decode(
        token,
        key.key,
        algorithms=metadata["id_token_signing_alg_values_supported"],
        issuer=metadata["issuer"],
        options={"require": ["iss", "sub", "exp", "iat"]},
    )


@pytest.fixture
def tenant(server: ServerProcess) -> tuple[str, Auth]:
    namespace = unique("ns")
    key = server.cli("key", "create", "--namespace", namespace).stdout.strip()
    return namespace, Auth(server.base_url, key)


def test_the_default_namespace_is_issued_by_the_public_url(server: ServerProcess) -> None:
    metadata = discover(server.base_url)
    assert metadata["issuer"] == server.base_url
    assert metadata["token_endpoint"] == f"{server.base_url}/oauth/token"
    auth = Auth(server.base_url, ADMIN_KEY)
    account = auth.ok("Auth.Generate", id=unique("svc-"), scopes=["admin"])["account"]
    claims = verified(metadata, client_token(metadata, account["id"], account["secret"]))
    assert claims["iss"] == server.base_url and claims["namespace"] == "micro"
    assert claims["sub"] == account["id"]
    # Micro's answer is unchanged: the account's issuer is its namespace.
    assert account["issuer"] == "micro"


def test_another_namespace_has_its_own_issuer_and_endpoints(
    server: ServerProcess, tenant: tuple[str, Auth]
) -> None:
    namespace, auth = tenant
    issuer = f"{server.base_url}/namespaces/{namespace}"
    metadata = discover(issuer)
    assert metadata["issuer"] == issuer
    assert metadata["token_endpoint"] == f"{issuer}/oauth/token"
    assert metadata["jwks_uri"] == f"{server.base_url}/.well-known/jwks.json"
    account = auth.ok("Auth.Generate", id=unique("svc-"), scopes=["admin"])["account"]
    token = client_token(metadata, account["id"], account["secret"])
    claims = verified(metadata, token)
    assert claims["iss"] == issuer and claims["namespace"] == namespace
    # The default namespace's issuer does not take it (PyJWT's own issuer check).
    with pytest.raises(pyjwt.InvalidIssuerError):
        verified(discover(server.base_url), token)
    # Auth.Inspect still answers the namespace, as Micro's does.
    inspected = auth.ok("Auth.Inspect", token=token)["account"]
    assert inspected["issuer"] == namespace and inspected["id"] == account["id"]
    # Introspection (RFC 7662) names the issuer.
    introspected = httpx.post(
        metadata["introspection_endpoint"],
        data={"token": token},
        auth=(account["id"], account["secret"]),
    ).json()
    assert introspected["active"] is True and introspected["iss"] == issuer


def test_an_issuers_endpoints_take_only_its_own_clients(
    server: ServerProcess, tenant: tuple[str, Auth]
) -> None:
    namespace, auth = tenant
    ours = Auth(server.base_url, ADMIN_KEY).ok("Auth.Generate", id=unique("svc-"))["account"]
    theirs = auth.ok("Auth.Generate", id=unique("svc-"))["account"]
    issuer = f"{server.base_url}/namespaces/{namespace}"
    # A client of the default namespace at the other issuer's token endpoint: unknown there.
    wrong = httpx.post(
        f"{issuer}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(ours["id"], ours["secret"]),
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    # Naming another namespace in the form, at an issuer's endpoint, is refused outright.
    named = httpx.post(
        f"{issuer}/oauth/token",
        data={"grant_type": "client_credentials", "namespace": "micro"},
        auth=(theirs["id"], theirs["secret"]),
    )
    assert named.status_code == 400 and named.json()["error"] == "invalid_request"
    # The default namespace's admin key is no client of the other issuer.
    token = client_token(discover(issuer), theirs["id"], theirs["secret"])
    introspect = httpx.post(
        f"{issuer}/oauth/introspect",
        data={"token": token},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert introspect.status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/namespaces/micro",  # the default namespace's issuer is the public URL alone
        "/namespaces/No%20Such",  # not a namespace
        "/namespaces/%2e%2e",  # dot segments, encoded
        "/namespaces/a%2Fb",
    ],
)
def test_paths_that_are_no_issuer_are_404(server: ServerProcess, path: str) -> None:
    answer = httpx.get(f"{server.base_url}{path}/.well-known/openid-configuration")
    assert answer.status_code == 404, answer.text
    token = httpx.post(
        f"{server.base_url}{path}/oauth/token", data={"grant_type": "client_credentials"}
    )
    assert token.status_code == 404, token.text


def test_revocations_are_listed_per_issuer(server: ServerProcess, tenant) -> None:
    namespace, _ = tenant
    issuer = f"{server.base_url}/namespaces/{namespace}"
    for asked in (issuer, namespace):  # the issuer, or (as before issuers were URLs) the name
        listed = httpx.get(f"{server.base_url}/.well-known/revocations", params={"iss": asked})
        assert listed.status_code == 200 and listed.json()["iss"] == issuer
    for foreign in ("https://elsewhere.example", f"{server.base_url}/namespaces/micro"):
        refused = httpx.get(f"{server.base_url}/.well-known/revocations", params={"iss": foreign})
        assert refused.status_code == 400 and "not an issuer" in refused.json()["detail"]
