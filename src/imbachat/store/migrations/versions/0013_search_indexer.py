"""SQLite's message search index filled behind the writer, not in its commit

Revision ID: 0013
Revises: 0012

Migration 0010 indexed each new message in a trigger, inside the writer's commit:
that cost the send path about 0.7 ms at p50 and 5 ms at p99 (bench/README.md,
"Search and the send path"). Now ``store.search_index`` indexes new messages in
transactions of its own, in order of id, and remembers how far it got in
``message_search_state``; the update and delete triggers touch only what it has
indexed (a contentless FTS5 table must never be told to forget a row it does not
hold). PostgreSQL keeps its GIN index current itself: nothing changes there.
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_INDEXED = "old.id <= (SELECT indexed_up_to FROM message_search_state)"
_HIGHEST = "(SELECT coalesce(max(id), 0) FROM messages)"

_SQLITE_UP = [
    "DROP TRIGGER message_search_insert",
    "DROP TRIGGER message_search_update",
    "DROP TRIGGER message_search_delete",
    # One row: every message with an id up to this one has been indexed (if live).
    "CREATE TABLE message_search_state (indexed_up_to INTEGER NOT NULL)",
    f"INSERT INTO message_search_state (indexed_up_to) SELECT {_HIGHEST}",
    "CREATE TRIGGER message_search_update AFTER UPDATE OF body, deleted_at, room_id ON messages"
    f" WHEN {_INDEXED} BEGIN"
    " INSERT INTO message_search (message_search, rowid, body, room)"
    " SELECT 'delete', old.id, old.body, 'rid' || old.room_id WHERE old.deleted_at IS NULL;"
    " INSERT INTO message_search (rowid, body, room)"
    " SELECT new.id, new.body, 'rid' || new.room_id WHERE new.deleted_at IS NULL;"
    " END",
    "CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN"
    " INSERT INTO message_search (message_search, rowid, body, room)"
    " SELECT 'delete', old.id, old.body, 'rid' || old.room_id WHERE old.deleted_at IS NULL"
    " AND old.id <= (SELECT indexed_up_to FROM message_search_state);"
    # messages.id has no AUTOINCREMENT: a new row takes the largest id left plus one,
    # so once the newest messages are deleted their ids come back, and the mark
    # must step back below them or those new messages would never be indexed.
    " UPDATE message_search_state SET indexed_up_to = (SELECT coalesce(max(id), 0) FROM messages)"
    " WHERE indexed_up_to > (SELECT coalesce(max(id), 0) FROM messages);"
    " END",
]

_SQLITE_DOWN = [
    "DROP TRIGGER message_search_delete",
    "DROP TRIGGER message_search_update",
    "DROP TABLE message_search_state",
    # 0010's triggers, over an index rebuilt from scratch (the new messages in it
    # may not all have been indexed yet).
    "INSERT INTO message_search (message_search) VALUES ('delete-all')",
    "INSERT INTO message_search (rowid, body, room)"
    " SELECT id, body, 'rid' || room_id FROM messages WHERE deleted_at IS NULL",
    "CREATE TRIGGER message_search_insert AFTER INSERT ON messages"
    " WHEN new.deleted_at IS NULL BEGIN"
    " INSERT INTO message_search (rowid, body, room)"
    " VALUES (new.id, new.body, 'rid' || new.room_id);"
    " END",
    "CREATE TRIGGER message_search_update AFTER UPDATE OF body, deleted_at, room_id ON messages"
    " BEGIN"
    " INSERT INTO message_search (message_search, rowid, body, room)"
    " SELECT 'delete', old.id, old.body, 'rid' || old.room_id WHERE old.deleted_at IS NULL;"
    " INSERT INTO message_search (rowid, body, room)"
    " SELECT new.id, new.body, 'rid' || new.room_id WHERE new.deleted_at IS NULL;"
    " END",
    "CREATE TRIGGER message_search_delete AFTER DELETE ON messages"
    " WHEN old.deleted_at IS NULL BEGIN"
    " INSERT INTO message_search (message_search, rowid, body, room)"
    " VALUES ('delete', old.id, old.body, 'rid' || old.room_id);"
    " END",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_DOWN:
            op.execute(statement)
