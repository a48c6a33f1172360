"""copy_progress: how far ``imbachat copy-db`` or ``imbachat restore`` got, per table

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "copy_progress",
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=2048), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("last_key", sa.Text()),
        sa.Column("rows_copied", sa.BigInteger(), nullable=False),
        sa.Column("fingerprint", sa.Text()),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("table_name", name="pk_copy_progress"),
    )


def downgrade() -> None:
    op.drop_table("copy_progress")
