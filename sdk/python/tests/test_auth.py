"""The auth service with both clients, on a live server: service accounts, tokens, rules,
roles, Verify, OAuth clients, identity providers and the factor policy; tokens minted here
are checked by an outside JWT library."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import jwt as pyjwt
import pytest
from conftest import unique
from sdk_testing import PASSWORD, Users, connect_auth, new_account
from sdk_testing import anyio_backend_fixture as anyio_backend_fixture
from sdk_testing import flavour_fixture as flavour_fixture
from sdk_testing import users_fixture as users_fixture

from microuser import (
    AuthAccount,
    BadRequestError,
    FactorPolicy,
    ForbiddenError,
    IdentityProvider,
    NotFoundError,
    OAuthClient,
    Role,
    UnauthorizedError,
)
from microuser.rules import Access, Resource, Rule

pytestmark = pytest.mark.anyio


@pytest.fixture(name="auth")
async def auth_fixture(flavour: str, server: Any, admin_key: str) -> AsyncIterator[Users]:
    async with connect_auth(flavour, server.base_url, admin_key) as auth:
        yield auth


@pytest.fixture(name="anonymous")
async def anonymous_fixture(flavour: str, server: Any) -> AsyncIterator[Users]:
    async with connect_auth(flavour, server.base_url, "") as auth:
        yield auth


async def test_generate_list_change_secret_and_delete(auth: Users, anonymous: Users) -> None:
    scope = unique("reader-")
    made = await auth.generate(
        name="billing", scopes=[scope], id=unique("svc-"), metadata={"team": "pay"}
    )
    assert made == AuthAccount(
        id=made.id,
        type="service",
        issuer="micro",
        name="billing",
        scopes=(scope,),
        secret=made.secret,
        metadata={"team": "pay"},
    )
    assert made.secret.startswith("mus_")
    listed = {a.id: a for a in await auth.list_accounts()}
    assert listed[made.id].secret == "" and listed[made.id].scopes == (scope,)
    with pytest.raises(BadRequestError) as taken:
        await auth.generate(id=made.id)
    assert taken.value.id == "auth.generate"

    changed = await auth.change_secret(made.id, old_secret=made.secret)
    assert changed.secret and changed.secret != made.secret
    with pytest.raises(UnauthorizedError):
        await anonymous.token(made.id, made.secret)
    assert (await anonymous.token(made.id, changed.secret)).access_token

    await auth.delete_account(made.id)
    with pytest.raises(NotFoundError):
        await auth.delete_account(made.id)
    with pytest.raises(UnauthorizedError):
        await anonymous.token(made.id, changed.secret)


async def test_tokens_rotate_and_inspect_names_their_account(
    auth: Users, anonymous: Users, server: Any
) -> None:
    made = await auth.generate(scopes=["admin"])
    first = await anonymous.token(made.id, made.secret, token_expiry=60)
    assert first.expiry - first.created <= 60
    # An outside library reads what the SDK got: the account and its namespace.
    claims = pyjwt.decode(first.access_token, options={"verify_signature": False})
    assert (claims["sub"], claims["namespace"], claims["scopes"]) == (made.id, "micro", ["admin"])
    assert claims["iss"] == server.base_url  # the namespace's issuer: the public URL
    inspected = await auth.inspect(first.access_token)
    assert (inspected.id, inspected.type, inspected.scopes) == (made.id, "service", ("admin",))

    second = await anonymous.token(refresh_token=first.refresh_token)
    assert second.refresh_token != first.refresh_token
    with pytest.raises(UnauthorizedError) as reused:  # a spent refresh token ends its family
        await anonymous.token(refresh_token=first.refresh_token)
    assert reused.value.id == "auth.token"
    with pytest.raises(UnauthorizedError):
        await auth.inspect(second.access_token)
    with pytest.raises(UnauthorizedError):
        await anonymous.token(made.id, "not the secret, but long enough to be one")
    with pytest.raises(BadRequestError):  # two grants at once
        await anonymous.token(made.id, made.secret, refresh_token=second.refresh_token)


async def test_a_login_session_becomes_tokens(auth: Users, anonymous: Users, users: Users) -> None:
    account = await new_account(users)
    session = await users.login(PASSWORD, username=account.username)
    tokens = await anonymous.token(session_id=session.id)
    assert (await auth.inspect(tokens.access_token)).id == account.id
    await users.logout(session.id)
    with pytest.raises(UnauthorizedError):
        await auth.inspect(tokens.access_token)


async def test_rules_and_verify(auth: Users, anonymous: Users) -> None:
    scope = unique("ops-")
    name = unique("svc")
    resource = Resource("service", name, "Orders.Delete")
    await auth.create_rule(scope, f"service:{name}:*", id=unique("allow-"), priority=1)
    denial = unique("deny-")
    await auth.create_rule(scope, resource, id=denial, access=Access.DENIED, priority=2)
    listed = {rule.id: rule for rule in await auth.list_rules()}
    assert listed[denial] == Rule(denial, scope, resource, Access.DENIED, 2)

    holder = await auth.generate(scopes=[scope])
    token = (await anonymous.token(holder.id, holder.secret)).access_token
    allowed = await auth.verify(f"service:{name}:Orders.Read", token=token)
    assert allowed.allowed and allowed.account is not None and allowed.account.id == holder.id
    assert not (await auth.verify(resource, token=token)).allowed
    nobody = await auth.verify(f"service:{name}:Orders.Read")
    assert not nobody.allowed and nobody.account is None
    with pytest.raises(ForbiddenError):
        await auth.verify(resource, namespace="elsewhere")
    with pytest.raises(ValueError):  # the SDK reads the command-line form itself
        await auth.verify("service:no-endpoint")

    await auth.delete_rule(denial)
    assert (await auth.verify(resource, token=token)).allowed
    with pytest.raises(NotFoundError):
        await auth.delete_rule(denial)


async def test_roles_are_made_granted_and_revoked(auth: Users, users: Users) -> None:
    role = unique("auditor-")
    await auth.create_role(role, "reads the audit log")
    roles = await auth.list_roles()
    assert roles[0].name == "admin" and Role(role, "reads the audit log") in roles
    account = await new_account(users)
    await auth.grant_role(role, account.id)
    with pytest.raises(NotFoundError):
        await auth.grant_role(unique("missing-"), account.id)
    with pytest.raises(NotFoundError):
        await auth.grant_role(role, "nobody", account_type="service")
    await auth.revoke_role(role, account.id)
    with pytest.raises(NotFoundError):
        await auth.revoke_role(role, account.id)
    await auth.delete_role(role)
    assert role not in {r.name for r in await auth.list_roles()}


async def test_a_caller_without_admin_gives_only_what_it_holds(
    auth: Users, anonymous: Users, flavour: str, server: Any
) -> None:
    role = unique("limited-")
    holder = await auth.generate(scopes=[role])
    token = (await anonymous.token(holder.id, holder.secret)).access_token
    await auth.create_rule(role, "service:auth:Auth.Generate", id=unique("gen-"))
    async with connect_auth(flavour, server.base_url, token) as limited:
        assert (await limited.generate(scopes=[role])).scopes == (role,)
        with pytest.raises(ForbiddenError):
            await limited.generate(scopes=["admin"])
        with pytest.raises(ForbiddenError):
            await limited.list_accounts()  # no rule lets it


async def test_oauth_clients_are_created_listed_and_deleted(auth: Users) -> None:
    made = await auth.create_client(
        "Notes",
        ["https://notes.example/callback"],
        post_logout_redirect_uris=["https://notes.example/"],
        third_party=True,
        scopes=["openid", "email"],
    )
    assert made == OAuthClient(
        id=made.id,
        name="Notes",
        public=False,
        first_party=False,
        redirect_uris=("https://notes.example/callback",),
        post_logout_redirect_uris=("https://notes.example/",),
        scopes=("openid", "email"),
        created=made.created,
        secret=made.secret,
    )
    assert made.id.startswith("mcl_") and made.secret.startswith("mcs_")
    spa = await auth.create_client("Board", ["http://127.0.0.1:3000/cb"], public=True)
    assert spa.public and spa.secret == ""
    listed = {c.id: c for c in await auth.list_clients()}
    assert listed[made.id] == dataclasses.replace(made, secret="")
    assert listed[spa.id].scopes == ("openid", "profile", "email", "offline_access")
    with pytest.raises(BadRequestError) as refused:
        await auth.create_client("Evil", ["https://evil.example/*"])
    assert refused.value.id == "auth.clients.create"
    await auth.delete_client(made.id)
    with pytest.raises(NotFoundError):
        await auth.delete_client(made.id)
    assert made.id not in {c.id for c in await auth.list_clients()}


async def test_identity_providers_are_created_listed_and_deleted(auth: Users) -> None:
    # Plain OAuth 2.0: the server fetches nothing from the provider when it is added.
    secret = unique("provider-secret-")
    made = await auth.create_provider(
        unique("corp-"),
        "oauth2",
        "Corp",
        "micro-user",
        secret,
        authorization_endpoint="https://id.example.com/auth",
        token_endpoint="https://id.example.com/token",
        userinfo_endpoint="https://id.example.com/me",
        scopes=["read:user"],
    )
    assert made == IdentityProvider(
        id=made.id,
        kind="oauth2",
        name="Corp",
        issuer="",
        authorization_endpoint="https://id.example.com/auth",
        token_endpoint="https://id.example.com/token",
        userinfo_endpoint="https://id.example.com/me",
        client_id="micro-user",
        scopes=("read:user",),
        subject_claim="id",
        email_claim="email",
        verified_claim="",
        keep_tokens=False,
        created=made.created,
    )
    assert made.created > 0 and secret not in repr(made)
    listed = {p.id: p for p in await auth.list_providers()}
    assert listed[made.id] == made
    with pytest.raises(BadRequestError) as refused:
        await auth.create_provider(
            unique("plain-"),
            "oauth2",
            "Plain",
            "c",
            "s",
            authorization_endpoint="http://id.example.com/auth",
            token_endpoint="https://id.example.com/token",
            userinfo_endpoint="https://id.example.com/me",
        )
    assert refused.value.id == "auth.providers.create" and "https" in refused.value.detail
    await auth.delete_provider(made.id)
    with pytest.raises(NotFoundError) as gone:
        await auth.delete_provider(made.id)
    assert gone.value.id == "auth.providers.delete"
    assert made.id not in {p.id for p in await auth.list_providers()}


async def test_the_factor_policy_is_set_and_read_back(auth: Users) -> None:
    try:
        assert await auth.set_factor_policy("roles", ["admin"]) == FactorPolicy("roles", ("admin",))
        assert await auth.read_factor_policy() == FactorPolicy("roles", ("admin",))
        with pytest.raises(BadRequestError) as refused:
            await auth.set_factor_policy("roles")
        assert refused.value.id == "factors.policy"
        assert await auth.read_factor_policy() == FactorPolicy("roles", ("admin",))
    finally:  # the live server is shared: leave its default namespace as it was
        assert await auth.set_factor_policy("none") == FactorPolicy("none", ())
    assert await auth.read_factor_policy() == FactorPolicy("none", ())
