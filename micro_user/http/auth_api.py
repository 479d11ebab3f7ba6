"""The auth service's endpoints (Micro's Auth, Accounts and Rules handlers, plus Roles,
Verify, and Clients: the OAuth clients of the authorization code flow)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from microuser.rules import Resource, Rule
from pydantic import Field, StrictBool

from micro_user.auth.clients import MAX_REDIRECT_URIS, Client
from micro_user.auth.models import AuthAccount, Identity, TokenPair
from micro_user.auth.rules import ADMIN_ROLE, RESOURCE_PART_MAX, ROLE_RE, check_resource
from micro_user.auth.signing import InvalidToken
from micro_user.errors import BadRequest, Forbidden, Unauthorized
from micro_user.federation.providers import IdentityProvider
from micro_user.http.endpoints import Context, registry
from micro_user.http.wire import (
    ID_HINT,
    Empty,
    Int64,
    Int64Out,
    Profile,
    Secret,
    Text,
    WireRequest,
    wire_response,
)

auth = "auth"
EMPTY = Empty()
Scopes = Annotated[list[Text], Field(max_length=64)]


# Messages -------------------------------------------------------------------


@wire_response
class AuthAccountOut:
    """An account of the auth service (Micro's ``auth.Account``)."""

    id: str
    type: str
    issuer: str
    metadata: dict[str, str]
    scopes: list[str]
    secret: str
    name: str

    @classmethod
    def of(cls, account: AuthAccount | Identity | None) -> AuthAccountOut:
        """A service account (its secret only when just made or changed), the identity a
        token carries, or no one (all fields empty)."""
        if account is None:
            return cls("", "", "", {}, [], "", "")
        if isinstance(account, Identity):
            return cls(
                account.id, account.type, account.namespace, {}, sorted(account.scopes), "", ""
            )
        return cls(
            account.id,
            account.type,
            account.namespace,
            account.metadata,
            list(account.scopes),
            account.secret,
            account.name,
        )


@wire_response
class TokenOut:
    access_token: str
    refresh_token: str
    created: Int64Out
    expiry: Int64Out

    @classmethod
    def of(cls, pair: TokenPair) -> TokenOut:
        return cls(pair.access_token, pair.refresh_token, str(pair.created), str(pair.expiry))


# A chosen secret: none (one is generated), or 24 to 512 characters without control ones.
SECRET_PATTERN = "^$|^[^\\u0000-\\u001f\\u007f-\\u009f]{24,512}$"


# A resource's type and name: no ':' (the written form's separator), no control character.
RESOURCE_PART = "^[^:\\u0000-\\u001f\\u007f-\\u009f]*$"


class ResourceMessage(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {
        "type": {"maxLength": RESOURCE_PART_MAX["type"], "pattern": RESOURCE_PART},
        "name": {"maxLength": RESOURCE_PART_MAX["name"], "pattern": RESOURCE_PART},
        "endpoint": {"maxLength": RESOURCE_PART_MAX["endpoint"]},
    }
    required_fields: ClassVar[frozenset[str]] = frozenset({"type", "name", "endpoint"})
    type: Text = ""
    name: Text = ""
    endpoint: Text = ""


class RuleMessage(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {
        "access": {"enum": ["GRANTED", "DENIED"]},
        # 32 bits, the highest kept for the built-in admin rule.
        "priority": {"minimum": -(2**31), "maximum": 2**31 - 2},
        "id": {"maxLength": 128},
        "scope": {"maxLength": 64},
    }
    required_fields: ClassVar[frozenset[str]] = frozenset({"resource"})
    id: Text = ""
    scope: Text = ""
    resource: ResourceMessage = ResourceMessage()
    access: Text = "GRANTED"
    priority: Int64 = 0


@wire_response
class ResourceOut:
    type: str
    name: str
    endpoint: str


@wire_response
class RuleOut:
    id: str
    scope: str
    resource: ResourceOut
    access: str
    priority: int

    @classmethod
    def of(cls, rule: Rule) -> RuleOut:
        r = rule.resource
        return cls(
            rule.id,
            rule.scope,
            ResourceOut(r.type, r.name, r.endpoint),
            rule.access.value,
            rule.priority,
        )


@wire_response
class RoleOut:
    name: str
    description: str


# Requests and responses -------------------------------------------------------


class GenerateRequest(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {
        "type": {"enum": ["", "service"]},
        "secret": {"pattern": SECRET_PATTERN},
        "id": ID_HINT,
        # Free strings, as in Micro, that become roles: what a role name may be.
        "scopes": {"items": {"type": "string", "pattern": ROLE_RE.pattern}},
    }
    id: Text = ""
    metadata: Profile = {}
    scopes: Scopes = []
    secret: Secret = ""
    type: Text = ""
    provider: Text = ""
    name: Text = ""


@wire_response
class AuthAccountResponse:
    account: AuthAccountOut


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


@wire_response
class TokenResponse:
    token: TokenOut


class VerifyRequest(WireRequest):
    required_fields: ClassVar[frozenset[str]] = frozenset({"resource"})
    token: Secret = ""
    resource: ResourceMessage = ResourceMessage()
    namespace: Text = ""


@wire_response
class VerifyResponse:
    allowed: bool
    account: AuthAccountOut


class NoFields(WireRequest):
    pass


class IdRequest(WireRequest):
    required_fields: ClassVar[frozenset[str]] = frozenset({"id"})
    id: Text = ""


@wire_response
class ListAccountsResponse:
    accounts: list[AuthAccountOut]


class ChangeSecretRequest(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {"new_secret": {"pattern": SECRET_PATTERN}}
    required_fields: ClassVar[frozenset[str]] = frozenset({"id"})
    id: Text = ""
    old_secret: Secret = ""
    new_secret: Secret = ""


class CreateRuleRequest(WireRequest):
    required_fields: ClassVar[frozenset[str]] = frozenset({"rule"})
    rule: RuleMessage = RuleMessage()


@wire_response
class ListRulesResponse:
    rules: list[RuleOut]


class RoleRequest(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {
        "name": {"pattern": ROLE_RE.pattern},
        "description": {"maxLength": 512},
    }
    required_fields: ClassVar[frozenset[str]] = frozenset({"name"})
    name: Text = ""
    description: Text = ""


class DeleteRoleRequest(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {"name": {"not": {"const": ADMIN_ROLE}}}
    required_fields: ClassVar[frozenset[str]] = frozenset({"name"})
    name: Text = ""
    description: Text = ""  # ignored (Micro's clients send the role message whole)


@wire_response
class ListRolesResponse:
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
    resource = Resource(
        required(message.type, "resource.type", error_id),
        required(message.name, "resource.name", error_id),
        required(message.endpoint, "resource.endpoint", error_id),
    )
    return check_resource(resource, error_id)


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
    AuthAccountResponse,
    "Create a service account; its secret is shown once",
)
async def generate(ctx: Context, req: GenerateRequest) -> AuthAccountResponse:
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
    return AuthAccountResponse(AuthAccountOut.of(account))


@registry.add(
    auth,
    "Auth.Inspect",
    InspectRequest,
    AuthAccountResponse,
    "The account an access token belongs to",
)
async def inspect(ctx: Context, req: InspectRequest) -> AuthAccountResponse:
    try:
        identity = ctx.services.tokens.inspect(required(req.token, "token", "auth.inspect"))
    except InvalidToken as exc:
        raise Unauthorized("auth.inspect", str(exc)) from None
    return AuthAccountResponse(AuthAccountOut.of(identity))


@registry.add(
    auth,
    "Auth.Token",
    TokenRequest,
    TokenResponse,
    "Tokens for an id and secret, a refresh token, or a session",
)
async def token(ctx: Context, req: TokenRequest) -> TokenResponse:
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
    return TokenResponse(TokenOut.of(pair))


@registry.add(
    auth,
    "Auth.Verify",
    VerifyRequest,
    VerifyResponse,
    "Whether a token (or nobody) may access a resource, by the caller's namespace's rules",
)
async def verify(ctx: Context, req: VerifyRequest) -> VerifyResponse:
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
    return VerifyResponse(allowed, AuthAccountOut.of(identity))


# Accounts ---------------------------------------------------------------------


@registry.add(
    auth, "Accounts.List", NoFields, ListAccountsResponse, "List service accounts", safe=True
)
async def list_accounts(ctx: Context, req: NoFields) -> ListAccountsResponse:
    accounts = await ctx.services.service_accounts.list(ctx.namespace)
    return ListAccountsResponse([AuthAccountOut.of(a) for a in accounts])


@registry.add(
    auth,
    "Accounts.Delete",
    IdRequest,
    Empty,
    "Delete a service account and end its tokens",
)
async def delete_account(ctx: Context, req: IdRequest) -> Empty:
    await ctx.services.service_accounts.delete(
        ctx.namespace, required(req.id, "id", "auth.accounts.delete")
    )
    return EMPTY


@registry.add(
    auth,
    "Accounts.ChangeSecret",
    ChangeSecretRequest,
    AuthAccountResponse,
    "Give a service account a new secret, shown once",
)
async def change_secret(ctx: Context, req: ChangeSecretRequest) -> AuthAccountResponse:
    account = await ctx.services.service_accounts.change_secret(
        ctx.namespace,
        required(req.id, "id", "auth.accounts.changesecret"),
        old_secret=req.old_secret,
        new_secret=req.new_secret,
    )
    return AuthAccountResponse(AuthAccountOut.of(account))


# Rules ------------------------------------------------------------------------


@registry.add(auth, "Rules.Create", CreateRuleRequest, Empty, "Create a rule")
async def create_rule(ctx: Context, req: CreateRuleRequest) -> Empty:
    rule = req.rule
    await ctx.services.rules.create(
        ctx.namespace,
        id=rule.id,
        scope=rule.scope,
        resource=resource_of(rule.resource, "auth.rules.create"),
        access=rule.access,
        priority=rule.priority,
    )
    return EMPTY


@registry.add(auth, "Rules.Delete", IdRequest, Empty, "Delete a rule")
async def delete_rule(ctx: Context, req: IdRequest) -> Empty:
    await ctx.services.rules.delete(ctx.namespace, required(req.id, "id", "auth.rules.delete"))
    return EMPTY


@registry.add(
    auth, "Rules.List", NoFields, ListRulesResponse, "List the namespace's rules", safe=True
)
async def list_rules(ctx: Context, req: NoFields) -> ListRulesResponse:
    return ListRulesResponse([RuleOut.of(r) for r in await ctx.services.rules.list(ctx.namespace)])


# Roles ------------------------------------------------------------------------


@registry.add(auth, "Roles.Create", RoleRequest, Empty, "Create a role (a named scope)")
async def create_role(ctx: Context, req: RoleRequest) -> Empty:
    await ctx.services.roles.create(
        ctx.namespace, required(req.name, "name", "auth.roles.create"), req.description
    )
    return EMPTY


@registry.add(
    auth,
    "Roles.Delete",
    DeleteRoleRequest,
    Empty,
    "Delete a role and every grant of it",
)
async def delete_role(ctx: Context, req: DeleteRoleRequest) -> Empty:
    await ctx.services.roles.delete(ctx.namespace, required(req.name, "name", "auth.roles.delete"))
    return EMPTY


@registry.add(
    auth, "Roles.List", NoFields, ListRolesResponse, "List the namespace's roles", safe=True
)
async def list_roles(ctx: Context, req: NoFields) -> ListRolesResponse:
    roles = await ctx.services.roles.list_roles(ctx.namespace)
    return ListRolesResponse([RoleOut(name, description) for name, description in roles])


@registry.add(
    auth,
    "Roles.Grant",
    GrantRequest,
    Empty,
    "Grant a role to a user or service account",
)
async def grant_role(ctx: Context, req: GrantRequest) -> Empty:
    check_may_give(ctx, [required(req.role, "role", "auth.roles.grant")], "auth.roles.grant")
    await ctx.services.roles.grant(
        ctx.namespace,
        req.account_type,
        required(req.account_id, "account_id", "auth.roles.grant"),
        required(req.role, "role", "auth.roles.grant"),
    )
    return EMPTY


@registry.add(auth, "Roles.Revoke", GrantRequest, Empty, "Revoke a role from an account")
async def revoke_role(ctx: Context, req: GrantRequest) -> Empty:
    await ctx.services.roles.revoke(
        ctx.namespace,
        req.account_type,
        required(req.account_id, "account_id", "auth.roles.revoke"),
        required(req.role, "role", "auth.roles.revoke"),
    )
    return EMPTY


# Clients (the OAuth clients of the authorization code flow) ----------------------


@wire_response
class ClientOut:
    """An OAuth client; ``secret`` only when just made, and never for a public client."""

    id: str
    name: str
    public: bool
    first_party: bool
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    scopes: list[str]
    created: Int64Out
    secret: str

    @classmethod
    def of(cls, client: Client, secret: str = "") -> ClientOut:
        return cls(
            client.id,
            client.name,
            client.public,
            client.first_party,
            list(client.redirect_uris),
            list(client.post_logout_redirect_uris),
            list(client.scopes),
            str(client.created),
            secret,
        )


Uris = Annotated[list[Text], Field(max_length=MAX_REDIRECT_URIS)]


class CreateClientRequest(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {
        "name": {"minLength": 1, "maxLength": 128},
        "redirect_uris": {"minItems": 1, "items": {"minLength": 1, "maxLength": 512}},
        "post_logout_redirect_uris": {"items": {"minLength": 1, "maxLength": 512}},
        "scopes": {
            "items": {"enum": ["openid", "profile", "email", "offline_access"]},
            # None (the default scopes), or openid among them.
            "anyOf": [{"maxItems": 0}, {"contains": {"const": "openid"}}],
        },
    }
    required_fields: ClassVar[frozenset[str]] = frozenset({"name", "redirect_uris"})
    name: Text = ""
    redirect_uris: Uris = []
    post_logout_redirect_uris: Uris = []
    public: StrictBool = False
    third_party: StrictBool = False
    scopes: Annotated[list[Text], Field(max_length=8)] = []


@wire_response
class ClientResponse:
    client: ClientOut


@wire_response
class ListClientsResponse:
    clients: list[ClientOut]


@registry.add(
    auth,
    "Clients.Create",
    CreateClientRequest,
    ClientResponse,
    "Register an OAuth client of the authorization code flow; a confidential one's secret "
    "is shown once",
)
async def create_client(ctx: Context, req: CreateClientRequest) -> ClientResponse:
    client, secret = await ctx.services.clients.create(
        ctx.namespace,
        name=req.name,
        redirect_uris=req.redirect_uris,
        public=req.public,
        first_party=not req.third_party,
        scopes=req.scopes or None,
        post_logout_redirect_uris=req.post_logout_redirect_uris,
    )
    return ClientResponse(ClientOut.of(client, secret))


@registry.add(
    auth, "Clients.List", NoFields, ListClientsResponse, "List the OAuth clients", safe=True
)
async def list_clients(ctx: Context, req: NoFields) -> ListClientsResponse:
    return ListClientsResponse(
        [ClientOut.of(client) for client in await ctx.services.clients.list(ctx.namespace)]
    )


@registry.add(auth, "Clients.Delete", IdRequest, Empty, "Delete an OAuth client")
async def delete_client(ctx: Context, req: IdRequest) -> Empty:
    await ctx.services.clients.delete(ctx.namespace, required(req.id, "id", "auth.clients.delete"))
    return EMPTY


# Identity providers (external sign-in on the hosted pages) ------------------------


@wire_response
class ProviderOut:
    """An external identity provider (never its client secret)."""

    id: str
    kind: str
    name: str
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    client_id: str
    scopes: list[str]
    subject_claim: str
    email_claim: str
    verified_claim: str
    keep_tokens: bool
    created: Int64Out

    @classmethod
    def of(cls, p: IdentityProvider) -> ProviderOut:
        return cls(
            p.id,
            p.kind,
            p.name,
            p.issuer,
            p.authorization_endpoint,
            p.token_endpoint,
            p.userinfo_endpoint,
            p.client_id,
            list(p.scopes),
            p.subject_claim,
            p.email_claim,
            p.verified_claim,
            p.keep_tokens,
            str(p.created),
        )


class CreateProviderRequest(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {
        "id": {"pattern": "^[a-z0-9][a-z0-9-]{0,62}$"},
        "kind": {"enum": ["oidc", "oauth2"]},
        "name": {"minLength": 1, "maxLength": 128},
        "client_id": {"minLength": 1, "maxLength": 256},
        "client_secret": {"minLength": 1, "maxLength": 1024},
    }
    required_fields: ClassVar[frozenset[str]] = frozenset(
        {"id", "kind", "name", "client_id", "client_secret"}
    )
    id: Text = ""
    kind: Text = ""
    name: Text = ""
    client_id: Text = ""
    client_secret: Secret = ""
    issuer: Text = ""
    authorization_endpoint: Text = ""
    token_endpoint: Text = ""
    userinfo_endpoint: Text = ""
    scopes: Annotated[list[Text], Field(max_length=16)] = []
    subject_claim: Text = ""
    email_claim: Text = ""
    verified_claim: Text = ""
    keep_tokens: StrictBool = False


@wire_response
class ProviderResponse:
    provider: ProviderOut


@wire_response
class ListProvidersResponse:
    providers: list[ProviderOut]


@registry.add(
    auth,
    "Providers.Create",
    CreateProviderRequest,
    ProviderResponse,
    "Add an external identity provider (OpenID Connect by its issuer, or plain OAuth 2.0 "
    "by its endpoints); the hosted sign-in page shows a button for it",
)
async def create_provider(ctx: Context, req: CreateProviderRequest) -> ProviderResponse:
    found = await ctx.services.federation.create(
        ctx.namespace,
        id=req.id,
        kind=req.kind,
        name=req.name,
        client_id=req.client_id,
        client_secret=req.client_secret,
        issuer=req.issuer,
        authorization_endpoint=req.authorization_endpoint,
        token_endpoint=req.token_endpoint,
        userinfo_endpoint=req.userinfo_endpoint,
        scopes=req.scopes or None,
        subject_claim=req.subject_claim,
        email_claim=req.email_claim,
        verified_claim=req.verified_claim,
        keep_tokens=req.keep_tokens,
    )
    return ProviderResponse(ProviderOut.of(found))


@registry.add(
    auth,
    "Providers.List",
    NoFields,
    ListProvidersResponse,
    "List the identity providers",
    safe=True,
)
async def list_providers(ctx: Context, req: NoFields) -> ListProvidersResponse:
    found = await ctx.services.federation.of_namespace(ctx.namespace)
    return ListProvidersResponse([ProviderOut.of(p) for p in found])


@registry.add(
    auth, "Providers.Delete", IdRequest, Empty, "Remove an identity provider and its links"
)
async def delete_provider(ctx: Context, req: IdRequest) -> Empty:
    await ctx.services.federation.delete(
        ctx.namespace, required(req.id, "id", "auth.providers.delete")
    )
    return EMPTY


# Who must have a second factor (the namespace's policy) ----------------------------


@wire_response
class FactorPolicyOut:
    """``required``: none (each user's choice), everyone, or roles (the holders of
    ``roles``)."""

    required: str
    roles: list[str]


@wire_response
class FactorPolicyResponse:
    policy: FactorPolicyOut


class SetFactorPolicyRequest(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {
        "required": {"enum": ["none", "everyone", "roles"]},
        "roles": {"items": {"pattern": ROLE_RE.pattern}},
    }
    required_fields: ClassVar[frozenset[str]] = frozenset({"required"})
    required: Text = ""
    roles: Annotated[list[Text], Field(max_length=64)] = []


@registry.add(
    auth,
    "FactorPolicy.Read",
    NoFields,
    FactorPolicyResponse,
    "Who in the namespace must have a second factor",
    safe=True,
)
async def read_factor_policy(ctx: Context, req: NoFields) -> FactorPolicyResponse:
    found = await ctx.services.factors.policy(ctx.namespace)
    return FactorPolicyResponse(FactorPolicyOut(found.required, list(found.roles)))


@registry.add(
    auth,
    "FactorPolicy.Set",
    SetFactorPolicyRequest,
    FactorPolicyResponse,
    "Require a second factor of nobody, everyone, or the holders of some roles (who then "
    "set one up inside their next sign-in)",
)
async def set_factor_policy(ctx: Context, req: SetFactorPolicyRequest) -> FactorPolicyResponse:
    found = await ctx.services.factors.set_policy(ctx.namespace, req.required, req.roles)
    return FactorPolicyResponse(FactorPolicyOut(found.required, list(found.roles)))
