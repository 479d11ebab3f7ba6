"""OAuth clients' rows (``auth/clients.py``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select

from micro_user.storage.database import Connection
from micro_user.storage.rows import ClientRow
from micro_user.storage.tables import oauth_clients


async def insert_client(conn: Connection, **values: Any) -> None:
    await conn.execute(insert(oauth_clients).values(**values))


async def find_client(conn: Connection, namespace: str, id: str) -> ClientRow | None:
    row = (
        await conn.execute(
            select(oauth_clients).where(
                oauth_clients.c.namespace == namespace, oauth_clients.c.id == id
            )
        )
    ).first()
    return None if row is None else ClientRow._make(row)


async def list_clients(conn: Connection, namespace: str) -> list[ClientRow]:
    query = (
        select(oauth_clients)
        .where(oauth_clients.c.namespace == namespace)
        .order_by(oauth_clients.c.created, oauth_clients.c.id)
    )
    return list(map(ClientRow._make, await conn.execute(query)))


async def delete_client(conn: Connection, namespace: str, id: str) -> bool:
    result = await conn.execute(
        delete(oauth_clients).where(
            oauth_clients.c.namespace == namespace, oauth_clients.c.id == id
        )
    )
    return bool(result.rowcount)
