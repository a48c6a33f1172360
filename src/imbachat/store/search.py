"""SQL of message search: the full-text index of live messages (migration 0010),
ranked reads over it, and the messages found.

SQLite keeps an FTS5 table (``message_search``: the body's words, and the room as a
word ``rid<id>`` of a column of its own), filled behind the writer by
``store.search_index`` and kept in step with edits and deletions by triggers;
PostgreSQL a GIN index of ``to_tsvector('simple', body)``. Deleted
messages (their body emptied) are never found.

Ranking reads the newest :data:`WINDOW` matches in the scope and orders those by
relevance (BM25 on SQLite, ``ts_rank`` on PostgreSQL), the newest first among
equal scores. Ranking every match instead costs time in proportion to how common
the words are (a word in half of a million messages: 0.5 s on SQLite), and in a chat
the relevant match among the thousand newest is what people look for; more words, a
room or dates narrow the rest down. On SQLite a query with a very common word is
not ranked at all (see :data:`COMMON_WORD`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    bindparam,
    cast,
    column,
    exists,
    func,
    literal,
    literal_column,
    select,
    table,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat.domain import Message, TimeRange
from imbachat.states import MemberState, RoomType
from imbachat.store.messages import RENDERABLE
from imbachat.store.schema import members, messages, rooms

# The objects migration 0010 makes that the metadata of store/schema.py cannot
# declare (a virtual table with its shadow tables and triggers, an expression index):
# the schema comparison leaves them out.
SEARCH_TABLE = "message_search"
SEARCH_INDEX = "ix_messages_body_search"

WINDOW = 1_000  # the newest matches that are ranked
MAX_WORDS = 16  # words of a query that count; more only slow it down
# Scores are stored in cursors: scaled to integers, they compare exactly on both
# databases (and a float's last bits never decide an order).
SCORE_SCALE = 1_000_000
# Up to this many rooms, the rooms go into the FTS query (one index walk); beyond,
# each match's room is checked against the user's memberships (measured: 100 room
# terms make a common word 2-5x faster than checking memberships; 1,000 make it
# 30x slower).
MAX_ROOM_TERMS = 250

# Words as FTS5's unicode61 tokenizer cuts them: runs of letters and digits.
_WORD = re.compile(r"[^\W_]+")


def is_search_object(name: str | None) -> bool:
    """Whether a table, index or trigger name is one of the search index's."""
    return name is not None and (
        name in (SEARCH_TABLE, SEARCH_INDEX) or name.startswith(f"{SEARCH_TABLE}_")
    )


def words(text: str) -> list[str]:
    """The words of a query that count, lower-cased (the index folds case), once
    each, in order."""
    return list(dict.fromkeys(word.lower() for word in _WORD.findall(text)))[:MAX_WORDS]


@dataclass(frozen=True, slots=True)
class Scope:
    """Where to search: the given rooms (of the widget; on SQLite at most
    :data:`MAX_ROOM_TERMS`), or else every room of the viewer (an imbachat user id),
    or else the whole widget."""

    imba_id: int
    room_ids: tuple[int, ...] | None = None
    viewer_id: int | None = None
    date: TimeRange | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    message_id: int
    score: int  # larger is more relevant


@dataclass(frozen=True, slots=True)
class RoomRef:
    """What a search result shows of its room."""

    id: int
    name: str
    type: RoomType


_searchable = (
    members.c.status == MemberState.ACTIVE,
    members.c.is_banned.is_(False),
    rooms.c.deleted_at.is_(None),
)
_ROOMS_OF_USER = (
    select(members.c.room_id)
    .join(rooms, rooms.c.id == members.c.room_id)
    .where(members.c.user_id == bindparam("user_id"), *_searchable)
    .order_by(members.c.room_id)
    .limit(bindparam("limit"))
)


async def rooms_of(conn: AsyncConnection, user_id: int, limit: int) -> list[int]:
    """Up to ``limit`` rooms whose messages the user may search: those they are an
    active member of, not banned in."""
    result = await conn.execute(_ROOMS_OF_USER, {"user_id": user_id, "limit": limit})
    return list(result.scalars())


def _viewer_may_read(viewer_id: int) -> ColumnElement[bool]:
    return exists().where(
        members.c.room_id == messages.c.room_id,
        members.c.user_id == viewer_id,
        rooms.c.id == members.c.room_id,
        *_searchable,
    )


def _message_conditions(scope: Scope, *, rooms_in_query: bool) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [messages.c.imba_id == scope.imba_id]
    if scope.room_ids is not None:
        if not rooms_in_query:
            conditions.append(messages.c.room_id.in_(scope.room_ids))
    elif scope.viewer_id is not None:
        conditions.append(_viewer_may_read(scope.viewer_id))
    if scope.date is not None:
        if scope.date.start is not None:
            conditions.append(messages.c.created_at >= scope.date.start)
        if scope.date.end is not None:
            conditions.append(messages.c.created_at < scope.date.end)
    return conditions


# ---- SQLite: FTS5 ---------------------------------------------------------------------

_fts = table(SEARCH_TABLE, column("rowid", Integer))
_fts_hidden: ColumnElement[Any] = literal_column(SEARCH_TABLE)  # the column MATCH and bm25() take


