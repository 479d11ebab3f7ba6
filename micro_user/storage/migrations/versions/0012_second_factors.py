"""second factors: TOTP authenticators, recovery codes, and who must have one

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "totp_factors",
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("kek_id", sa.String(length=64), nullable=False),
        sa.Column("sealed_secret", sa.Text(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("confirmed", sa.BigInteger(), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["namespace", "account_id"],
            ["accounts.namespace", "accounts.id"],
            name=op.f("fk_totp_factors_namespace_accounts"),
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.PrimaryKeyConstraint("namespace", "account_id", name=op.f("pk_totp_factors")),
    )
    op.create_table(
        "factor_policies",
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("required", sa.String(length=16), nullable=False),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("namespace", name=op.f("pk_factor_policies")),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["namespace", "account_id"],
            ["accounts.namespace", "accounts.id"],
            name=op.f("fk_recovery_codes_namespace_accounts"),
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_recovery_codes")),
    )
    op.create_index(
        op.f("ix_recovery_codes_namespace_account_id"),
        "recovery_codes",
        ["namespace", "account_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_recovery_codes_namespace_account_id"), table_name="recovery_codes")
    op.drop_table("recovery_codes")
    op.drop_table("totp_factors")
    op.drop_table("factor_policies")
