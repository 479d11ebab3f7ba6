"""Finding 13: whoever may call Roles.Grant or Auth.Generate could hand out admin.

The attacker is an account that a rule allows to call Roles.Grant and
Auth.Generate, without holding admin. It tries to make itself admin, to give
itself a role it lacks, and to make an admin service account. API keys (which
hold admin) keep granting anything.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conftest import unique
from tests.support.services import ADMIN_KEY, ServerProcess


class Caller:
    def __init__(self, server: ServerProcess, credential: str) -> None:
        self.http = httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {credential}"}, timeout=30
        )

    def __call__(self, endpoint: str, **body: Any) -> httpx.Response:
        return self.http.post(f"/v1/{endpoint}", json=body)

    def ok(self, endpoint: str, **body: Any) -> dict[str, Any]:
        response = self(endpoint, **body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture
def admin(server: ServerProcess):
    caller = Caller(server, ADMIN_KEY)
    yield caller
    caller.http.close()


def attacker(server: ServerProcess, admin: Caller) -> tuple[Caller, str, str, str]:
    """(the attacker's client, its account id, the role it holds, its session): a user
    holding a role that rules allow Roles.Grant and Auth.Generate."""
    role = unique("granter-")
    admin.ok("auth/Roles/Create", name=role)
    for endpoint in ("Roles.Grant", "Auth.Generate"):
        resource = {"type": "service", "name": "auth", "endpoint": endpoint}
        admin.ok(
            "auth/Rules/Create",
            rule={"id": unique("r-"), "scope": role, "resource": resource, "access": "GRANTED"},
        )
    name = unique()
    account = admin.ok(
        "user/Create", username=name, email=f"{name}@example.com", password="correct horse 1"
    )["account"]
    admin.ok("auth/Roles/Grant", role=role, account_type="user", account_id=account["id"])
    session = admin.ok("user/Login", username=name, password="correct horse 1")["session"]
    token = admin.ok("auth/Auth/Token", session_id=session["id"])["token"]["access_token"]
    return Caller(server, token), account["id"], role, session["id"]


def roles_now(admin: Caller, session_id: str) -> set[str]:
    """The roles a token minted now for the session carries."""
    token = admin.ok("auth/Auth/Token", session_id=session_id)["token"]["access_token"]
    return set(admin.ok("auth/Auth/Inspect", token=token)["account"]["scopes"])


def test_a_granter_without_admin_cannot_grant_itself_admin(server, admin) -> None:
    client, account_id, role, session = attacker(server, admin)
    grant = client("auth/Roles/Grant", role="admin", account_type="user", account_id=account_id)
    assert grant.status_code == 403, grant.text
    assert grant.json()["id"] == "auth.roles.grant"
    # The grant was not stored: a token minted now holds only what it held.
    assert roles_now(admin, session) == {role}


def test_a_granter_cannot_grant_a_role_it_lacks(server, admin) -> None:
    client, account_id, role, session = attacker(server, admin)
    other = unique("payroll-")
    admin.ok("auth/Roles/Create", name=other)
    grant = client("auth/Roles/Grant", role=other, account_type="user", account_id=account_id)
    assert grant.status_code == 403 and other in grant.json()["detail"], grant.text
    assert roles_now(admin, session) == {role}
    # A role it holds it may pass on.
    name = unique()
    friend = admin.ok(
        "user/Create", username=name, email=f"{name}@example.com", password="correct horse 1"
    )["account"]
    client.ok("auth/Roles/Grant", role=role, account_type="user", account_id=friend["id"])


def test_a_generator_cannot_make_an_admin_service_account(server, admin) -> None:
    client, _, role, _ = attacker(server, admin)
    made = client("auth/Auth/Generate", id=unique("svc-"), scopes=["admin"])
    assert made.status_code == 403 and made.json()["id"] == "auth.generate", made.text
    other = unique("payroll-")
    admin.ok("auth/Roles/Create", name=other)
    assert client("auth/Auth/Generate", id=unique("svc-"), scopes=[other]).status_code == 403
    listed = {a["id"] for a in admin.ok("auth/Accounts/List")["accounts"]}
    # It may make a service account with what it holds.
    made = client.ok("auth/Auth/Generate", id=unique("svc-"), scopes=[role])["account"]
    assert made["scopes"] == [role] and made["id"] not in listed


def test_api_keys_hold_admin_and_keep_granting(server, admin) -> None:
    name = unique()
    account = admin.ok(
        "user/Create", username=name, email=f"{name}@example.com", password="correct horse 1"
    )["account"]
    admin.ok("auth/Roles/Grant", role="admin", account_type="user", account_id=account["id"])
    made = admin.ok("auth/Auth/Generate", id=unique("svc-"), scopes=["admin"])["account"]
    assert made["scopes"] == ["admin"]
