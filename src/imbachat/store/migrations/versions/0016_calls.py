"""Calls in dialogs: calls (one row per call), call_parties (who is in a call now,
from which socket), messages.call (a call's record in its dialog)

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def _fk(table: str, column: str, target: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{target}.id", name=f"fk_{table}_{column}_{target}")


# messages.call with a plain ALTER TABLE, not a batch (see 0012): the foreign keys of
# other tables to messages refuse the copy a batch would make.
def upgrade() -> None:
    op.add_column("messages", sa.Column("call", sa.Text()))
    op.create_table(
        "calls",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("imba_id", sa.BigInteger(), nullable=False),
        sa.Column("room_id", Id, _fk("calls", "room_id", "rooms"), nullable=False),
        sa.Column("caller_id", Id, _fk("calls", "caller_id", "users"), nullable=False),
        sa.Column("callee_id", Id, _fk("calls", "callee_id", "users"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16)),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("answered_at", sa.DateTime()),
        sa.Column("ended_at", sa.DateTime()),
    )
    op.create_index("ix_calls_state_started_at", "calls", ["state", "started_at"])
    op.create_index("ix_calls_room_id_id", "calls", ["room_id", "id"])
    op.create_table(
        "call_parties",
        sa.Column("user_id", Id, _fk("call_parties", "user_id", "users"), nullable=False),
        sa.Column("call_id", Id, _fk("call_parties", "call_id", "calls"), nullable=False),
        sa.Column("socket", sa.String(length=64)),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_call_parties"),
    )
    op.create_index("ix_call_parties_call_id", "call_parties", ["call_id"])
    op.create_index("ix_call_parties_socket", "call_parties", ["socket"])


def downgrade() -> None:
    op.drop_index("ix_call_parties_socket", table_name="call_parties")
    op.drop_index("ix_call_parties_call_id", table_name="call_parties")
    op.drop_table("call_parties")
    op.drop_index("ix_calls_room_id_id", table_name="calls")
    op.drop_index("ix_calls_state_started_at", table_name="calls")
    op.drop_table("calls")
    op.drop_column("messages", "call")
