"""users search url

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("widgets") as batch:
        batch.add_column(sa.Column("users_search_url", sa.String(length=2048), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("widgets") as batch:
        batch.drop_column("users_search_url")
