"""One-time token rows (verification links, reset codes, magic links) and the mail that
carries them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select, update

from micro_user.storage.database import Connection
from micro_user.storage.rows import MailRow, OneTimeTokenRow
from micro_user.storage.tables import mail_queue, one_time_tokens


async def insert_token(conn: Connection, **values: Any) -> None:
    await conn.execute(insert(one_time_tokens).values(**values))


async def find_token(conn: Connection, token_hash: str, purpose: str) -> OneTimeTokenRow | None:
    row = (
        await conn.execute(
            select(one_time_tokens).where(
                one_time_tokens.c.token_hash == token_hash, one_time_tokens.c.purpose == purpose
            )
        )
    ).first()
    return None if row is None else OneTimeTokenRow._make(row)


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


def _live_codes_of(namespace: str, account_id: str, now: int) -> Any:
    return (
        (one_time_tokens.c.namespace == namespace)
        & (one_time_tokens.c.account_id == account_id)
        & (one_time_tokens.c.purpose == "reset")
        & one_time_tokens.c.used_at.is_(None)
        & (one_time_tokens.c.expires > now)
    )


async def find_live_reset_code(
    conn: Connection, namespace: str, account_id: str, token_hash: str, now: int, max_failures: int
) -> bool:
    """Whether this code of this account is unused, unexpired, and under the failure limit."""
    found = await conn.execute(
        select(one_time_tokens.c.token_hash).where(
            _live_codes_of(namespace, account_id, now),
            one_time_tokens.c.token_hash == token_hash,
            one_time_tokens.c.failures < max_failures,
        )
    )
    return found.first() is not None


async def add_reset_failure(conn: Connection, namespace: str, account_id: str, now: int) -> None:
    """Count a wrong code against the codes live now; a code sent later starts at zero."""
    await conn.execute(
        update(one_time_tokens)
        .where(_live_codes_of(namespace, account_id, now))
        .values(failures=one_time_tokens.c.failures + 1)
    )


async def delete_stale_tokens(conn: Connection, before: int) -> int:
    """Tokens expired before ``before``: kept a while after expiry so that a late click
    on a verification link still finds its failure redirect."""
    result = await conn.execute(delete(one_time_tokens).where(one_time_tokens.c.expires <= before))
    return int(result.rowcount or 0)


# The mail queue ---------------------------------------------------------------------


async def enqueue_mail(conn: Connection, **values: Any) -> None:
    await conn.execute(insert(mail_queue).values(**values))


async def due_mail(conn: Connection, now: int, limit: int) -> list[MailRow]:
    query = (
        select(mail_queue)
        .where((mail_queue.c.next_attempt <= now) | (mail_queue.c.expires <= now))
        .order_by(mail_queue.c.next_attempt, mail_queue.c.created)
        .limit(limit)
    )
    return list(map(MailRow._make, await conn.execute(query)))


async def claim_mail(conn: Connection, id: str, attempts: int, lease_until: int) -> bool:
    """Take a mail for a while (bumping its next attempt), unless another instance did."""
    result = await conn.execute(
        update(mail_queue)
        .where(mail_queue.c.id == id, mail_queue.c.attempts == attempts)
        .values(attempts=attempts + 1, next_attempt=lease_until)
    )
    return bool(result.rowcount)


async def retry_mail(conn: Connection, id: str, next_attempt: int, last_error: str) -> None:
    await conn.execute(
        update(mail_queue)
        .where(mail_queue.c.id == id)
        .values(next_attempt=next_attempt, last_error=last_error[:512])
    )


async def delete_mail(conn: Connection, id: str) -> int:
    result = await conn.execute(delete(mail_queue).where(mail_queue.c.id == id))
    return int(result.rowcount or 0)


async def mail_backlog(conn: Connection) -> int:
    return int((await conn.execute(select(func.count()).select_from(mail_queue))).scalar_one())
