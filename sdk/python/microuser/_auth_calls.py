"""Each endpoint of the auth service once (Micro's ``Auth``, ``Accounts`` and ``Rules``
handlers, plus ``Auth.Verify``, ``Roles``, ``Clients``, ``Providers`` and
``FactorPolicy``): the fields it sends, how its answer is read.

``AuthClient`` and ``AsyncAuthClient`` both send these calls; only how they wait differs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from microuser._calls import Body, Call
from microuser._models import (
    AuthAccount,
    FactorPolicy,
    IdentityProvider,
    OAuthClient,
    Role,
    Token,
    VerifyResult,
    parse_auth_account,
    parse_factor_policy,
    parse_identity_provider,
    parse_oauth_client,
    parse_role,
    parse_token,
    parse_verify,
)
from microuser.rules import Access, Resource, Rule

SERVICE = "auth"


def _call(endpoint: str, payload: Body, parse: Any) -> Call[Any]:
    return Call(endpoint, payload, parse, service=SERVICE)


def _nothing(body: Body) -> None:
    return None


def _account(body: Body) -> AuthAccount:
    return parse_auth_account(body["account"])


def _policy(body: Body) -> FactorPolicy:
    return parse_factor_policy(body["policy"])


def _resource(resource: Resource | str) -> Body:
    found = Resource.parse(resource) if isinstance(resource, str) else resource
    return {"type": found.type, "name": found.name, "endpoint": found.endpoint}


def _rule(data: Body) -> Rule:
    r = data["resource"]
    return Rule(
        id=str(data["id"]),
        scope=str(data.get("scope", "")),
        resource=Resource(str(r["type"]), str(r["name"]), str(r["endpoint"])),
        access=Access(data.get("access") or Access.GRANTED),
        priority=int(data.get("priority") or 0),
    )


def generate(
    *,
    id: str,
    name: str,
    scopes: Iterable[str],
    secret: str,
    metadata: Mapping[str, str] | None,
) -> Call[AuthAccount]:
    payload = {
        "id": id,
        "name": name,
        "type": "service",
        "scopes": list(scopes),
        "secret": secret,
        "metadata": dict(metadata or {}),
    }
    return _call("Auth/Generate", payload, _account)


def inspect(*, token: str) -> Call[AuthAccount]:
    return _call("Auth/Inspect", {"token": token}, _account)


def token(
    *, id: str, secret: str, refresh_token: str, session_id: str, token_expiry: int
) -> Call[Token]:
    payload: Body = {"token_expiry": token_expiry}
    for name, value in (
        ("id", id),
        ("secret", secret),
        ("refresh_token", refresh_token),
        ("session_id", session_id),
    ):
        if value:  # the server wants exactly one grant: only what is given goes
            payload[name] = value
    return _call("Auth/Token", payload, lambda body: parse_token(body["token"]))


def verify(*, resource: Resource | str, token: str, namespace: str) -> Call[VerifyResult]:
    payload = {"token": token, "resource": _resource(resource), "namespace": namespace}
    return _call("Auth/Verify", payload, parse_verify)


def list_accounts() -> Call[list[AuthAccount]]:
    return _call(
        "Accounts/List",
        {},
        lambda body: [parse_auth_account(item) for item in body.get("accounts") or []],
    )


def delete_account(*, id: str) -> Call[None]:
    return _call("Accounts/Delete", {"id": id}, _nothing)


def change_secret(*, id: str, old_secret: str, new_secret: str) -> Call[AuthAccount]:
    payload = {"id": id, "old_secret": old_secret, "new_secret": new_secret}
    return _call("Accounts/ChangeSecret", payload, _account)


def create_rule(
    *, id: str, scope: str, resource: Resource | str, access: Access | str, priority: int
) -> Call[None]:
    rule = {
        "id": id,
        "scope": scope,
        "resource": _resource(resource),
        "access": str(Access(access)),
        "priority": priority,
    }
    return _call("Rules/Create", {"rule": rule}, _nothing)


def delete_rule(*, id: str) -> Call[None]:
    return _call("Rules/Delete", {"id": id}, _nothing)


def list_rules() -> Call[list[Rule]]:
    return _call("Rules/List", {}, lambda body: [_rule(item) for item in body.get("rules") or []])


def create_role(*, name: str, description: str) -> Call[None]:
    return _call("Roles/Create", {"name": name, "description": description}, _nothing)


def delete_role(*, name: str) -> Call[None]:
    return _call("Roles/Delete", {"name": name}, _nothing)


def list_roles() -> Call[list[Role]]:
    return _call("Roles/List", {}, lambda body: [parse_role(r) for r in body.get("roles") or []])


def grant_role(*, role: str, account_id: str, account_type: str) -> Call[None]:
    payload = {"role": role, "account_id": account_id, "account_type": account_type}
    return _call("Roles/Grant", payload, _nothing)


def revoke_role(*, role: str, account_id: str, account_type: str) -> Call[None]:
    payload = {"role": role, "account_id": account_id, "account_type": account_type}
    return _call("Roles/Revoke", payload, _nothing)


def create_client(
    *,
    name: str,
    redirect_uris: Iterable[str],
    post_logout_redirect_uris: Iterable[str],
    public: bool,
    third_party: bool,
    scopes: Iterable[str],
) -> Call[OAuthClient]:
    payload = {
        "name": name,
        "redirect_uris": list(redirect_uris),
        "post_logout_redirect_uris": list(post_logout_redirect_uris),
        "public": public,
        "third_party": third_party,
        "scopes": list(scopes),
    }
    return _call("Clients/Create", payload, lambda body: parse_oauth_client(body["client"]))


def list_clients() -> Call[list[OAuthClient]]:
    return _call(
        "Clients/List",
        {},
        lambda body: [parse_oauth_client(item) for item in body.get("clients") or []],
    )


def delete_client(*, id: str) -> Call[None]:
    return _call("Clients/Delete", {"id": id}, _nothing)


def create_provider(
    *,
    id: str,
    kind: str,
    name: str,
    client_id: str,
    client_secret: str,
    issuer: str,
    authorization_endpoint: str,
    token_endpoint: str,
    userinfo_endpoint: str,
    scopes: Iterable[str],
    subject_claim: str,
    email_claim: str,
    verified_claim: str,
    keep_tokens: bool,
) -> Call[IdentityProvider]:
    payload = {
        "id": id,
        "kind": kind,
        "name": name,
        "client_id": client_id,
        "client_secret": client_secret,
        "issuer": issuer,
        "authorization_endpoint": authorization_endpoint,
        "token_endpoint": token_endpoint,
        "userinfo_endpoint": userinfo_endpoint,
        "scopes": list(scopes),
        "subject_claim": subject_claim,
        "email_claim": email_claim,
        "verified_claim": verified_claim,
        "keep_tokens": keep_tokens,
    }
    return _call(
        "Providers/Create", payload, lambda body: parse_identity_provider(body["provider"])
    )


def list_providers() -> Call[list[IdentityProvider]]:
    return _call(
        "Providers/List",
        {},
        lambda body: [parse_identity_provider(item) for item in body.get("providers") or []],
    )


def delete_provider(*, id: str) -> Call[None]:
    return _call("Providers/Delete", {"id": id}, _nothing)


def read_factor_policy() -> Call[FactorPolicy]:
    return _call("FactorPolicy/Read", {}, _policy)


def set_factor_policy(*, required: str, roles: Iterable[str]) -> Call[FactorPolicy]:
    return _call("FactorPolicy/Set", {"required": required, "roles": list(roles)}, _policy)
