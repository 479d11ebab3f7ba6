"""Rows of the auth service: service accounts, roles, grants, rules, signing keys,
refresh tokens, revocations of access tokens, and the change counter instances poll."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, and_, bindparam, delete, insert, or_, select, update

from micro_user.storage.database import Connection, after_commit
from micro_user.storage.rows import (
    PrivateKeyRow,
    RefreshRow,
    RoleRow,
    RuleRow,
    ServiceAccountRow,
    SigningKeyRow,
)
from micro_user.storage.tables import (
    auth_accounts,
    auth_state,
    refresh_tokens,
    revocations,
    role_grants,
    roles,
    rules,
    signing_keys,
    used_account_ids,
)

STATE = "auth"
# How many changes this process committed: an instance that changed something reloads at
# once after the request (``AuthState.catch_up``), the others within their polling interval.
local_changes = 0


def _count_local_change() -> None:
    global local_changes
    local_changes += 1


async def bump_version(conn: Connection) -> None:
    """Tell every instance that cached auth data changed (inside the changing transaction).
    This process counts the change once it is committed: counted before, a reload running
    meanwhile would read the old data and take itself for up to date."""
    after_commit(_count_local_change)
    changed = await conn.execute(
        update(auth_state)
        .where(auth_state.c.name == STATE)
        .values(version=auth_state.c.version + 1)
    )
    if not changed.rowcount:
        await conn.execute(insert(auth_state).values(name=STATE, version=1))


async def read_version(conn: Connection) -> int:
    value = (
        await conn.execute(select(auth_state.c.version).where(auth_state.c.name == STATE))
    ).scalar()
    return int(value or 0)


# Service accounts -------------------------------------------------------------


async def insert_account(conn: Connection, **values: Any) -> None:
    """A service account, and its id among the ids ever used (IntegrityError when an account
    has or had it: an id is never given twice)."""
    await conn.execute(
        insert(used_account_ids).values(
            namespace=values["namespace"],
            account_type=values["type"],
            id=values["id"],
            created=values["created"],
        )
    )
    await conn.execute(insert(auth_accounts).values(**values))


# Statements of the token grants, built once with bound parameters: building and
# cache-keying a statement costs more than the database takes to run it.
_FIND_ACCOUNT = select(auth_accounts).where(
    auth_accounts.c.namespace == bindparam("namespace"), auth_accounts.c.id == bindparam("id")
)
_ROLES_OF = (
    select(role_grants.c.role)
    .where(
        role_grants.c.namespace == bindparam("namespace"),
        role_grants.c.account_type == bindparam("account_type"),
        role_grants.c.account_id == bindparam("account_id"),
    )
    .order_by(role_grants.c.role)
)
_INSERT_REFRESH = insert(refresh_tokens)
_FIND_REFRESH = select(refresh_tokens).where(refresh_tokens.c.token_hash == bindparam("token_hash"))
_NOW = bindparam("now", type_=BigInteger)
_SPEND_REFRESH = (
    update(refresh_tokens)
    .where(
        # (named apart from the column: UPDATE reserves column names for its SET clause)
        refresh_tokens.c.token_hash == bindparam("spent_hash"),
        refresh_tokens.c.used.is_(None),
        refresh_tokens.c.revoked.is_(None),
        refresh_tokens.c.expires > _NOW,
    )
    .values(used=_NOW)
)


async def find_account(conn: Connection, namespace: str, id: str) -> ServiceAccountRow | None:
    row = (await conn.execute(_FIND_ACCOUNT, {"namespace": namespace, "id": id})).first()
    return None if row is None else ServiceAccountRow._make(row)


async def list_accounts(conn: Connection, namespace: str) -> list[ServiceAccountRow]:
    query = (
        select(auth_accounts)
        .where(auth_accounts.c.namespace == namespace)
        .order_by(auth_accounts.c.created, auth_accounts.c.id)
    )
    return list(map(ServiceAccountRow._make, await conn.execute(query)))


async def set_account_secret(
    conn: Connection, namespace: str, id: str, secret_hash: str, now: int
) -> bool:
    result = await conn.execute(
        update(auth_accounts)
        .where(auth_accounts.c.namespace == namespace, auth_accounts.c.id == id)
        .values(secret_hash=secret_hash, updated=now)
    )
    return bool(result.rowcount)


async def delete_account(conn: Connection, namespace: str, id: str) -> bool:
    result = await conn.execute(
        delete(auth_accounts).where(
            auth_accounts.c.namespace == namespace, auth_accounts.c.id == id
        )
    )
    return bool(result.rowcount)


# Roles and grants -------------------------------------------------------------


async def insert_role(conn: Connection, **values: Any) -> None:
    await conn.execute(insert(roles).values(**values))


async def role_exists(conn: Connection, namespace: str, name: str) -> bool:
    row = await conn.execute(
        select(roles.c.name).where(roles.c.namespace == namespace, roles.c.name == name)
    )
    return row.first() is not None


async def list_roles(conn: Connection, namespace: str) -> list[RoleRow]:
    query = select(roles).where(roles.c.namespace == namespace).order_by(roles.c.name)
    return list(map(RoleRow._make, await conn.execute(query)))


async def delete_role(conn: Connection, namespace: str, name: str) -> bool:
    await conn.execute(
        delete(role_grants).where(role_grants.c.namespace == namespace, role_grants.c.role == name)
    )
    result = await conn.execute(
        delete(roles).where(roles.c.namespace == namespace, roles.c.name == name)
    )
    return bool(result.rowcount)


def _holder(namespace: str, account_type: str, account_id: str) -> Any:
    return and_(
        role_grants.c.namespace == namespace,
        role_grants.c.account_type == account_type,
        role_grants.c.account_id == account_id,
    )


async def grant_role(
    conn: Connection, namespace: str, account_type: str, account_id: str, role: str, now: int
) -> bool:
    held = await conn.execute(
        select(role_grants.c.role).where(
            _holder(namespace, account_type, account_id), role_grants.c.role == role
        )
    )
    if held.first():
        return False
    await conn.execute(
        insert(role_grants).values(
            namespace=namespace,
            account_type=account_type,
            account_id=account_id,
            role=role,
            created=now,
        )
    )
    return True


async def revoke_role(
    conn: Connection, namespace: str, account_type: str, account_id: str, role: str
) -> bool:
    result = await conn.execute(
        delete(role_grants).where(
            _holder(namespace, account_type, account_id), role_grants.c.role == role
        )
    )
    return bool(result.rowcount)


async def roles_of(
    conn: Connection, namespace: str, account_type: str, account_id: str
) -> list[str]:
    rows = await conn.execute(
        _ROLES_OF,
        {"namespace": namespace, "account_type": account_type, "account_id": account_id},
    )
    return [row[0] for row in rows]


async def delete_grants_of(
    conn: Connection, namespace: str, account_type: str, account_id: str
) -> None:
    await conn.execute(delete(role_grants).where(_holder(namespace, account_type, account_id)))


# Rules ------------------------------------------------------------------------


async def insert_rule(conn: Connection, **values: Any) -> None:
    await conn.execute(insert(rules).values(**values))


async def delete_rule(conn: Connection, namespace: str, id: str) -> bool:
    result = await conn.execute(
        delete(rules).where(rules.c.namespace == namespace, rules.c.id == id)
    )
    return bool(result.rowcount)


async def all_rules(conn: Connection, namespace: str | None = None) -> list[RuleRow]:
    query = select(rules).order_by(rules.c.namespace, rules.c.priority.desc(), rules.c.id)
    if namespace is not None:
        query = query.where(rules.c.namespace == namespace)
    return list(map(RuleRow._make, await conn.execute(query)))


# Signing keys -----------------------------------------------------------------


async def insert_signing_key(conn: Connection, **values: Any) -> None:
    await conn.execute(insert(signing_keys).values(**values))


async def signing_keys_in_use(conn: Connection, retired_after: int) -> list[SigningKeyRow]:
    """The active key and the retired ones whose tokens may still be live."""
    query = (
        select(signing_keys)
        .where(or_(signing_keys.c.retired.is_(None), signing_keys.c.retired > retired_after))
        .order_by(signing_keys.c.created.desc(), signing_keys.c.kid)
    )
    return list(map(SigningKeyRow._make, await conn.execute(query)))


async def retire_signing_keys(conn: Connection, at: int) -> None:
    """Every key that signs now or would sign after ``at`` stops signing at ``at``."""
    await conn.execute(
        update(signing_keys)
        .where(or_(signing_keys.c.retired.is_(None), signing_keys.c.retired > at))
        .values(retired=at)
    )


async def private_keys(conn: Connection, *, unsealed_only: bool = False) -> list[PrivateKeyRow]:
    """Every signing key's id and stored private part (only the plaintext ones, or all)."""
    query = select(signing_keys.c.kid, signing_keys.c.kek_id, signing_keys.c.private_jwk)
    if unsealed_only:
        query = query.where(signing_keys.c.kek_id.is_(None))
    return list(map(PrivateKeyRow._make, await conn.execute(query.order_by(signing_keys.c.kid))))


