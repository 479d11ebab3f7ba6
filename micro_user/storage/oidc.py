"""Rows of the authorization code flow (``oidc/``): codes, consents, and the sessions the
authorization endpoint reads from the browser's cookie."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, insert, select, update

from micro_user.storage.database import Connection
from micro_user.storage.rows import BrowserSessionRow, CodeRow
from micro_user.storage.tables import authorization_codes, brandings, consents, sessions


async def find_browser_session(
    conn: Connection, namespace: str, token_hash: str, now: int
) -> BrowserSessionRow | None:
    row = (
        await conn.execute(
            select(
                sessions.c.token_hash,
                sessions.c.account_id,
                sessions.c.created,
                sessions.c.expires,
                sessions.c.sid,
                sessions.c.amr,
            ).where(
                sessions.c.token_hash == token_hash,
                sessions.c.namespace == namespace,
                sessions.c.expires > now,
            )
        )
    ).first()
    return None if row is None else BrowserSessionRow._make(row)


async def insert_code(conn: Connection, **values: Any) -> None:
    await conn.execute(insert(authorization_codes).values(**values))


async def find_code(conn: Connection, code_hash: str) -> CodeRow | None:
    row = (
        await conn.execute(
            select(authorization_codes).where(authorization_codes.c.code_hash == code_hash)
        )
    ).first()
    return None if row is None else CodeRow._make(row)


async def spend_code(conn: Connection, code_hash: str, now: int) -> bool:
    """Mark a live code used; False when it was used (or expired) already: of two racing
    exchanges, one wins."""
    result = await conn.execute(
        update(authorization_codes)
        .where(
            authorization_codes.c.code_hash == code_hash,
            authorization_codes.c.used.is_(None),
            authorization_codes.c.expires > now,
        )
        .values(used=now)
    )
    return bool(result.rowcount)


async def set_code_family(conn: Connection, code_hash: str, family: str) -> None:
    await conn.execute(
        update(authorization_codes)
        .where(authorization_codes.c.code_hash == code_hash)
        .values(family=family)
    )


async def delete_stale_codes(conn: Connection, before: int) -> int:
    result = await conn.execute(
        delete(authorization_codes).where(authorization_codes.c.expires < before)
    )
    return int(result.rowcount or 0)


def _consent(namespace: str, account_id: str, client_id: str) -> Any:
    return and_(
        consents.c.namespace == namespace,
        consents.c.account_id == account_id,
        consents.c.client_id == client_id,
    )


async def find_consent(
    conn: Connection, namespace: str, account_id: str, client_id: str
) -> str | None:
    """The scopes (space-separated) the user let the client have, None if never asked."""
    value = (
        await conn.execute(
            select(consents.c.scope).where(_consent(namespace, account_id, client_id))
        )
    ).scalar()
    return None if value is None else str(value)


async def save_consent(
    conn: Connection, namespace: str, account_id: str, client_id: str, scope: str, now: int
) -> None:
    await conn.execute(delete(consents).where(_consent(namespace, account_id, client_id)))
    await conn.execute(
        insert(consents).values(
            namespace=namespace,
            account_id=account_id,
            client_id=client_id,
            scope=scope,
            created=now,
        )
    )


async def delete_consent(conn: Connection, namespace: str, account_id: str, client_id: str) -> bool:
    result = await conn.execute(delete(consents).where(_consent(namespace, account_id, client_id)))
    return bool(result.rowcount)


async def list_consents(
    conn: Connection, namespace: str, account_id: str
) -> list[tuple[str, str, int]]:
    """(client id, scope, when) of every consent the user gave."""
    rows = await conn.execute(
        select(consents.c.client_id, consents.c.scope, consents.c.created)
        .where(consents.c.namespace == namespace, consents.c.account_id == account_id)
        .order_by(consents.c.created)
    )
    return [(str(r.client_id), str(r.scope), int(r.created)) for r in rows]


async def find_branding(conn: Connection, namespace: str) -> tuple[str, str, str] | None:
    row = (
        await conn.execute(
            select(brandings.c.name, brandings.c.logo_url, brandings.c.color).where(
                brandings.c.namespace == namespace
            )
        )
    ).first()
    return None if row is None else (str(row.name), str(row.logo_url), str(row.color))


async def save_branding(
    conn: Connection, namespace: str, name: str, logo_url: str, color: str, now: int
) -> None:
    await conn.execute(delete(brandings).where(brandings.c.namespace == namespace))
    await conn.execute(
        insert(brandings).values(
            namespace=namespace, name=name, logo_url=logo_url, color=color, updated=now
        )
    )


async def delete_branding(conn: Connection, namespace: str) -> None:
    await conn.execute(delete(brandings).where(brandings.c.namespace == namespace))
