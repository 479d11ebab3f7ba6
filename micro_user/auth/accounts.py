"""Service accounts (``Auth.Generate``): an id and a secret for the client-credentials grant.

Secrets are generated with 256 bits of entropy (or chosen by an operator, at
least 24 characters), shown once, and stored as SHA-256 digests.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import replace

import orjson
from sqlalchemy.exc import IntegrityError

from micro_user.accounts.validation import check_id
from micro_user.auth.models import SERVICE, AuthAccount
from micro_user.auth.rules import RoleService
from micro_user.clock import Clock
from micro_user.crypto import digest, new_token
from micro_user.errors import BadRequest, NotFound, Unauthorized
from micro_user.events import outbox
from micro_user.events.outbox import Outbox
from micro_user.storage import auth as repo
from micro_user.storage.database import Connection, Database

SECRET_PREFIX = "mus_"
MIN_SECRET_LENGTH = 24
# Digest compared when the account does not exist, so that both answers take as long.
_ABSENT = digest("absent")


def _secret(chosen: str, error_id: str) -> str:
    if not chosen:
        return SECRET_PREFIX + new_token()
    if len(chosen) < MIN_SECRET_LENGTH or len(chosen) > 512:
        raise BadRequest(error_id, f"a chosen secret is {MIN_SECRET_LENGTH} to 512 characters")
    return chosen


class ServiceAccounts:
    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        roles: RoleService,
        clock: Clock,
        token_ttl: int = 24 * 3600,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.roles = roles
        self.clock = clock
        # The longest an access token lives: how long a deleted account's stay refused.
        self.token_ttl = token_ttl

    async def generate(
        self,
        namespace: str,
        *,
        id: str = "",
        name: str = "",
        type: str = "",
        secret: str = "",
        metadata: dict[str, str] | None = None,
        scopes: list[str] | None = None,
    ) -> AuthAccount:
        error_id = "auth.generate"
        account_type = type or SERVICE
        if account_type != SERVICE:
            raise BadRequest(
                error_id, "Generate makes service accounts; people register with the user service"
            )
        account_id = check_id(id) or "svc-" + secrets.token_hex(8)
        shown = _secret(secret, error_id)
        now = self.clock()
        metadata = metadata or {}
        try:
            async with self.db.write() as conn:
                await repo.insert_account(
                    conn,
                    namespace=namespace,
                    id=account_id,
                    type=account_type,
                    name=name[:128],
                    secret_hash=digest(shown),
                    metadata=orjson.dumps(metadata).decode(),
                    created=now,
                    updated=now,
                )
                for scope in sorted(set(scopes or [])):
                    await self.roles.ensure_role(conn, namespace, scope, error_id, create=True)
                    await repo.grant_role(conn, namespace, SERVICE, account_id, scope, now)
                await repo.bump_version(conn)
                await self.outbox.record(
                    conn,
                    namespace,
                    outbox.SERVICE_ACCOUNT_CREATED,
                    now,
                    account_id=account_id,
                    payload={"name": name[:128], "scopes": sorted(set(scopes or []))},
                )
        except IntegrityError:
            raise BadRequest(
                error_id,
                f"the id {account_id!r} belongs, or belonged, to a service account: ids are never reused",
            ) from None
        return AuthAccount(
            account_id,
            account_type,
            namespace,
            name,
            metadata,
            tuple(sorted(set(scopes or []))),
            now,
            shown,
        )

    async def get(self, namespace: str, id: str) -> AuthAccount:
        async with self.db.read() as conn:
            row = await repo.find_account(conn, namespace, id)
            if row is None:
                raise NotFound("auth.accounts", f"no service account {id!r}")
            scopes = await repo.roles_of(conn, namespace, SERVICE, id)
        return AuthAccount(
            row.id,
            row.type,
            namespace,
            row.name,
            orjson.loads(row.metadata),
            tuple(scopes),
            row.created,
        )

    async def list(self, namespace: str) -> list[AuthAccount]:
        async with self.db.read() as conn:
            rows = await repo.list_accounts(conn, namespace)
            result = []
            for row in rows:
                scopes = await repo.roles_of(conn, namespace, SERVICE, row.id)
                result.append(
                    AuthAccount(
                        row.id,
                        row.type,
                        namespace,
                        row.name,
                        orjson.loads(row.metadata),
                        tuple(scopes),
                        row.created,
                    )
                )
        return result

    async def delete(self, namespace: str, id: str) -> None:
        async with self.db.write() as conn:
            if not await repo.delete_account(conn, namespace, id):
                raise NotFound("auth.accounts.delete", f"no service account {id!r}")
            await repo.revoke_subject(conn, namespace, id, self.clock() + self.token_ttl)
            await repo.delete_grants_of(conn, namespace, SERVICE, id)
            await repo.delete_refresh_of(conn, namespace, SERVICE, id)
            # Access tokens already issued to the account: the revocation of its `sub`
            # (issue 8, finding 8) is called here, inside this transaction.
            await repo.bump_version(conn)
            await self.outbox.record(
                conn, namespace, outbox.SERVICE_ACCOUNT_DELETED, self.clock(), account_id=id
            )

    async def change_secret(
        self, namespace: str, id: str, *, old_secret: str = "", new_secret: str = ""
    ) -> AuthAccount:
        error_id = "auth.accounts.changesecret"
        shown = _secret(new_secret, error_id)
        async with self.db.write() as conn:
            row = await repo.find_account(conn, namespace, id)
            if row is None:
                raise NotFound(error_id, f"no service account {id!r}")
            if old_secret and not hmac.compare_digest(row.secret_hash, digest(old_secret)):
                raise BadRequest(error_id, "old_secret is not the account's secret")
            await repo.set_account_secret(conn, namespace, id, digest(shown), self.clock())
            # A new secret ends what the old one obtained.
            await repo.revoke_refresh_of(conn, namespace, SERVICE, id, self.clock())
            await self.outbox.record(
                conn, namespace, outbox.SERVICE_ACCOUNT_SECRET_CHANGED, self.clock(), account_id=id
            )
        return replace(await self.get(namespace, id), secret=shown)

    async def authenticate(self, namespace: str, id: str, secret: str) -> AuthAccount:
        async with self.db.read() as conn:
            await self.check_secret(conn, namespace, id, secret)
        return await self.get(namespace, id)

    @staticmethod
    async def check_secret(conn: Connection, namespace: str, id: str, secret: str) -> None:
        """401 unless ``secret`` is the service account's (in the caller's transaction)."""
        row = await repo.find_account(conn, namespace, id) if id else None
        stored = row.secret_hash if row is not None else _ABSENT
        if not hmac.compare_digest(stored, digest(secret)) or row is None:
            raise Unauthorized("auth.token", "invalid client credentials")
