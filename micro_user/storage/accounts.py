"""Account and session rows: the only code that writes SQL for them."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import orjson
from sqlalchemy import BigInteger, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from micro_user.accounts.confusables import email_skeleton, skeleton
from micro_user.accounts.models import Account, Session
from micro_user.storage import auth as auth_repo
from micro_user.storage.database import Connection
from micro_user.storage.tables import (
    accounts,
    one_time_tokens,
    refresh_tokens,
    sessions,
    used_account_ids,
)

USER = "user"

ACCOUNT_COLUMNS = (
    accounts.c.namespace,
    accounts.c.id,
    accounts.c.username,
    accounts.c.email,
    accounts.c.created,
    accounts.c.updated,
    accounts.c.verified,
    accounts.c.verification_date,
    accounts.c.profile,
)


def unique_violation(exc: IntegrityError) -> str | None:
    """Which account field a failed insert or update collided on: 'id', 'username' or 'email'."""
    orig: Any = exc.orig
    diag = getattr(orig, "diag", None)
    text = (getattr(diag, "constraint_name", None) or str(orig)).lower()
    if not any(mark in text for mark in ("unique", "pk_", "uq_", "_skeleton")):
        return None
    if "used_account_ids" in text:
        return "id"
    if "email" in text:
        return "email"
    if "username" in text:
        return "username"
    if "pk_accounts" in text or "accounts.id" in text:
        return "id"
    return None


def row_to_account(row: Any) -> Account:
    return Account(
        namespace=row.namespace,
        id=row.id,
        username=row.username or "",
        email=row.email,
        created=row.created,
        updated=row.updated,
        verified=bool(row.verified),
        verification_date=row.verification_date,
        profile=orjson.loads(row.profile),
    )


def encode_profile(profile: dict[str, str]) -> str:
    return orjson.dumps(profile, option=orjson.OPT_SORT_KEYS).decode()


def _account_row(account: Account, password_hash: str) -> dict[str, Any]:
    return {
        "namespace": account.namespace,
        "id": account.id,
        "username": account.username or None,
        "email": account.email,
        "password_hash": password_hash,
        "created": account.created,
        "updated": account.updated,
        "verified": account.verified,
        "verification_date": account.verification_date,
        "profile": encode_profile(account.profile),
        "username_skeleton": skeleton(account.username) if account.username else None,
        "email_skeleton": email_skeleton(account.email),
    }


def _used_id_row(account: Account) -> dict[str, Any]:
    return {
        "namespace": account.namespace,
        "account_type": USER,
        "id": account.id,
        "created": account.created,
    }


# Statements on the hot paths (Login, Read, ReadSession) are built once, with bound
# parameters: building and cache-keying a statement costs more than SQLite takes to run it.
_INSERT_ACCOUNT = insert(accounts)
_INSERT_USED_ID = insert(used_account_ids)
_INSERT_SESSION = insert(sessions)


def _by_key(*columns: Any) -> dict[str, Any]:
    """One SELECT of ``columns`` per way of naming an account: by id, username or email."""
    return {
        key: select(*columns).where(
            accounts.c.namespace == bindparam("namespace"), accounts.c[key] == bindparam("value")
        )
        for key in ("id", "username", "email")
    }


_FIND_ACCOUNT = _by_key(*ACCOUNT_COLUMNS)
_FIND_CREDENTIALS = _by_key(*ACCOUNT_COLUMNS, accounts.c.password_hash)


def _live_session(in_namespace: bool) -> Any:
    query = (
        select(sessions.c.created.label("s_created"), sessions.c.expires, *ACCOUNT_COLUMNS)
        .join(
            accounts,
            and_(
                accounts.c.namespace == sessions.c.namespace,
                accounts.c.id == sessions.c.account_id,
            ),
        )
        .where(
            sessions.c.token_hash == bindparam("token_hash"),
            sessions.c.expires > bindparam("now", type_=BigInteger),
        )
    )
    return query.where(sessions.c.namespace == bindparam("namespace")) if in_namespace else query


_FIND_SESSION = {True: _live_session(True), False: _live_session(False)}


def _key_params(namespace: str, id: str, username: str, email: str) -> tuple[str, dict[str, str]]:
    key, value = ("id", id) if id else ("username", username) if username else ("email", email)
    return key, {"namespace": namespace, "value": value}


async def insert_account(conn: Connection, account: Account, password_hash: str) -> None:
    """The account, and its id among the ids ever used: an IntegrityError (mapped to 'id')
    when an account has or had this id."""
    await conn.execute(_INSERT_USED_ID, _used_id_row(account))
    await conn.execute(_INSERT_ACCOUNT, _account_row(account, password_hash))


async def insert_accounts(conn: Connection, items: list[tuple[Account, str]]) -> None:
    """Many accounts in one statement (imports)."""
    await conn.execute(insert(used_account_ids), [_used_id_row(a) for a, _ in items])
    await conn.execute(insert(accounts), [_account_row(a, h) for a, h in items])


def _by_id(namespace: str, id: str) -> Any:
    return and_(accounts.c.namespace == namespace, accounts.c.id == id)


async def find_account(
    conn: Connection, namespace: str, *, id: str = "", username: str = "", email: str = ""
) -> Account | None:
    key, params = _key_params(namespace, id, username, email)
    row = (await conn.execute(_FIND_ACCOUNT[key], params)).first()
    return row_to_account(row) if row else None


async def find_credentials(
    conn: Connection, namespace: str, *, id: str = "", username: str = "", email: str = ""
) -> tuple[Account, str] | None:
    key, params = _key_params(namespace, id, username, email)
    row = (await conn.execute(_FIND_CREDENTIALS[key], params)).first()
    return (row_to_account(row), row.password_hash) if row else None


async def list_accounts(conn: Connection, namespace: str, offset: int, limit: int) -> list[Account]:
    rows = await conn.execute(
        select(*ACCOUNT_COLUMNS)
        .where(accounts.c.namespace == namespace)
        .order_by(accounts.c.created, accounts.c.id)
        .offset(offset)
        .limit(limit)
    )
    return [row_to_account(row) for row in rows]


async def iter_accounts_with_hashes(
    conn: Connection, namespace: str | None
) -> AsyncIterator[tuple[Account, str]]:
    query = select(*ACCOUNT_COLUMNS, accounts.c.password_hash).order_by(
        accounts.c.namespace, accounts.c.created, accounts.c.id
    )
    if namespace:
        query = query.where(accounts.c.namespace == namespace)
    result = await conn.stream(query)
    async for row in result:
        yield row_to_account(row), row.password_hash


async def count_accounts(conn: Connection, namespace: str) -> int:
    return int(
        (
            await conn.execute(
                select(func.count()).select_from(accounts).where(accounts.c.namespace == namespace)
            )
        ).scalar_one()
    )


async def update_account(conn: Connection, namespace: str, id: str, **values: Any) -> bool:
    if "profile" in values:
        values["profile"] = encode_profile(values["profile"])
    if "username" in values:
        values["username"] = values["username"] or None
        values["username_skeleton"] = skeleton(values["username"]) if values["username"] else None
    if "email" in values:
        values["email_skeleton"] = email_skeleton(values["email"])
    result = await conn.execute(update(accounts).where(_by_id(namespace, id)).values(**values))
    return bool(result.rowcount)


async def set_password_hash(
    conn: Connection,
    namespace: str,
    id: str,
    password_hash: str,
    *,
    updated: int | None = None,
    only_if: str | None = None,
) -> bool:
    """Store a new hash; with ``only_if``, only while the stored hash is still that one
    (a rehash on login must not overwrite a password changed meanwhile)."""
    clause = _by_id(namespace, id)
    if only_if is not None:
        clause = and_(clause, accounts.c.password_hash == only_if)
    values: dict[str, Any] = {"password_hash": password_hash}
    if updated is not None:
        values["updated"] = updated
    result = await conn.execute(update(accounts).where(clause).values(**values))
    return bool(result.rowcount)


async def delete_account(conn: Connection, namespace: str, id: str) -> bool:
    """The account row with its sessions (ended, so that tokens minted from them are
    revoked) and pending emailed tokens (verification links, reset codes, magic links):
    deleted explicitly as well as by the foreign keys' cascade, so that the result never
    depends on a pragma. Its id stays in ``used_account_ids``. (Grants and refresh tokens are
    the auth store's: see ``AccountService.delete``.)"""
    await end_sessions(conn, _session_owner(namespace, id))
    await conn.execute(
        delete(one_time_tokens).where(
            one_time_tokens.c.namespace == namespace, one_time_tokens.c.account_id == id
        )
    )
    result = await conn.execute(delete(accounts).where(_by_id(namespace, id)))
    return bool(result.rowcount)


def _session_owner(namespace: str, account_id: str) -> Any:
    return and_(sessions.c.namespace == namespace, sessions.c.account_id == account_id)


async def insert_session(conn: Connection, token_hash: str, session: Session) -> None:
    await conn.execute(
        _INSERT_SESSION,
        {
            "token_hash": token_hash,
            "namespace": session.namespace,
            "account_id": session.account_id,
            "created": session.created,
            "expires": session.expires,
            "sid": secrets.token_hex(16),
            "amr": session.amr,
        },
    )


async def session_sid(conn: Connection, token_hash: str) -> str | None:
    """The public handle of a session (the ``sid`` claim of the tokens minted from it)."""
    value = (
        await conn.execute(select(sessions.c.sid).where(sessions.c.token_hash == token_hash))
    ).scalar()
    return None if value is None else str(value)


async def end_sessions(conn: Connection, where: Any) -> list[str]:
    """End the sessions ``where`` selects, and refuse every access token minted from them
    (their ``sid``) for as long as one can be valid: the one way a session ends before its
    time, whatever ends it (Logout, LogoutAll, a password reset or set, an operator's
    revocation, the account's deletion). Returns the accounts of the ended sessions."""
    minted = {
        row.sid: int(row.latest)
        for row in await conn.execute(
            select(sessions.c.sid, func.max(refresh_tokens.c.access_expires).label("latest"))
            .select_from(
                sessions.join(
                    refresh_tokens, refresh_tokens.c.session_hash == sessions.c.token_hash
                )
            )
            .where(where, refresh_tokens.c.access_expires.is_not(None))
            .group_by(sessions.c.sid)
        )
        if row.sid and row.latest
    }
    ended = list(
        await conn.execute(
            delete(sessions)
            .where(where)
            .returning(sessions.c.namespace, sessions.c.account_id, sessions.c.sid)
        )
    )
    # Only what this transaction deleted: of two racing ends of one session, one records it.
    revoked = [row for row in ended if row.sid in minted]
    for row in revoked:
        await auth_repo.record_revocation(
            conn, row.namespace, auth_repo.SID, row.sid, minted[row.sid]
        )
    if revoked:
        await auth_repo.bump_version(conn)
    return [str(row.account_id) for row in ended]


async def find_session(
    conn: Connection, namespace: str | None, token_hash: str, now: int
) -> tuple[int, int, Account] | None:
    """The live session with this hash and its account: (created, expires, account).
    With ``namespace`` None, in whichever namespace it is."""
    params: dict[str, Any] = {"token_hash": token_hash, "now": now}
    if namespace is not None:
        params["namespace"] = namespace
    row = (await conn.execute(_FIND_SESSION[namespace is not None], params)).first()
    return (row.s_created, row.expires, row_to_account(row)) if row else None


async def delete_session(conn: Connection, namespace: str, token_hash: str, now: int) -> str | None:
    """End a live session; the account it belonged to, or None if there was none."""
    ended = await end_sessions(
        conn,
        and_(
            sessions.c.token_hash == token_hash,
            sessions.c.namespace == namespace,
            sessions.c.expires > now,
        ),
    )
    return ended[0] if ended else None


async def delete_sessions_of(conn: Connection, namespace: str, account_id: str) -> int:
    return len(await end_sessions(conn, _session_owner(namespace, account_id)))


async def list_sessions(
    conn: Connection, namespace: str, account_id: str | None, now: int
) -> list[tuple[str, str, int, int]]:
    """Live sessions as (token_hash, account_id, created, expires), newest first."""
    query = select(
        sessions.c.token_hash, sessions.c.account_id, sessions.c.created, sessions.c.expires
    ).where(sessions.c.namespace == namespace, sessions.c.expires > now)
    if account_id:
        query = query.where(sessions.c.account_id == account_id)
    rows = await conn.execute(query.order_by(sessions.c.created.desc()))
    return [(row.token_hash, row.account_id, row.created, row.expires) for row in rows]


async def revoke_sessions_by_prefix(
    conn: Connection, namespace: str, hash_prefix: str
) -> list[str]:
    """End the sessions whose hash starts so; the accounts they belonged to."""
    return await end_sessions(
        conn,
        and_(
            sessions.c.namespace == namespace,
            sessions.c.token_hash.startswith(hash_prefix, autoescape=True),
        ),
    )


async def delete_expired_sessions(conn: Connection, now: int) -> int:
    result = await conn.execute(delete(sessions).where(sessions.c.expires <= now))
    return int(result.rowcount or 0)
