"""token revocation: session handles (sid), the access token each refresh row minted,
and revocation records by jti, sid or sub

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sid", sa.String(length=32), nullable=True))
    # Every live session gets its public handle now, so that every token minted from it has one.
    conn = op.get_bind()
    sessions = sa.table("sessions", sa.column("token_hash"), sa.column("sid"))
    for (token_hash,) in list(conn.execute(sa.select(sessions.c.token_hash))):
        conn.execute(
            sessions.update()
            .where(sessions.c.token_hash == token_hash)
            .values(sid=secrets.token_hex(16))
        )
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sid", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("access_jti", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("access_expires", sa.BigInteger(), nullable=True))

    op.create_table(
        "revocations",
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("namespace", "kind", "value", name=op.f("pk_revocations")),
    )
    with op.batch_alter_table("revocations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_revocations_expires"), ["expires"], unique=False)
    # Revoked jtis of before: their namespace is not known (listed for no issuer, refused
    # by the server all the same until they expire).
    revoked = sa.table("revoked_tokens", sa.column("jti"), sa.column("expires"))
    rows = list(conn.execute(sa.select(revoked.c.jti, revoked.c.expires)))
    if rows:
        conn.execute(
            sa.table(
                "revocations",
                sa.column("namespace"),
                sa.column("kind"),
                sa.column("value"),
                sa.column("expires"),
            ).insert(),
            [{"namespace": "", "kind": "jti", "value": jti, "expires": exp} for jti, exp in rows],
        )
    with op.batch_alter_table("revoked_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revoked_tokens_expires"))
    op.drop_table("revoked_tokens")


def downgrade() -> None:
    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_revoked_tokens")),
    )
    with op.batch_alter_table("revoked_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_revoked_tokens_expires"), ["expires"], unique=False)
    with op.batch_alter_table("revocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revocations_expires"))
    op.drop_table("revocations")
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.drop_column("access_expires")
        batch_op.drop_column("access_jti")
        batch_op.drop_column("sid")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("sid")
