"""``AuthClient`` and ``AsyncAuthClient``: one method per endpoint of micro-user's auth
service (service accounts, tokens, rules, roles, OAuth clients, identity providers, the
factor policy), a strict pair over the same connection
code as ``Client`` and ``AsyncClient``: the same arguments, the same errors."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping

from microuser import _auth_calls
from microuser._client import AsyncConnection, SyncConnection
from microuser._models import (
    AuthAccount,
    FactorPolicy,
    IdentityProvider,
    OAuthClient,
    Role,
    Token,
    VerifyResult,
)
from microuser.rules import Access, Resource, Rule

__all__ = ["AsyncAuthClient", "AuthClient"]


class AuthClient(SyncConnection):
    """A blocking client of micro-user's auth service (Micro's ``Auth``, ``Accounts`` and
    ``Rules``, plus ``Auth.Verify``, ``Roles``, ``Clients``, ``Providers`` and
    ``FactorPolicy``); the arguments are :class:`~microuser.Client`'s. Most calls need a
    key holding ``admin``; ``token`` needs none (the grant is the credential).
    """

    def generate(
        self,
        name: str = "",
        scopes: Iterable[str] = (),
        id: str = "",
        secret: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> AuthAccount:
        """Make a service account; its ``secret`` (generated when empty, else at least 24
        characters) is in the answer, and only there. ``scopes`` are free strings, as in
        Micro: each becomes a role when it is not one yet. A caller without ``admin`` gives
        only scopes it holds (else ``ForbiddenError``)."""
        return self._send(
            _auth_calls.generate(id=id, name=name, scopes=scopes, secret=secret, metadata=metadata)
        )

    def inspect(
        self,
        token: str,
    ) -> AuthAccount:
        """The account an access token belongs to; ``UnauthorizedError`` when the token is not
        valid now (expired, revoked, or not ours)."""
        return self._send(_auth_calls.inspect(token=token))

    def token(
        self,
        id: str = "",
        secret: str = "",
        *,
        refresh_token: str = "",
        session_id: str = "",
        token_expiry: int = 0,
    ) -> Token:
        """Tokens for one grant: a service account's ``id`` and ``secret``, a ``refresh_token``
        (it works once: the answer carries its successor), or a login ``session_id``
        (micro-user's addition; the tokens end with the session). ``token_expiry`` asks
        for a shorter-lived access token, never a longer one."""
        return self._send(
            _auth_calls.token(
                id=id,
                secret=secret,
                refresh_token=refresh_token,
                session_id=session_id,
                token_expiry=token_expiry,
            )
        )

    def verify(
        self,
        resource: Resource | str,
        token: str = "",
        namespace: str = "",
    ) -> VerifyResult:
        """Whether ``token`` (an access token, API key or session id; empty for nobody) may
        access ``resource`` (a ``Resource`` or ``"type:name:endpoint"``), by the rules of
        the caller's namespace (another ``namespace`` is a ``ForbiddenError``)."""
        return self._send(_auth_calls.verify(resource=resource, token=token, namespace=namespace))

    def list_accounts(self) -> builtins.list[AuthAccount]:
        """The namespace's service accounts (never their secrets)."""
        return self._send(_auth_calls.list_accounts())

    def delete_account(
        self,
        id: str,
    ) -> None:
        """Delete a service account: its grants and refresh tokens go, its access tokens are
        refused, and its id is never given again."""
        self._send(_auth_calls.delete_account(id=id))

    def change_secret(
        self,
        id: str,
        old_secret: str = "",
        new_secret: str = "",
    ) -> AuthAccount:
        """Give a service account a new secret (generated when empty), shown once in the
        answer; ``old_secret``, when given, must be the current one."""
        return self._send(
            _auth_calls.change_secret(id=id, old_secret=old_secret, new_secret=new_secret)
        )

    def create_rule(
        self,
        scope: str,
        resource: Resource | str,
        *,
        id: str = "",
        access: Access | str = Access.GRANTED,
        priority: int = 0,
    ) -> None:
        """Make a rule: ``scope`` ``""`` is everyone, ``*`` any account of the namespace, ``+``
        any account, else a role. Priorities are 32 bits, highest first (the very highest
        is the built-in admin rule's)."""
        self._send(
            _auth_calls.create_rule(
                id=id, scope=scope, resource=resource, access=access, priority=priority
            )
        )

    def delete_rule(
        self,
        id: str,
    ) -> None:
        """Delete a rule."""
        self._send(_auth_calls.delete_rule(id=id))

    def list_rules(self) -> builtins.list[Rule]:
        """The namespace's rules (the built-in ones are not listed)."""
        return self._send(_auth_calls.list_rules())

    def create_role(
        self,
        name: str,
        description: str = "",
    ) -> None:
        """Make a role (a named scope)."""
        self._send(_auth_calls.create_role(name=name, description=description))

    def delete_role(
        self,
        name: str,
    ) -> None:
        """Delete a role and every grant of it."""
        self._send(_auth_calls.delete_role(name=name))

    def list_roles(self) -> builtins.list[Role]:
        """The namespace's roles, ``admin`` (built in) first."""
        return self._send(_auth_calls.list_roles())

    def grant_role(
        self,
        role: str,
        account_id: str,
        account_type: str = "user",
    ) -> None:
        """Grant ``role`` to a user (``account_type="user"``) or service account. The role must
        exist (``NotFoundError``); a caller without ``admin`` grants only roles it holds."""
        self._send(
            _auth_calls.grant_role(role=role, account_id=account_id, account_type=account_type)
        )

    def revoke_role(
        self,
        role: str,
        account_id: str,
        account_type: str = "user",
    ) -> None:
        """Take ``role`` back; ``NotFoundError`` when the account does not hold it."""
        self._send(
            _auth_calls.revoke_role(role=role, account_id=account_id, account_type=account_type)
        )

    def create_client(
        self,
        name: str,
        redirect_uris: Iterable[str],
        *,
        post_logout_redirect_uris: Iterable[str] = (),
        public: bool = False,
        third_party: bool = False,
        scopes: Iterable[str] = (),
    ) -> OAuthClient:
        """Register an application that signs its users in through micro-user (the
        authorization code flow with PKCE). ``redirect_uris`` are matched exactly (https,
        or http on loopback). A confidential client's secret is in the answer, only now; a
        ``public`` one (a single-page or native app) has none. A ``third_party`` client's
        users are asked to consent. ``scopes`` default to openid, profile, email and
        offline_access."""
        return self._send(
            _auth_calls.create_client(
                name=name,
                redirect_uris=redirect_uris,
                post_logout_redirect_uris=post_logout_redirect_uris,
                public=public,
                third_party=third_party,
                scopes=scopes,
            )
        )

    def list_clients(self) -> builtins.list[OAuthClient]:
        """The namespace's OAuth clients (never their secrets)."""
        return self._send(_auth_calls.list_clients())

    def delete_client(
        self,
        id: str,
    ) -> None:
        """Delete an OAuth client."""
        self._send(_auth_calls.delete_client(id=id))

    def create_provider(
        self,
        id: str,
        kind: str,
        name: str,
        client_id: str,
        client_secret: str,
        *,
        issuer: str = "",
        authorization_endpoint: str = "",
        token_endpoint: str = "",
        userinfo_endpoint: str = "",
        scopes: Iterable[str] = (),
        subject_claim: str = "",
        email_claim: str = "",
        verified_claim: str = "",
        keep_tokens: bool = False,
    ) -> IdentityProvider:
        """Add an external identity provider; the hosted sign-in page shows a button for it.
        ``kind`` "oidc" (OpenID Connect) needs only the ``issuer``, whose discovery
        document the server fetches now; "oauth2" (plain OAuth 2.0) needs the three
        endpoints, and reads who signed in from ``userinfo_endpoint`` (``subject_claim``,
        default ``id``; ``email_claim``, default ``email``; ``verified_claim``, if it says
        the address is verified). URLs are https (http only on loopback). ``keep_tokens``
        keeps the provider's tokens, sealed. The secret is never sent back. A taken id is
        a ``BadRequestError``."""
        return self._send(
            _auth_calls.create_provider(
                id=id,
                kind=kind,
                name=name,
                client_id=client_id,
                client_secret=client_secret,
                issuer=issuer,
                authorization_endpoint=authorization_endpoint,
                token_endpoint=token_endpoint,
                userinfo_endpoint=userinfo_endpoint,
                scopes=scopes,
                subject_claim=subject_claim,
                email_claim=email_claim,
                verified_claim=verified_claim,
                keep_tokens=keep_tokens,
            )
        )

    def list_providers(self) -> builtins.list[IdentityProvider]:
        """The namespace's identity providers (never their secrets)."""
        return self._send(_auth_calls.list_providers())

    def delete_provider(
        self,
        id: str,
    ) -> None:
        """Remove an identity provider and the links of accounts to it; ``NotFoundError``
        when there is none with this id."""
        self._send(_auth_calls.delete_provider(id=id))

    def read_factor_policy(self) -> FactorPolicy:
        """Who in the namespace must have a second factor."""
        return self._send(_auth_calls.read_factor_policy())

    def set_factor_policy(
        self,
        required: str,
        roles: Iterable[str] = (),
    ) -> FactorPolicy:
        """Require a second factor of nobody (``"none"``: each user's choice), ``"everyone"``,
        or (``"roles"``) the holders of ``roles``, given with it and only with it; users
        without one set it up inside their next sign-in on the hosted pages."""
        return self._send(_auth_calls.set_factor_policy(required=required, roles=roles))


class AsyncAuthClient(AsyncConnection):
    """The async twin of :class:`AuthClient`: same arguments, same methods, awaited."""

    async def generate(
        self,
        name: str = "",
        scopes: Iterable[str] = (),
        id: str = "",
        secret: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> AuthAccount:
        """:meth:`AuthClient.generate`, awaited."""
        return await self._send(
            _auth_calls.generate(id=id, name=name, scopes=scopes, secret=secret, metadata=metadata)
        )

    async def inspect(
        self,
        token: str,
    ) -> AuthAccount:
        """:meth:`AuthClient.inspect`, awaited."""
        return await self._send(_auth_calls.inspect(token=token))

    async def token(
        self,
        id: str = "",
        secret: str = "",
        *,
        refresh_token: str = "",
        session_id: str = "",
        token_expiry: int = 0,
    ) -> Token:
        """:meth:`AuthClient.token`, awaited."""
        return await self._send(
            _auth_calls.token(
                id=id,
                secret=secret,
                refresh_token=refresh_token,
                session_id=session_id,
                token_expiry=token_expiry,
            )
        )

    async def verify(
        self,
        resource: Resource | str,
        token: str = "",
        namespace: str = "",
    ) -> VerifyResult:
        """:meth:`AuthClient.verify`, awaited."""
        return await self._send(
            _auth_calls.verify(resource=resource, token=token, namespace=namespace)
        )

    async def list_accounts(self) -> builtins.list[AuthAccount]:
        """:meth:`AuthClient.list_accounts`, awaited."""
        return await self._send(_auth_calls.list_accounts())

    async def delete_account(
        self,
        id: str,
    ) -> None:
        """:meth:`AuthClient.delete_account`, awaited."""
        await self._send(_auth_calls.delete_account(id=id))

    async def change_secret(
        self,
        id: str,
        old_secret: str = "",
        new_secret: str = "",
    ) -> AuthAccount:
        """:meth:`AuthClient.change_secret`, awaited."""
        return await self._send(
            _auth_calls.change_secret(id=id, old_secret=old_secret, new_secret=new_secret)
        )

    async def create_rule(
        self,
        scope: str,
        resource: Resource | str,
        *,
        id: str = "",
        access: Access | str = Access.GRANTED,
        priority: int = 0,
    ) -> None:
        """:meth:`AuthClient.create_rule`, awaited."""
        await self._send(
            _auth_calls.create_rule(
                id=id, scope=scope, resource=resource, access=access, priority=priority
            )
        )

    async def delete_rule(
        self,
        id: str,
    ) -> None:
        """:meth:`AuthClient.delete_rule`, awaited."""
        await self._send(_auth_calls.delete_rule(id=id))

    async def list_rules(self) -> builtins.list[Rule]:
        """:meth:`AuthClient.list_rules`, awaited."""
        return await self._send(_auth_calls.list_rules())

    async def create_role(
        self,
        name: str,
        description: str = "",
    ) -> None:
        """:meth:`AuthClient.create_role`, awaited."""
        await self._send(_auth_calls.create_role(name=name, description=description))

    async def delete_role(
        self,
        name: str,
    ) -> None:
        """:meth:`AuthClient.delete_role`, awaited."""
        await self._send(_auth_calls.delete_role(name=name))

    async def list_roles(self) -> builtins.list[Role]:
        """:meth:`AuthClient.list_roles`, awaited."""
        return await self._send(_auth_calls.list_roles())

    async def grant_role(
        self,
        role: str,
        account_id: str,
        account_type: str = "user",
    ) -> None:
        """:meth:`AuthClient.grant_role`, awaited."""
        await self._send(
            _auth_calls.grant_role(role=role, account_id=account_id, account_type=account_type)
        )

    async def revoke_role(
        self,
        role: str,
        account_id: str,
        account_type: str = "user",
    ) -> None:
        """:meth:`AuthClient.revoke_role`, awaited."""
        await self._send(
            _auth_calls.revoke_role(role=role, account_id=account_id, account_type=account_type)
        )

    async def create_client(
        self,
        name: str,
        redirect_uris: Iterable[str],
        *,
        post_logout_redirect_uris: Iterable[str] = (),
        public: bool = False,
        third_party: bool = False,
        scopes: Iterable[str] = (),
    ) -> OAuthClient:
        """:meth:`AuthClient.create_client`, awaited."""
        return await self._send(
            _auth_calls.create_client(
                name=name,
                redirect_uris=redirect_uris,
                post_logout_redirect_uris=post_logout_redirect_uris,
                public=public,
                third_party=third_party,
                scopes=scopes,
            )
        )

    async def list_clients(self) -> builtins.list[OAuthClient]:
        """:meth:`AuthClient.list_clients`, awaited."""
        return await self._send(_auth_calls.list_clients())

    async def delete_client(
        self,
        id: str,
    ) -> None:
        """:meth:`AuthClient.delete_client`, awaited."""
        await self._send(_auth_calls.delete_client(id=id))

    async def create_provider(
        self,
        id: str,
        kind: str,
        name: str,
        client_id: str,
        client_secret: str,
        *,
        issuer: str = "",
        authorization_endpoint: str = "",
        token_endpoint: str = "",
        userinfo_endpoint: str = "",
        scopes: Iterable[str] = (),
        subject_claim: str = "",
        email_claim: str = "",
        verified_claim: str = "",
        keep_tokens: bool = False,
    ) -> IdentityProvider:
        """:meth:`AuthClient.create_provider`, awaited."""
        return await self._send(
            _auth_calls.create_provider(
                id=id,
                kind=kind,
                name=name,
                client_id=client_id,
                client_secret=client_secret,
                issuer=issuer,
                authorization_endpoint=authorization_endpoint,
                token_endpoint=token_endpoint,
                userinfo_endpoint=userinfo_endpoint,
                scopes=scopes,
                subject_claim=subject_claim,
                email_claim=email_claim,
                verified_claim=verified_claim,
                keep_tokens=keep_tokens,
            )
        )

    async def list_providers(self) -> builtins.list[IdentityProvider]:
        """:meth:`AuthClient.list_providers`, awaited."""
        return await self._send(_auth_calls.list_providers())

    async def delete_provider(
        self,
        id: str,
    ) -> None:
        """:meth:`AuthClient.delete_provider`, awaited."""
        await self._send(_auth_calls.delete_provider(id=id))

    async def read_factor_policy(self) -> FactorPolicy:
        """:meth:`AuthClient.read_factor_policy`, awaited."""
        return await self._send(_auth_calls.read_factor_policy())

    async def set_factor_policy(
        self,
        required: str,
        roles: Iterable[str] = (),
    ) -> FactorPolicy:
        """:meth:`AuthClient.set_factor_policy`, awaited."""
        return await self._send(_auth_calls.set_factor_policy(required=required, roles=roles))
