"""appearance: the widget's theme and accent colour

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("widgets") as batch:
        batch.add_column(
            sa.Column("theme", sa.String(length=8), nullable=False, server_default="auto")
        )
        batch.add_column(sa.Column("accent_color", sa.String(length=7), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("widgets") as batch:
        batch.drop_column("accent_color")
        batch.drop_column("theme")
