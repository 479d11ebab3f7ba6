"""accounts: ids never reused, look-alike names refused

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

- ``used_account_ids``: every account id ever given, per namespace and kind. Filled
  with the ids of today's accounts and service accounts, and with the ids that the
  outbox or leftover role grants still name (accounts deleted before this revision).
  Role grants and refresh tokens of user accounts that no longer exist are deleted.
- ``accounts.username_skeleton`` / ``accounts.email_skeleton``: the Unicode TS #39
  skeletons, unique per namespace. Backfill in order of creation: when an existing
  row's skeleton collides with an older row's, the older row keeps it and the newer
  one gets NULL (no constraint on it), and a warning names both. Nothing is renamed
  or refused: such an account keeps working, and gets a skeleton again when its
  username or email changes (then unique like everyone's).

Columns are added and unique indexes created in place (no table copy, which on
SQLite would run the foreign keys' ON DELETE CASCADE over sessions and tokens).
"""

import logging

import sqlalchemy as sa
from alembic import op

from micro_user.accounts.confusables import email_skeleton, skeleton

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

_NOT_USED = (
    "NOT EXISTS (SELECT 1 FROM used_account_ids u WHERE u.namespace = {t}.namespace"
    " AND u.account_type = {kind} AND u.id = {t}.{column})"
)


def _backfill_used_ids(conn: sa.Connection) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO used_account_ids (namespace, account_type, id, created) "
            "SELECT namespace, 'user', id, created FROM accounts"
        )
    )
    conn.execute(
        sa.text(
            "INSERT INTO used_account_ids (namespace, account_type, id, created) "
            "SELECT namespace, type, id, created FROM auth_accounts "
            "WHERE " + _NOT_USED.format(t="auth_accounts", kind="auth_accounts.type", column="id")
        )
    )
    for kind, types in (
        ("user", "'account.created', 'account.deleted'"),
        ("service", "'service_account.created', 'service_account.deleted'"),
    ):
        conn.execute(
            sa.text(
                "INSERT INTO used_account_ids (namespace, account_type, id, created) "
                f"SELECT namespace, '{kind}', account_id, MIN(time) FROM events "
                f"WHERE type IN ({types}) AND account_id <> '' AND "
                + _NOT_USED.format(t="events", kind=f"'{kind}'", column="account_id")
                + " GROUP BY namespace, account_id"
            )
        )
    conn.execute(
        sa.text(
            "INSERT INTO used_account_ids (namespace, account_type, id, created) "
            "SELECT namespace, 'user', account_id, MIN(created) FROM role_grants "
            "WHERE account_type = 'user' AND "
            + _NOT_USED.format(t="role_grants", kind="'user'", column="account_id")
            + " GROUP BY namespace, account_id"
        )
    )
    # What deleted user accounts left behind (before this revision, Delete kept it).
    orphan = (
        "account_type = 'user' AND NOT EXISTS (SELECT 1 FROM accounts a "
        "WHERE a.namespace = {t}.namespace AND a.id = {t}.account_id)"
    )
    conn.execute(sa.text("DELETE FROM role_grants WHERE " + orphan.format(t="role_grants")))
    conn.execute(sa.text("DELETE FROM refresh_tokens WHERE " + orphan.format(t="refresh_tokens")))


def _backfill_skeletons(conn: sa.Connection) -> None:
    rows = conn.execute(
        sa.text("SELECT namespace, id, username, email FROM accounts ORDER BY created, id")
    ).all()
    taken: dict[tuple[str, str, str], str] = {}
    for namespace, account_id, username, email in rows:
        values: dict[str, str | None] = {}
        for column, name, make in (
            ("username_skeleton", username, skeleton),
            ("email_skeleton", email, email_skeleton),
        ):
            if not name:
                values[column] = None
                continue
            key = (namespace, column, make(name))
            holder = taken.setdefault(key, account_id)
            if holder == account_id:
                values[column] = key[2]
            else:
                values[column] = None
                log.warning(
                    "account %r in namespace %r: its %s looks like that of the older account "
                    "%r; it keeps working, without a skeleton, until it changes",
                    account_id,
                    namespace,
                    column.removesuffix("_skeleton"),
                    holder,
                )
        conn.execute(
            sa.text(
                "UPDATE accounts SET username_skeleton = :username_skeleton, "
                "email_skeleton = :email_skeleton WHERE namespace = :namespace AND id = :id"
            ),
            {**values, "namespace": namespace, "id": account_id},
        )


def upgrade() -> None:
    op.create_table(
        "used_account_ids",
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("account_type", sa.String(length=16), nullable=False),
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "namespace", "account_type", "id", name=op.f("pk_used_account_ids")
        ),
    )
    op.add_column("accounts", sa.Column("username_skeleton", sa.Text(), nullable=True))
    op.add_column("accounts", sa.Column("email_skeleton", sa.Text(), nullable=True))
    conn = op.get_bind()
    _backfill_used_ids(conn)
    _backfill_skeletons(conn)
    op.create_index(
        op.f("ix_accounts_namespace_username_skeleton"),
        "accounts",
        ["namespace", "username_skeleton"],
        unique=True,
    )
    op.create_index(
        op.f("ix_accounts_namespace_email_skeleton"),
        "accounts",
        ["namespace", "email_skeleton"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_accounts_namespace_email_skeleton"), table_name="accounts")
    op.drop_index(op.f("ix_accounts_namespace_username_skeleton"), table_name="accounts")
    # In place (SQLite 3.35+ drops a column itself): a batch copy of the table would cascade
    # the deletion of the old table to sessions and tokens.
    op.drop_column("accounts", "email_skeleton")
    op.drop_column("accounts", "username_skeleton")
    op.drop_table("used_account_ids")
