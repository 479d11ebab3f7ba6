"""readiness probe row, and an index for pruning events past their retention

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "probes",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_probes")),
    )
    op.create_index(op.f("ix_events_time"), "events", ["time"])


def downgrade() -> None:
    op.drop_index("ix_events_time", table_name="events")
    op.drop_table("probes")
