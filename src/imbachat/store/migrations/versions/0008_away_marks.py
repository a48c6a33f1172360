"""away_marks: until when each user's unread messages were told of; rooms by their
latest message, across widgets; the widget's language (of its e-mails)

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "away_marks",
        sa.Column(
            "user_id",
            Id,
            sa.ForeignKey("users.id", name="fk_away_marks_user_id_users"),
            nullable=False,
        ),
        sa.Column("covered_until", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_away_marks"),
    )
    op.create_index("ix_rooms_last_message_at", "rooms", ["last_message_at"])
    with op.batch_alter_table("widgets") as batch:
        batch.add_column(
            sa.Column("language", sa.String(length=8), nullable=False, server_default="en")
        )


def downgrade() -> None:
    with op.batch_alter_table("widgets") as batch:
        batch.drop_column("language")
    op.drop_index("ix_rooms_last_message_at", table_name="rooms")
    op.drop_table("away_marks")
