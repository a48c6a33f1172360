"""files: uploads, messages' attachments, widgets' file settings and usage

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("widgets") as batch:
        batch.add_column(sa.Column("file_types", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("files_quota_bytes", sa.BigInteger(), nullable=True))
        batch.add_column(
            sa.Column("files_bytes", sa.BigInteger(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("attachments", sa.Text(), nullable=True))
    op.create_table(
        "files",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column(
            "imba_id",
            sa.BigInteger(),
            sa.ForeignKey("widgets.imba_id", name="fk_files_imba_id_widgets"),
            nullable=False,
        ),
        sa.Column(
            "uploader_id",
            Id,
            sa.ForeignKey("users.id", name="fk_files_uploader_id_users"),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("thumbnail_key", sa.String(length=255), nullable=True),
        sa.Column("thumbnail_type", sa.String(length=32), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column(
            "message_id",
            Id,
            sa.ForeignKey("messages.id", name="fk_files_message_id_messages"),
            nullable=True,
        ),
        sa.Column(
            "room_id", Id, sa.ForeignKey("rooms.id", name="fk_files_room_id_rooms"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_files"),
    )
    op.create_index("ix_files_message_id", "files", ["message_id"])
    op.create_index("ix_files_created_at", "files", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_files_created_at", table_name="files")
    op.drop_index("ix_files_message_id", table_name="files")
    op.drop_table("files")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("attachments")
    with op.batch_alter_table("widgets") as batch:
        batch.drop_column("files_bytes")
        batch.drop_column("files_quota_bytes")
        batch.drop_column("file_types")