async def store_private_key(conn: Connection, kid: str, kek_id: str, private_jwk: str) -> None:
    await conn.execute(
        update(signing_keys)
        .where(signing_keys.c.kid == kid)
        .values(kek_id=kek_id, private_jwk=private_jwk)
    )


async def has_active_key(conn: Connection) -> bool:
    row = await conn.execute(
        select(signing_keys.c.kid).where(signing_keys.c.retired.is_(None)).limit(1)
    )
    return row.first() is not None


# Refresh tokens and revocations ------------------------------------------------


async def insert_refresh(conn: Connection, **values: Any) -> None:
    await conn.execute(_INSERT_REFRESH, values)


async def find_refresh(conn: Connection, token_hash: str) -> RefreshRow | None:
    row = (await conn.execute(_FIND_REFRESH, {"token_hash": token_hash})).first()
    return None if row is None else RefreshRow._make(row)


async def spend_refresh(conn: Connection, token_hash: str, now: int) -> bool:
    """Mark a live refresh token used; of two racing uses exactly one gets True."""
    result = await conn.execute(_SPEND_REFRESH, {"spent_hash": token_hash, "now": now})
    return bool(result.rowcount)


async def revoke_family(conn: Connection, family: str, now: int) -> None:
    """End a refresh family, and refuse the access tokens it minted that are still valid."""
    result = await conn.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.family == family, refresh_tokens.c.revoked.is_(None))
        .values(revoked=now)
        .returning(
            refresh_tokens.c.namespace, refresh_tokens.c.access_jti, refresh_tokens.c.access_expires
        )
    )
    # Only the transaction that revoked the rows records them (of two racing, one does).
    minted = [row for row in result if row.access_jti and (row.access_expires or 0) > now]
    for row in minted:
        await record_revocation(conn, row.namespace, JTI, row.access_jti, row.access_expires)
    if minted:
        await bump_version(conn)


