"""external identity providers and the identities linked to accounts

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_providers",
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("authorization_endpoint", sa.Text(), nullable=False),
        sa.Column("token_endpoint", sa.Text(), nullable=False),
        sa.Column("userinfo_endpoint", sa.Text(), nullable=False),
        sa.Column("jwks_uri", sa.Text(), nullable=False),
        sa.Column("client_id", sa.String(length=256), nullable=False),
        sa.Column("kek_id", sa.String(length=64), nullable=False),
        sa.Column("sealed_secret", sa.Text(), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("subject_claim", sa.String(length=64), nullable=False),
        sa.Column("email_claim", sa.String(length=64), nullable=False),
        sa.Column("verified_claim", sa.String(length=64), nullable=False),
        sa.Column("keep_tokens", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("namespace", "id", name=op.f("pk_identity_providers")),
    )
    op.create_table(
        "linked_identities",
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("last_used", sa.BigInteger(), nullable=True),
        sa.Column("kek_id", sa.String(length=64), nullable=True),
        sa.Column("sealed_tokens", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["namespace", "account_id"],
            ["accounts.namespace", "accounts.id"],
            name=op.f("fk_linked_identities_namespace_accounts"),
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["namespace", "provider_id"],
            ["identity_providers.namespace", "identity_providers.id"],
            name=op.f("fk_linked_identities_namespace_identity_providers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "namespace", "provider_id", "subject", name=op.f("pk_linked_identities")
        ),
    )
    op.create_index(
        op.f("ix_linked_identities_namespace_account_id"),
        "linked_identities",
        ["namespace", "account_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_linked_identities_namespace_account_id"), table_name="linked_identities")
    op.drop_table("linked_identities")
    op.drop_table("identity_providers")
