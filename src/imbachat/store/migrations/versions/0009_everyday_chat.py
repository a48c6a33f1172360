"""Everyday chat: reactions, mentions, blocks, reports and pinned messages

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def _fk(table: str, column: str, target: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{target}.id", name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("reactions", sa.Text()))
        batch.add_column(sa.Column("mentions", sa.Text()))
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("pinned_message_id", Id))
    op.create_table(
        "reactions",
        sa.Column("message_id", Id, _fk("reactions", "message_id", "messages"), nullable=False),
        sa.Column("user_id", Id, _fk("reactions", "user_id", "users"), nullable=False),
        sa.Column("emoji", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", "user_id", "emoji", name="pk_reactions"),
    )
    op.create_table(
        "mentions",
        sa.Column("user_id", Id, _fk("mentions", "user_id", "users"), nullable=False),
        sa.Column("room_id", Id, _fk("mentions", "room_id", "rooms"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("message_id", Id, _fk("mentions", "message_id", "messages"), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "room_id", "seq", name="pk_mentions"),
    )
    op.create_index("ix_mentions_message_id", "mentions", ["message_id"])
    op.create_table(
        "blocks",
        sa.Column("blocker_id", Id, _fk("blocks", "blocker_id", "users"), nullable=False),
        sa.Column("blocked_id", Id, _fk("blocks", "blocked_id", "users"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("blocker_id", "blocked_id", name="pk_blocks"),
    )
    op.create_index("ix_blocks_blocked_id", "blocks", ["blocked_id"])
    op.create_table(
        "reports",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("imba_id", sa.BigInteger(), nullable=False),
        sa.Column("room_id", Id, _fk("reports", "room_id", "rooms"), nullable=False),
        sa.Column("message_id", Id, _fk("reports", "message_id", "messages"), nullable=False),
        sa.Column("reporter_id", Id, _fk("reports", "reporter_id", "users"), nullable=False),
        sa.Column("author_id", Id, _fk("reports", "author_id", "users"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16)),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime()),
        sa.UniqueConstraint("message_id", "reporter_id", name="uq_reports_message_id_reporter_id"),
    )
    op.create_index("ix_reports_imba_id_status_id", "reports", ["imba_id", "status", "id"])
    op.create_index("ix_reports_room_id_status", "reports", ["room_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_reports_room_id_status", table_name="reports")
    op.drop_index("ix_reports_imba_id_status_id", table_name="reports")
    op.drop_table("reports")
    op.drop_index("ix_blocks_blocked_id", table_name="blocks")
    op.drop_table("blocks")
    op.drop_index("ix_mentions_message_id", table_name="mentions")
    op.drop_table("mentions")
    op.drop_table("reactions")
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("pinned_message_id")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("mentions")
        batch.drop_column("reactions")