async def revoke_client_families(
    conn: Connection, namespace: str, account_id: str, client_id: str, now: int
) -> None:
    """End every refresh family a user's tokens for an OAuth client belong to."""
    families = await conn.execute(
        select(refresh_tokens.c.family)
        .where(
            refresh_tokens.c.namespace == namespace,
            refresh_tokens.c.account_id == account_id,
            refresh_tokens.c.client_id == client_id,
            refresh_tokens.c.revoked.is_(None),
        )
        .distinct()
    )
    for (family,) in list(families):
        await revoke_family(conn, family, now)


async def revoke_refresh_of(
    conn: Connection, namespace: str, account_type: str, account_id: str, now: int
) -> None:
    await conn.execute(
        update(refresh_tokens)
        .where(
            refresh_tokens.c.namespace == namespace,
            refresh_tokens.c.account_type == account_type,
            refresh_tokens.c.account_id == account_id,
            refresh_tokens.c.revoked.is_(None),
        )
        .values(revoked=now)
    )


async def delete_refresh_of(
    conn: Connection, namespace: str, account_type: str, account_id: str
) -> int:
    """Every refresh token of an account (it is being deleted)."""
    result = await conn.execute(
        delete(refresh_tokens).where(
            refresh_tokens.c.namespace == namespace,
            refresh_tokens.c.account_type == account_type,
            refresh_tokens.c.account_id == account_id,
        )
    )
    return int(result.rowcount or 0)


# Revocations --------------------------------------------------------------------

JTI, SID, SUB = "jti", "sid", "sub"


async def record_revocation(
    conn: Connection, namespace: str, kind: str, value: str, expires: int
) -> None:
    """Refuse tokens with this ``jti``, ``sid`` or ``sub`` until ``expires`` (the latest
    expiry of a token it revokes). The caller bumps the version in the same transaction."""
    key = and_(
        revocations.c.namespace == namespace,
        revocations.c.kind == kind,
        revocations.c.value == value,
    )
    found = (await conn.execute(select(revocations.c.expires).where(key))).first()
    if found is None:
        await conn.execute(
            insert(revocations).values(namespace=namespace, kind=kind, value=value, expires=expires)
        )
    elif found[0] < expires:
        await conn.execute(update(revocations).where(key).values(expires=expires))


async def revoke_jti(conn: Connection, namespace: str, jti: str, expires: int) -> None:
    await record_revocation(conn, namespace, JTI, jti, expires)


async def revoke_subject(conn: Connection, namespace: str, account_id: str, until: int) -> None:
    """Refuse every access token of an account (deleted) until ``until``, the latest expiry
    of a token it may hold (now plus the access-token lifetime); in the deleting
    transaction."""
    await record_revocation(conn, namespace, SUB, account_id, until)
    await bump_version(conn)


async def live_revocations(conn: Connection, now: int) -> list[tuple[str, str, str, int]]:
    """(namespace, kind, value, expires) of the revocations still in force."""
    rows = await conn.execute(
        select(
            revocations.c.namespace, revocations.c.kind, revocations.c.value, revocations.c.expires
        ).where(revocations.c.expires > now)
    )
    return [(row.namespace, row.kind, row.value, int(row.expires)) for row in rows]


async def delete_expired_auth(conn: Connection, now: int) -> int:
    # A refresh row stays while the access token it minted may be live: a later family
    # revocation must still find that token's jti.
    a = await conn.execute(
        delete(refresh_tokens).where(
            refresh_tokens.c.expires <= now,
            or_(refresh_tokens.c.access_expires.is_(None), refresh_tokens.c.access_expires <= now),
        )
    )
    b = await conn.execute(delete(revocations).where(revocations.c.expires <= now))
    return int((a.rowcount or 0) + (b.rowcount or 0))
