"""guests: visitors without a host-site account

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("widgets") as batch:
        batch.add_column(
            sa.Column("guests_enabled", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(
            sa.Column(
                "guests_write_public", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("widgets") as batch:
        batch.drop_column("guests_write_public")
        batch.drop_column("guests_enabled")
