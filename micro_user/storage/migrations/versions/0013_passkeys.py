"""passkeys: WebAuthn credentials, and the challenges answered already

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "passkeys",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("credential_id", sa.String(length=1400), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("user_handle", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("transports", sa.String(length=128), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("last_used", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["namespace", "account_id"],
            ["accounts.namespace", "accounts.id"],
            name=op.f("fk_passkeys_namespace_accounts"),
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passkeys")),
        sa.UniqueConstraint(
            "namespace", "credential_id", name=op.f("uq_passkeys_namespace_credential_id")
        ),
    )
    op.create_index(
        op.f("ix_passkeys_namespace_account_id"),
        "passkeys",
        ["namespace", "account_id"],
        unique=False,
    )
    op.create_table(
        "spent_challenges",
        sa.Column("challenge_hash", sa.String(length=64), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("challenge_hash", name=op.f("pk_spent_challenges")),
    )
    op.create_index(
        op.f("ix_spent_challenges_expires"), "spent_challenges", ["expires"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_spent_challenges_expires"), table_name="spent_challenges")
    op.drop_table("spent_challenges")
    op.drop_index(op.f("ix_passkeys_namespace_account_id"), table_name="passkeys")
    op.drop_table("passkeys")
