"""Full-text search of messages: an FTS5 index on SQLite kept in step by triggers,
a GIN index of the words on PostgreSQL; both hold live messages only

Revision ID: 0010
Revises: 0009

SQLAlchemy's metadata cannot declare either (a virtual table and its triggers, an
expression index), so ``store.search.SEARCH_OBJECTS`` names them and the schema
comparison leaves them out; their shape is this file's alone.
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Contentless: the text is already in messages.body, so the index keeps only its
# words. Besides the body, each row holds its room as a word of a column of its own
# ("rid12"): a search in a user's rooms is then one FTS query (body words AND one of
# the rooms), where filtering by room after the full-text match would read every
# match in every room. Not the bare id: the index keeps one list per word across
# columns, and "12" in messages' text would lengthen room 12's list (measured: 2-5x
# slower searches when room ids were also common numbers in the text).
# remove_diacritics 2 folds accents (é -> e); unicode61 folds case in every script
# (Привет -> привет).
_SQLITE_UP = [
    "CREATE VIRTUAL TABLE message_search USING fts5("
    "body, room, content='', tokenize='unicode61 remove_diacritics 2')",
    # A contentless index forgets a row only when told its exact words again, so
    # every trigger hands it the old values, and only for rows it holds (live ones).
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
    "INSERT INTO message_search (rowid, body, room)"
    " SELECT id, body, 'rid' || room_id FROM messages WHERE deleted_at IS NULL",
    # One b-tree instead of the many segments a bulk load leaves: faster queries.
    "INSERT INTO message_search (message_search) VALUES ('optimize')",
]
_SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS message_search_delete",
    "DROP TRIGGER IF EXISTS message_search_update",
    "DROP TRIGGER IF EXISTS message_search_insert",
    "DROP TABLE IF EXISTS message_search",
]

# 'simple': words lower-cased, no stemming and no stop words, the same for every
# language. Not partial (WHERE deleted_at IS NULL) although deleted messages are
# never searched: a deleted body is empty, so it adds nothing to the index, and the
# planner uses the statistics of an expression index only when it is not partial;
# with them it walks a room's few messages for a word in half of all messages
# (1 ms) instead of the word's million entries (70 ms), measured on 1M messages.
# Building it reads every message once (that is the backfill); PostgreSQL keeps it
# current itself.
_POSTGRES_UP = [
    "CREATE INDEX ix_messages_body_search ON messages USING gin (to_tsvector('simple', body))",
]
_POSTGRES_DOWN = ["DROP INDEX IF EXISTS ix_messages_body_search"]


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _run(_SQLITE_UP if sqlite else _POSTGRES_UP)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _run(_SQLITE_DOWN if sqlite else _POSTGRES_DOWN)
