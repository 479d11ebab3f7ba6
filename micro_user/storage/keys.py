"""API key rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update

from micro_user.storage.database import Connection
from micro_user.storage.rows import ApiKeyRow, KeyHolderRow
from micro_user.storage.tables import api_keys


async def insert_key(conn: Connection, **values: Any) -> None:
    await conn.execute(insert(api_keys).values(**values))


async def insert_key_if_absent(conn: Connection, **values: Any) -> bool:
    """Insert unless a key with this id exists (however it got there); True if inserted."""
    exists = (
        await conn.execute(select(api_keys.c.id).where(api_keys.c.id == values["id"]))
    ).first()
    if exists:
        return False
    await conn.execute(insert(api_keys).values(**values))
    return True


async def upsert_key(conn: Connection, **values: Any) -> None:
    changed = await conn.execute(
        update(api_keys)
        .where(api_keys.c.id == values["id"])
        .values(secret_hash=values["secret_hash"], hint=values["hint"], revoked=None)
    )
    if not changed.rowcount:
        await conn.execute(insert(api_keys).values(**values))


async def find_active_by_hash(conn: Connection, secret_hash: str) -> KeyHolderRow | None:
    row = (
        await conn.execute(
            select(api_keys.c.id, api_keys.c.namespace, api_keys.c.scopes).where(
                api_keys.c.secret_hash == secret_hash, api_keys.c.revoked.is_(None)
            )
        )
    ).first()
    return None if row is None else KeyHolderRow._make(row)


async def list_keys(
    conn: Connection, namespace: str | None, include_revoked: bool
) -> list[ApiKeyRow]:
    query = select(api_keys).order_by(api_keys.c.created, api_keys.c.id)
    if namespace:
        query = query.where(api_keys.c.namespace == namespace)
    if not include_revoked:
        query = query.where(api_keys.c.revoked.is_(None))
    return list(map(ApiKeyRow._make, await conn.execute(query)))


async def revoke_key(conn: Connection, key_id: str, now: int) -> str | None:
    """Revoke an active key; the namespace it belonged to, or None if there was none."""
    result = await conn.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked.is_(None))
        .values(revoked=now)
        .returning(api_keys.c.namespace)
    )
    namespace = result.scalar()
    return None if namespace is None else str(namespace)
