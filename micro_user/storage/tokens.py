"""One-time token rows: verification links, reset codes, magic links."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update

from micro_user.storage.database import Connection
from micro_user.storage.tables import one_time_tokens, reset_attempts


async def insert_token(conn: Connection, **values: Any) -> None:
    await conn.execute(insert(one_time_tokens).values(**values))


async def find_token(conn: Connection, token_hash: str, purpose: str) -> Any:
    return (
        await conn.execute(
            select(one_time_tokens).where(
                one_time_tokens.c.token_hash == token_hash, one_time_tokens.c.purpose == purpose
            )
        )
    ).first()


async def consume_token(conn: Connection, token_hash: str, purpose: str, now: int) -> bool:
    """Mark a live token used; False if it is unknown, spent or expired. Atomic: of two
    requests racing for one token, exactly one gets True."""
    result = await conn.execute(
        update(one_time_tokens)
        .where(
            one_time_tokens.c.token_hash == token_hash,
            one_time_tokens.c.purpose == purpose,
            one_time_tokens.c.used_at.is_(None),
            one_time_tokens.c.expires > now,
        )
        .values(used_at=now)
    )
    return bool(result.rowcount)


async def delete_tokens_of(conn: Connection, namespace: str, account_id: str, purpose: str) -> None:
    await conn.execute(
        delete(one_time_tokens).where(
            one_time_tokens.c.namespace == namespace,
            one_time_tokens.c.account_id == account_id,
            one_time_tokens.c.purpose == purpose,
        )
    )


async def reset_failures(conn: Connection, namespace: str, account_id: str) -> int:
    value = (
        await conn.execute(
            select(reset_attempts.c.failures).where(
                reset_attempts.c.namespace == namespace, reset_attempts.c.account_id == account_id
            )
        )
    ).scalar()
    return int(value or 0)


async def add_reset_failure(conn: Connection, namespace: str, account_id: str) -> None:
    changed = await conn.execute(
        update(reset_attempts)
        .where(reset_attempts.c.namespace == namespace, reset_attempts.c.account_id == account_id)
        .values(failures=reset_attempts.c.failures + 1)
    )
    if not changed.rowcount:
        await conn.execute(
            insert(reset_attempts).values(namespace=namespace, account_id=account_id, failures=1)
        )


async def clear_reset_failures(conn: Connection, namespace: str, account_id: str) -> None:
    await conn.execute(
        delete(reset_attempts).where(
            reset_attempts.c.namespace == namespace, reset_attempts.c.account_id == account_id
        )
    )


async def delete_stale_tokens(conn: Connection, before: int) -> int:
    """Tokens expired before ``before``: kept a while after expiry so that a late click
    on a verification link still finds its failure redirect."""
    result = await conn.execute(delete(one_time_tokens).where(one_time_tokens.c.expires <= before))
    return int(result.rowcount or 0)
