"""widgets.allowed_origins: the host pages a widget may be used from

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("widgets") as batch:
        batch.add_column(sa.Column("allowed_origins", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("widgets") as batch:
        batch.drop_column("allowed_origins")
