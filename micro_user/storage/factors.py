"""Rows of the second factors (``factors/service.py``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, and_, delete, func, insert, select, update

from micro_user.storage.database import Connection
from micro_user.storage.rows import TotpRow
from micro_user.storage.tables import factor_policies, recovery_codes, totp_factors


def _of(table: Table, namespace: str, account_id: str) -> Any:
    return and_(table.c.namespace == namespace, table.c.account_id == account_id)


async def find_totp(conn: Connection, namespace: str, account_id: str) -> TotpRow | None:
    row = (
        await conn.execute(select(totp_factors).where(_of(totp_factors, namespace, account_id)))
    ).first()
    return None if row is None else TotpRow._make(row)


async def save_totp(
    conn: Connection, namespace: str, account_id: str, kek_id: str, sealed: str, now: int
) -> None:
    """A new secret not yet in force, in place of one not yet in force."""
    await conn.execute(delete(totp_factors).where(_of(totp_factors, namespace, account_id)))
    await conn.execute(
        insert(totp_factors).values(
            namespace=namespace,
            account_id=account_id,
            kek_id=kek_id,
            sealed_secret=sealed,
            created=now,
            confirmed=None,
            last_step=0,
        )
    )


async def confirm_totp(
    conn: Connection, namespace: str, account_id: str, now: int, step: int
) -> None:
    await conn.execute(
        update(totp_factors)
        .where(_of(totp_factors, namespace, account_id))
        .values(confirmed=now, last_step=step)
    )


async def advance_step(conn: Connection, namespace: str, account_id: str, step: int) -> bool:
    """Spend a step's code: False when this step or a later one was used already."""
    result = await conn.execute(
        update(totp_factors)
        .where(_of(totp_factors, namespace, account_id), totp_factors.c.last_step < step)
        .values(last_step=step)
    )
    return bool(result.rowcount)


async def replace_recovery_codes(
    conn: Connection, namespace: str, account_id: str, hashes: list[str]
) -> None:
    await conn.execute(delete(recovery_codes).where(_of(recovery_codes, namespace, account_id)))
    for code_hash in hashes:
        await conn.execute(
            insert(recovery_codes).values(
                namespace=namespace, account_id=account_id, code_hash=code_hash, used=None
            )
        )


async def spend_recovery_code(
    conn: Connection, namespace: str, account_id: str, code_hash: str, now: int
) -> bool:
    result = await conn.execute(
        update(recovery_codes)
        .where(
            _of(recovery_codes, namespace, account_id),
            recovery_codes.c.code_hash == code_hash,
            recovery_codes.c.used.is_(None),
        )
        .values(used=now)
    )
    return bool(result.rowcount)


async def count_recovery_codes(conn: Connection, namespace: str, account_id: str) -> int:
    value = (
        await conn.execute(
            select(func.count()).where(
                _of(recovery_codes, namespace, account_id), recovery_codes.c.used.is_(None)
            )
        )
    ).scalar()
    return int(value or 0)


async def delete_factors(
    conn: Connection, namespace: str, account_id: str, *, keep_codes: bool = False
) -> bool:
    """Remove the authenticator app and (unless ``keep_codes``, for an account that keeps
    another factor) the recovery codes; whether there was an authenticator."""
    removed = await conn.execute(
        delete(totp_factors).where(_of(totp_factors, namespace, account_id))
    )
    if not keep_codes:
        await conn.execute(delete(recovery_codes).where(_of(recovery_codes, namespace, account_id)))
    return bool(removed.rowcount)


async def all_totp(conn: Connection) -> list[TotpRow]:
    return [TotpRow._make(row) for row in await conn.execute(select(totp_factors))]


async def reseal_totp(
    conn: Connection, namespace: str, account_id: str, kek_id: str, sealed: str
) -> None:
    await conn.execute(
        update(totp_factors)
        .where(_of(totp_factors, namespace, account_id))
        .values(kek_id=kek_id, sealed_secret=sealed)
    )


async def find_policy(conn: Connection, namespace: str) -> tuple[str, str] | None:
    row = (
        await conn.execute(
            select(factor_policies.c.required, factor_policies.c.roles).where(
                factor_policies.c.namespace == namespace
            )
        )
    ).first()
    return None if row is None else (str(row.required), str(row.roles))


async def save_policy(
    conn: Connection, namespace: str, required: str, roles: str, now: int
) -> None:
    await conn.execute(delete(factor_policies).where(factor_policies.c.namespace == namespace))
    await conn.execute(
        insert(factor_policies).values(
            namespace=namespace, required=required, roles=roles, updated=now
        )
    )
