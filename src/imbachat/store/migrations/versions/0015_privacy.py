"""widgets.retention_days: messages older than this many days are deleted;
users.erased_at: the user was erased on request (their row stays as a tombstone)

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not a batch (see 0012): the foreign keys to widgets and users
# refuse the copy a batch would make.
def upgrade() -> None:
    op.add_column("widgets", sa.Column("retention_days", sa.Integer()))
    op.add_column("users", sa.Column("erased_at", sa.DateTime()))


def downgrade() -> None:
    op.drop_column("users", "erased_at")
    op.drop_column("widgets", "retention_days")