def _fts_query(found: Sequence[str], room_ids: Sequence[int] | None) -> str:
    """Every word as a quoted phrase of the body column, so nothing the user typed
    is FTS syntax (``"`` cannot occur in a word), AND one of the rooms."""
    query = " AND ".join(f'body:"{word}"' for word in found)
    if room_ids is not None:
        query += " AND (" + " OR ".join(f"room:rid{room}" for room in room_ids) + ")"
    return query


def _sqlite_window(found: Sequence[str], scope: Scope, rank: bool) -> Select[tuple[int, int]]:
    # bm25 weighs the body only: the room column is for filtering.
    bm25 = cast(func.round(-func.bm25(_fts_hidden, 1.0, 0.0) * SCORE_SCALE), Integer)
    score = bm25 if rank else literal(0)
    window = select(_fts.c.rowid.label("id"), score.label("score")).select_from(_fts)
    conditions: list[ColumnElement[Any]] = [
        _fts_hidden.op("MATCH")(_fts_query(found, scope.room_ids))
    ]
    if scope.room_ids is None or scope.date is not None:
        # Checks that need the message row. Rooms in the FTS query need no widget
        # check: the caller chose them in the widget, and room ids are unique.
        window = window.join(messages, messages.c.id == _fts.c.rowid)
        conditions += _message_conditions(scope, rooms_in_query=True)
    return window.where(*conditions).order_by(_fts.c.rowid.desc()).limit(WINDOW)


# ---- PostgreSQL: GIN over to_tsvector ---------------------------------------------------

# Spelled exactly as the index's expression, so the planner uses it.
_SIMPLE: ColumnElement[Any] = literal_column("'simple'")


def _postgres_window(text: str, scope: Scope) -> Select[tuple[int, int]]:
    query = func.plainto_tsquery(_SIMPLE, text)
    newest = (
        select(messages.c.id, messages.c.body)
        .where(
            func.to_tsvector(_SIMPLE, messages.c.body).bool_op("@@")(query),
            messages.c.deleted_at.is_(None),
            *_message_conditions(scope, rooms_in_query=False),
        )
        .order_by(messages.c.id.desc())
        .limit(WINDOW)
        .subquery("newest")
    )
    # Ranked after the window is cut: ts_rank parses each body again. Normalisation
    # 1 divides by 1 + log(length), so a word in a short message counts more than
    # in a long one, as with BM25.
    rank = func.ts_rank(func.to_tsvector(_SIMPLE, newest.c.body), query, 1)
    score = cast(func.round(rank * SCORE_SCALE), BigInteger)
    return select(newest.c.id, score.label("score"))


async def ranked(
    conn: AsyncConnection,
    text: str,
    scope: Scope,
    before: tuple[int, int] | None,
    limit: int,
    *,
    rank: bool = True,
) -> list[Hit]:
    """Up to ``limit`` matches of ``text`` in the scope, the most relevant first
    (then the newest), after the ``before`` (score, message id) cursor; with
    ``rank`` False (SQLite), all score 0: the newest first. On SQLite ``text`` must
    have words (see :func:`words`)."""
    if scope.room_ids == ():  # no room: nothing (and "room:()" is no FTS query)
        return []
    if conn.dialect.name == "sqlite":
        window = _sqlite_window(words(text), scope, rank).subquery("window")
    else:
        window = _postgres_window(text, scope).subquery("window")
    statement = select(window.c.id, window.c.score)
    if before is not None:
        score, message_id = before
        statement = statement.where(
            (window.c.score < score) | ((window.c.score == score) & (window.c.id < message_id))
        )
    statement = statement.order_by(window.c.score.desc(), window.c.id.desc()).limit(limit)
    return [Hit(row.id, row.score) for row in await conn.execute(statement)]


# BM25 weighs each word by how many messages have it, and counts them by reading the
# word's whole list of messages: for a word in half of a million messages, 15-25 ms
# of the search (all but 2 ms of it). So on SQLite a query with a word this common
# is not ranked (its results come newest first): such a word would weigh next to
# nothing in the score anyway, and how common it is is known after reading this
# many entries of its list (about a millisecond).
COMMON_WORD = 100_000


async def is_common(conn: AsyncConnection, word: str) -> bool:
    """Whether at least :data:`COMMON_WORD` live messages have the word (SQLite)."""
    some = (
        select(_fts.c.rowid)
        .where(_fts_hidden.op("MATCH")(_fts_query([word], None)))
        .limit(COMMON_WORD)
        .subquery()
    )
    count = await conn.scalar(select(func.count()).select_from(some))
    return bool(count is not None and count >= COMMON_WORD)


_FOUND = RENDERABLE.add_columns(rooms.c.name.label("room_name")).where(
    messages.c.id.in_(bindparam("ids", expanding=True)), messages.c.deleted_at.is_(None)
)


async def found(conn: AsyncConnection, ids: Sequence[int]) -> list[tuple[Message, RoomRef]]:
    """The messages with these ids, in that order, each with its room (a message
    deleted since it was ranked is left out)."""
    if not ids:
        return []
    rows = {row.id: row for row in await conn.execute(_FOUND, {"ids": list(ids)})}
    return [
        (Message.from_row(row), RoomRef(row.room_id, row.room_name, row.room_type))
        for row in (rows.get(i) for i in ids)
        if row is not None
    ]


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's ``include_name`` hook: the schema comparison (autogenerate and the
    migration test) leaves the search index's objects out."""
    return not is_search_object(name)
