"""Rows of passkeys (``factors/passkeys.py``) and of the WebAuthn challenges answered."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from micro_user.storage.database import Connection, Database
from micro_user.storage.rows import PasskeyRow
from micro_user.storage.tables import passkeys, spent_challenges


def _of(namespace: str, account_id: str) -> Any:
    return (passkeys.c.namespace == namespace) & (passkeys.c.account_id == account_id)


async def of_account(conn: Connection, namespace: str, account_id: str) -> list[PasskeyRow]:
    rows = await conn.execute(
        select(passkeys).where(_of(namespace, account_id)).order_by(passkeys.c.created)
    )
    return [PasskeyRow._make(row) for row in rows]


async def count(conn: Connection, namespace: str, account_id: str) -> int:
    found = await conn.execute(select(func.count()).where(_of(namespace, account_id)))
    return int(found.scalar() or 0)


async def find(conn: Connection, namespace: str, credential_id: str) -> PasskeyRow | None:
    row = (
        await conn.execute(
            select(passkeys).where(
                passkeys.c.namespace == namespace, passkeys.c.credential_id == credential_id
            )
        )
    ).first()
    return None if row is None else PasskeyRow._make(row)


async def add(conn: Connection, row: PasskeyRow) -> None:
    await conn.execute(insert(passkeys).values(**row._asdict()))


async def count_used(
    conn: Connection, namespace: str, id: str, seen: int, sign_count: int, now: int
) -> bool:
    """Record a use: False when another use moved the counter since it was read (two
    answers racing, or a cloned authenticator)."""
    result = await conn.execute(
        update(passkeys)
        .where(
            passkeys.c.namespace == namespace,
            passkeys.c.id == id,
            passkeys.c.sign_count == seen,
        )
        .values(sign_count=sign_count, last_used=now)
    )
    return bool(result.rowcount)


async def remove(conn: Connection, namespace: str, account_id: str, id: str) -> bool:
    result = await conn.execute(
        delete(passkeys).where(_of(namespace, account_id), passkeys.c.id == id)
    )
    return bool(result.rowcount)


async def spend_challenge(db: Database, challenge_hash: str, expires: int, now: int) -> bool:
    """Mark a challenge answered: False when it was answered before. Expired rows go first
    (a challenge is refused by its own expiry once its row is gone)."""
    try:
        async with db.write() as conn:
            await conn.execute(delete(spent_challenges).where(spent_challenges.c.expires <= now))
            await conn.execute(
                insert(spent_challenges).values(challenge_hash=challenge_hash, expires=expires)
            )
    except IntegrityError:
        return False
    return True
