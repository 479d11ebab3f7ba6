"""key encryption: private signing keys are sealed with a key held outside the database

Existing keys stay plaintext (``kek_id`` NULL) until the next start seals them: the
migration does not know the key-encryption key.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kek_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.drop_column("kek_id")
