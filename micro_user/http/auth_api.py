"""The auth service's endpoints (Micro's Auth, Accounts and Rules handlers, plus Roles and Verify)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from microuser.rules import Resource
from pydantic import Field

from micro_user.auth.models import AuthAccount, Identity, TokenPair
from micro_user.auth.rules import ADMIN_ROLE
from micro_user.auth.signing import InvalidToken
from micro_user.errors import BadRequest, Forbidden, Unauthorized
from micro_user.http.endpoints import Context, registry
from micro_user.http.wire import (
    Int64,
    Int64Out,
    Profile,
    Secret,
    Text,
    WireRequest,
    WireResponse,
)

auth = "auth"
EMPTY: dict[str, Any] = {}
Scopes = Annotated[list[Text], Field(max_length=64)]


# Messages -------------------------------------------------------------------


class AccountOut(WireResponse):
    id: str
    type: str
    issuer: str
    metadata: dict[str, str]
    scopes: list[str]
    secret: str
    name: str


class TokenOut(WireResponse):
    access_token: str
    refresh_token: str
    created: Int64Out
    expiry: Int64Out


# A chosen secret: none (one is generated), or 24 to 512 characters without control ones.
SECRET_PATTERN = "^$|^[^\\u0000-\\u001f\\u007f-\\u009f]{24,512}$"


class ResourceMessage(WireRequest):
    required_fields: ClassVar[frozenset[str]] = frozenset({"type", "name", "endpoint"})
    type: Text = ""
    name: Text = ""
    endpoint: Text = ""


class RuleMessage(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {
        "access": {"enum": ["GRANTED", "DENIED"]},
        # 32 bits, the highest kept for the built-in admin rule.
        "priority": {"minimum": -(2**31), "maximum": 2**31 - 2},
    }
    required_fields: ClassVar[frozenset[str]] = frozenset({"resource"})
    id: Text = ""
    scope: Text = ""
    resource: ResourceMessage = ResourceMessage()
    access: Text = "GRANTED"
    priority: Int64 = 0


class ResourceOut(WireResponse):
    type: str
    name: str
    endpoint: str


class RuleOut(WireResponse):
    id: str
    scope: str
    resource: ResourceOut
    access: str
    priority: int


class RoleOut(WireResponse):
    name: str
    description: str


def account_json(account: AuthAccount | Identity) -> dict[str, Any]:
    if isinstance(account, Identity):
        return {
            "id": account.id,
            "type": account.type,
            "issuer": account.namespace,
            "metadata": {},
            "scopes": sorted(account.scopes),
            "secret": "",
            "name": "",
        }
    return {
        "id": account.id,
        "type": account.type,
        "issuer": account.namespace,
        "metadata": account.metadata,
        "scopes": list(account.scopes),
        "secret": account.secret,
        "name": account.name,
    }


def token_json(pair: TokenPair) -> dict[str, Any]:
    return {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "created": str(pair.created),
        "expiry": str(pair.expiry),
    }


def rule_json(rule: Any) -> dict[str, Any]:
    r = rule.resource
    return {
        "id": rule.id,
        "scope": rule.scope,
        "resource": {"type": r.type, "name": r.name, "endpoint": r.endpoint},
        "access": rule.access.value,
        "priority": rule.priority,
    }


# Requests and responses -------------------------------------------------------


class GenerateRequest(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {
        "type": {"enum": ["", "service"]},
        "secret": {"pattern": SECRET_PATTERN},
    }
    id: Text = ""
    metadata: Profile = {}
    scopes: Scopes = []
    secret: Secret = ""
    type: Text = ""
    provider: Text = ""
    name: Text = ""


class AccountResponse(WireResponse):
    account: AccountOut


class InspectRequest(WireRequest):
    required_fields: ClassVar[frozenset[str]] = frozenset({"token"})
    token: Secret = ""


class TokenRequest(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {"token_expiry": {"minimum": 0}}
    exactly_one_of: ClassVar[tuple[tuple[str, ...], ...]] = (
        ("id", "secret"),
        ("refresh_token",),
        ("session_id",),
    )
    id: Text = ""
    secret: Secret = ""
    refresh_token: Secret = ""
    token_expiry: Int64 = 0
    # micro-user's addition: exchange a login session for tokens.
    session_id: Secret = ""


class TokenResponse(WireResponse):
    token: TokenOut


class VerifyRequest(WireRequest):
    required_fields: ClassVar[frozenset[str]] = frozenset({"resource"})
    token: Secret = ""
    resource: ResourceMessage = ResourceMessage()
    namespace: Text = ""


class VerifyResponse(WireResponse):
    allowed: bool
    account: AccountOut


class Empty(WireRequest):
    pass


class EmptyOut(WireResponse):
    pass


class IdRequest(WireRequest):
    required_fields: ClassVar[frozenset[str]] = frozenset({"id"})
    id: Text = ""


class ListAccountsResponse(WireResponse):
    accounts: list[AccountOut]


class ChangeSecretRequest(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {"new_secret": {"pattern": SECRET_PATTERN}}
    required_fields: ClassVar[frozenset[str]] = frozenset({"id"})
    id: Text = ""
    old_secret: Secret = ""
    new_secret: Secret = ""


class CreateRuleRequest(WireRequest):
    required_fields: ClassVar[frozenset[str]] = frozenset({"rule"})
    rule: RuleMessage = RuleMessage()


class ListRulesResponse(WireResponse):
    rules: list[RuleOut]


class RoleRequest(WireRequest):
    required_fields: ClassVar[frozenset[str]] = frozenset({"name"})
    name: Text = ""
    description: Text = ""


class ListRolesResponse(WireResponse):
    roles: list[RoleOut]


class GrantRequest(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {
        "account_type": {"enum": ["user", "service"]}
    }
    required_fields: ClassVar[frozenset[str]] = frozenset({"role", "account_id"})
    role: Text = ""
    account_type: Text = "user"
    account_id: Text = ""


def required(value: str, field: str, error_id: str) -> str:
    if not value.strip():
        raise BadRequest(error_id, f"{field} is required")
    return value.strip()


def resource_of(message: ResourceMessage, error_id: str) -> Resource:
    return Resource(
        required(message.type, "resource.type", error_id),
        required(message.name, "resource.name", error_id),
        required(message.endpoint, "resource.endpoint", error_id),
    )


def check_may_give(ctx: Context, roles: list[str], error_id: str) -> None:
    """A caller gives only roles it holds (Roles.Grant, Auth.Generate's scopes); only a
    holder of admin gives admin, and a holder of admin gives any role."""
    held = ctx.identity.scopes if ctx.identity is not None else frozenset()
    if ADMIN_ROLE in held:
        return
    if ADMIN_ROLE in roles:
        raise Forbidden(error_id, "only a caller holding admin may give admin")
    missing = sorted(set(roles) - held)
    if missing:
        raise Forbidden(
            error_id,
            f"a caller may give only roles it holds; it does not hold {', '.join(missing)}",
        )


# Auth -------------------------------------------------------------------------


@registry.add(
    auth,
    "Auth.Generate",
    GenerateRequest,
    AccountResponse,
    "Create a service account; its secret is shown once",
    (400, 404),
)
async def generate(ctx: Context, req: GenerateRequest) -> dict[str, Any]:
    check_may_give(ctx, req.scopes, "auth.generate")
    account = await ctx.services.service_accounts.generate(
        ctx.namespace,
        id=req.id,
        name=req.name,
        type=req.type,
        secret=req.secret,
        metadata=req.metadata,
        scopes=req.scopes,
    )
    await ctx.services.auth_state.refresh()
    return {"account": account_json(account)}


@registry.add(
    auth,
    "Auth.Inspect",
    InspectRequest,
    AccountResponse,
    "The account an access token belongs to",
    (400, 401),
)
async def inspect(ctx: Context, req: InspectRequest) -> dict[str, Any]:
    try:
        identity = ctx.services.tokens.inspect(required(req.token, "token", "auth.inspect"))
    except InvalidToken as exc:
        raise Unauthorized("auth.inspect", str(exc)) from None
    return {"account": account_json(identity)}


@registry.add(
    auth,
    "Auth.Token",
    TokenRequest,
    TokenResponse,
    "Tokens for an id and secret, a refresh token, or a session",
    (400, 401),
)
async def token(ctx: Context, req: TokenRequest) -> dict[str, Any]:
    tokens = ctx.services.tokens
    grant = tokens.check_grant_request(
        id=req.id, secret=req.secret, refresh_token=req.refresh_token, session_id=req.session_id
    )
    lifetime = tokens.lifetime(req.token_expiry)  # a 400 before anything is spent
    if grant == "refresh_token":
        pair = await tokens.refresh(req.refresh_token, lifetime=lifetime)
    elif grant == "session_id":
        pair = await tokens.from_session(ctx.namespace, req.session_id, lifetime=lifetime)
    else:
        client_id = required(req.id, "id", "auth.token")
        pair = await ctx.services.sessions.abuse.secret_checked(
            "auth.token",
            ctx.namespace,
            f"client:{client_id}",
            lambda: tokens.client_credentials(
                ctx.namespace, client_id, req.secret, lifetime=lifetime
            ),
            per_address=False,
        )
    return {"token": token_json(pair)}


@registry.add(
    auth,
    "Auth.Verify",
    VerifyRequest,
    VerifyResponse,
    "Whether a token (or nobody) may access a resource, by the caller's namespace's rules",
    (400, 401, 403),
)
async def verify(ctx: Context, req: VerifyRequest) -> dict[str, Any]:
    resource = resource_of(req.resource, "auth.verify")
    # Only the caller's own namespace's rules are evaluated: another namespace's rules are
    # not the caller's to probe, whatever roles it holds at home.
    if req.namespace and req.namespace != ctx.namespace:
        raise Forbidden("auth.verify", "Verify evaluates the rules of the caller's namespace only")
    identity = None
    if req.token:
        identity = await ctx.services.guard.identify(req.token)
        if identity is None:
            raise Unauthorized("auth.verify", "the token is not valid")
    # (A token of another namespace is judged by these rules too: their scopes never apply
    # to it, so it gets what anyone gets.)
    allowed = ctx.services.guard.allows(identity, ctx.namespace, resource)
    empty = Identity("", "", "", frozenset())
    return {"allowed": allowed, "account": account_json(identity or empty)}


# Accounts ---------------------------------------------------------------------


@registry.add(
    auth, "Accounts.List", Empty, ListAccountsResponse, "List service accounts", safe=True
)
async def list_accounts(ctx: Context, req: Empty) -> dict[str, Any]:
    accounts = await ctx.services.service_accounts.list(ctx.namespace)
    return {"accounts": [account_json(a) for a in accounts]}


@registry.add(
    auth,
    "Accounts.Delete",
    IdRequest,
    EmptyOut,
    "Delete a service account and end its tokens",
    (400, 404),
)
async def delete_account(ctx: Context, req: IdRequest) -> dict[str, Any]:
    await ctx.services.service_accounts.delete(
        ctx.namespace, required(req.id, "id", "auth.accounts.delete")
    )
    await ctx.services.auth_state.refresh()
    return EMPTY


@registry.add(
    auth,
    "Accounts.ChangeSecret",
    ChangeSecretRequest,
    AccountResponse,
    "Give a service account a new secret, shown once",
    (400, 404),
)
async def change_secret(ctx: Context, req: ChangeSecretRequest) -> dict[str, Any]:
    account = await ctx.services.service_accounts.change_secret(
        ctx.namespace,
        required(req.id, "id", "auth.accounts.changesecret"),
        old_secret=req.old_secret,
        new_secret=req.new_secret,
    )
    return {"account": account_json(account)}


# Rules ------------------------------------------------------------------------


@registry.add(auth, "Rules.Create", CreateRuleRequest, EmptyOut, "Create a rule")
async def create_rule(ctx: Context, req: CreateRuleRequest) -> dict[str, Any]:
    rule = req.rule
    await ctx.services.rules.create(
        ctx.namespace,
        id=rule.id,
        scope=rule.scope,
        resource=resource_of(rule.resource, "auth.rules.create"),
        access=rule.access,
        priority=rule.priority,
    )
    await ctx.services.auth_state.refresh()
    return EMPTY


@registry.add(auth, "Rules.Delete", IdRequest, EmptyOut, "Delete a rule", (400, 404))
async def delete_rule(ctx: Context, req: IdRequest) -> dict[str, Any]:
    await ctx.services.rules.delete(ctx.namespace, required(req.id, "id", "auth.rules.delete"))
    await ctx.services.auth_state.refresh()
    return EMPTY


@registry.add(auth, "Rules.List", Empty, ListRulesResponse, "List the namespace's rules", safe=True)
async def list_rules(ctx: Context, req: Empty) -> dict[str, Any]:
    return {"rules": [rule_json(r) for r in await ctx.services.rules.list(ctx.namespace)]}


# Roles ------------------------------------------------------------------------


@registry.add(auth, "Roles.Create", RoleRequest, EmptyOut, "Create a role (a named scope)")
async def create_role(ctx: Context, req: RoleRequest) -> dict[str, Any]:
    await ctx.services.roles.create(
        ctx.namespace, required(req.name, "name", "auth.roles.create"), req.description
    )
    return EMPTY


@registry.add(
    auth, "Roles.Delete", RoleRequest, EmptyOut, "Delete a role and every grant of it", (400, 404)
)
async def delete_role(ctx: Context, req: RoleRequest) -> dict[str, Any]:
    await ctx.services.roles.delete(ctx.namespace, required(req.name, "name", "auth.roles.delete"))
    await ctx.services.auth_state.refresh()
    return EMPTY


@registry.add(auth, "Roles.List", Empty, ListRolesResponse, "List the namespace's roles", safe=True)
async def list_roles(ctx: Context, req: Empty) -> dict[str, Any]:
    roles = await ctx.services.roles.list_roles(ctx.namespace)
    return {"roles": [{"name": name, "description": description} for name, description in roles]}


@registry.add(
    auth,
    "Roles.Grant",
    GrantRequest,
    EmptyOut,
    "Grant a role to a user or service account",
    (400, 404),
)
async def grant_role(ctx: Context, req: GrantRequest) -> dict[str, Any]:
    check_may_give(ctx, [required(req.role, "role", "auth.roles.grant")], "auth.roles.grant")
    await ctx.services.roles.grant(
        ctx.namespace,
        req.account_type,
        required(req.account_id, "account_id", "auth.roles.grant"),
        required(req.role, "role", "auth.roles.grant"),
    )
    await ctx.services.auth_state.refresh()
    return EMPTY


@registry.add(
    auth, "Roles.Revoke", GrantRequest, EmptyOut, "Revoke a role from an account", (400, 404)
)
async def revoke_role(ctx: Context, req: GrantRequest) -> dict[str, Any]:
    await ctx.services.roles.revoke(
        ctx.namespace,
        req.account_type,
        required(req.account_id, "account_id", "auth.roles.revoke"),
        required(req.role, "role", "auth.roles.revoke"),
    )
    await ctx.services.auth_state.refresh()
    return EMPTY
