"""Rows of the external identity providers and the identities linked to accounts
(``federation/``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update

from micro_user.storage.database import Connection
from micro_user.storage.tables import identity_providers, linked_identities


async def insert_provider(conn: Connection, **values: Any) -> None:
    await conn.execute(insert(identity_providers).values(**values))


async def providers(conn: Connection, namespace: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(identity_providers)
        .where(identity_providers.c.namespace == namespace)
        .order_by(identity_providers.c.created, identity_providers.c.id)
    )
    return [dict(row._mapping) for row in rows]


async def find_provider(conn: Connection, namespace: str, id: str) -> dict[str, Any] | None:
    row = (
        await conn.execute(
            select(identity_providers).where(
                identity_providers.c.namespace == namespace, identity_providers.c.id == id
            )
        )
    ).first()
    return None if row is None else dict(row._mapping)


async def delete_provider(conn: Connection, namespace: str, id: str) -> bool:
    # The links go first: the foreign key's cascade depends on a pragma in SQLite.
    await conn.execute(
        delete(linked_identities).where(
            linked_identities.c.namespace == namespace, linked_identities.c.provider_id == id
        )
    )
    result = await conn.execute(
        delete(identity_providers).where(
            identity_providers.c.namespace == namespace, identity_providers.c.id == id
        )
    )
    return bool(result.rowcount)


def _identity(namespace: str, provider_id: str, subject: str) -> Any:
    return (
        (linked_identities.c.namespace == namespace)
        & (linked_identities.c.provider_id == provider_id)
        & (linked_identities.c.subject == subject)
    )


async def find_link(conn: Connection, namespace: str, provider_id: str, subject: str) -> str | None:
    """The account an identity is linked to."""
    found = await conn.execute(
        select(linked_identities.c.account_id).where(_identity(namespace, provider_id, subject))
    )
    return found.scalar()


async def insert_link(conn: Connection, **values: Any) -> None:
    await conn.execute(insert(linked_identities).values(**values))


async def touch_link(
    conn: Connection,
    namespace: str,
    provider_id: str,
    subject: str,
    now: int,
    sealed: tuple[str, str] | None,
) -> None:
    values: dict[str, Any] = {"last_used": now}
    if sealed is not None:
        values.update(kek_id=sealed[0], sealed_tokens=sealed[1])
    await conn.execute(
        update(linked_identities).where(_identity(namespace, provider_id, subject)).values(**values)
    )


async def links_of(conn: Connection, namespace: str, account_id: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(linked_identities)
        .where(
            linked_identities.c.namespace == namespace,
            linked_identities.c.account_id == account_id,
        )
        .order_by(linked_identities.c.created)
    )
    return [dict(row._mapping) for row in rows]


async def delete_link(conn: Connection, namespace: str, account_id: str, provider_id: str) -> bool:
    result = await conn.execute(
        delete(linked_identities).where(
            linked_identities.c.namespace == namespace,
            linked_identities.c.account_id == account_id,
            linked_identities.c.provider_id == provider_id,
        )
    )
    return bool(result.rowcount)


async def delete_links_of(conn: Connection, namespace: str, account_id: str) -> int:
    """Every identity linked to an account (when its address is first proven, what someone
    set up before goes)."""
    result = await conn.execute(
        delete(linked_identities).where(
            linked_identities.c.namespace == namespace,
            linked_identities.c.account_id == account_id,
        )
    )
    return int(result.rowcount or 0)
