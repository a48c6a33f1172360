"""notifications: members mute a room's alerts, users choose e-mails, widgets' sound,
away delay and e-mail link

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("widgets") as batch:
        batch.add_column(
            sa.Column("notify_sound", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column("away_notify_seconds", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("email_link_url", sa.String(length=2048), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("email_notify", sa.String(length=16), nullable=False, server_default="all")
        )
    with op.batch_alter_table("members") as batch:
        batch.add_column(
            sa.Column("alerts_muted", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_column("alerts_muted")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_notify")
    with op.batch_alter_table("widgets") as batch:
        batch.drop_column("email_link_url")
        batch.drop_column("away_notify_seconds")
        batch.drop_column("notify_sound")
