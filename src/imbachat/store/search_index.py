"""SQLite's search index kept up behind the writer (migration 0013).

The writer's commit stores messages only; this indexer then adds new messages to
the FTS5 table in transactions of its own, following message ids from the mark in
``message_search_state``. Indexing inside the writer's commit cost the send path
about 0.7 ms at p50 and 5 ms at p99 (bench/README.md, "Search and the send path");
here one transaction indexes everything stored since the last one, so its fixed
cost (a new index segment, and merging segments) is paid a few times a second
rather than once per writer batch. A message becomes searchable about
:data:`POLL_SECONDS` after it is stored, and at once for whoever searches: a search
first indexes whatever is still waiting (:meth:`SearchIndexer.catch_up`).

PostgreSQL's GIN index is kept current by PostgreSQL itself: there the indexer does
nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import Integer, Text, column, func, insert, select, table, update
from sqlalchemy.engine import Connection

from imbachat.store.db import Database, zeroed_deletes
from imbachat.store.schema import messages
from imbachat.store.search import SEARCH_TABLE

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2  # how often the indexer looks for new messages
CHUNK = 2_000  # messages indexed per transaction at most (a few milliseconds)

_fts = table(
    SEARCH_TABLE,
    column("rowid", Integer),
    column("body", Text),
    column("room", Text),
    column(SEARCH_TABLE, Text),  # FTS5's command column: 'delete-all', 'merge'
    column("rank", Integer),  # a command's argument
)
_state = table("message_search_state", column("indexed_up_to", Integer))
_MARK = select(_state.c.indexed_up_to).scalar_subquery()
_BEHIND = select(select(func.max(messages.c.id)).scalar_subquery() > _MARK)
_NEXT = (
    select(messages.c.id, messages.c.body, messages.c.room_id, messages.c.deleted_at)
    .where(messages.c.id > _MARK)
    .order_by(messages.c.id)
)


def is_behind(conn: Connection) -> bool:
    """Whether some message is stored but not yet indexed."""
    return bool(conn.scalar(_BEHIND))


def index_next(conn: Connection, limit: int = CHUNK) -> int:
    """In the caller's write transaction: index the next ``limit`` messages after
    the mark (deleted ones are passed over) and move the mark past them. Returns
    how many messages were passed."""
    rows = conn.execute(_NEXT.limit(limit)).all()
    if not rows:
        return 0
    live: list[dict[str, Any]] = [
        {"rowid": row.id, "body": row.body, "room": f"rid{row.room_id}"}
        for row in rows
        if row.deleted_at is None
    ]
    if live:
        conn.execute(insert(_fts), live)
    conn.execute(update(_state).values(indexed_up_to=rows[-1].id))
    return len(rows)


def start_over(conn: Connection) -> None:
    """In the caller's write transaction, on SQLite: empty the index and put the
    mark before the first message, so the indexer indexes every message anew (after
    a copy, whose rows arrive without their index). Elsewhere nothing."""
    if conn.dialect.name != "sqlite":
        return
    conn.execute(insert(_fts).values({SEARCH_TABLE: "delete-all"}))
    conn.execute(update(_state).values(indexed_up_to=0))


MERGE_PAGES = 500  # pages of the index a merge step writes (one transaction)


def merge_step(conn: Connection) -> bool:
    """In the caller's write transaction, on SQLite: one step of merging the index
    toward one segment, zeroing what it frees (a forgotten message's words stay in
    an older segment until it is merged: services/privacy.py). Whether it did any
    work (a merge with nothing to do changes at most one row)."""
    before = conn.scalar(select(func.total_changes())) or 0
    with zeroed_deletes(conn):
        conn.execute(insert(_fts).values({SEARCH_TABLE: "merge", "rank": -MERGE_PAGES}))
    after = conn.scalar(select(func.total_changes())) or 0
    return after - before > 1


class SearchIndexer:
    """Indexes new messages a few times a second (SQLite), in one task per node."""

    def __init__(self, db: Database, poll_seconds: float = POLL_SECONDS) -> None:
        self._db = db
        self._poll_seconds = poll_seconds
        self._lock = asyncio.Lock()  # one indexing pass at a time: the loop's or a search's

    @property
    def needed(self) -> bool:
        return self._db.is_sqlite

    async def catch_up(self, most: int | None = None) -> int:
        """Index the messages stored so far (at most ``most`` chunks of them: a
        search does not wait for a whole imported database); returns how many were
        passed."""
        if not self.needed or not await self._db.run_read(is_behind):
            return 0
        passed = chunks = 0
        async with self._lock:
            while count := await self._db.run_write(index_next):
                passed, chunks = passed + count, chunks + 1
                if count < CHUNK or chunks == most:
                    break
        return passed

    async def run_forever(self) -> None:
        if not self.needed:
            return
        while True:
            try:
                await self.catch_up()
            except Exception:
                # The messages stay behind the mark: the next pass indexes them.
                log.exception("indexing messages for search failed; retrying")
            await asyncio.sleep(self._poll_seconds)
