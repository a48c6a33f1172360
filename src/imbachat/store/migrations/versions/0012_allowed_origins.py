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


# Plain ALTER TABLE, not a batch: SQLite (3.35+) drops a plain column in place, where
# a batch would copy the table and drop the old one, which the foreign keys of every
# other table to widgets refuse.
def upgrade() -> None:
    op.add_column("widgets", sa.Column("allowed_origins", sa.Text()))


def downgrade() -> None:
    op.drop_column("widgets", "allowed_origins")
