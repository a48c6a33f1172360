"""SQL for messages: the batched write path and the filtered reads."""

from __future__ import annotations

import functools
import secrets
import string
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, TextClause, bindparam, exists, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat.clock import unix
from imbachat.domain import Message, MessageDraft, MessageQuery, Page, Slice
from imbachat.errors import Conflict
from imbachat.states import MemberState
from imbachat.store import files as file_store
from imbachat.store import mentions as mention_store
from imbachat.store.common import cut_page, paginate, within
from imbachat.store.schema import members, messages, rooms, users

_UUID_ALPHABET = string.ascii_letters + string.digits


# Messages with what renders them (author, room type); built once, reused by every read.
_WITH_AUTHOR_AND_ROOM = (
    select(
        messages,
        users.c.remote_user_id.label("author_remote_id"),
        users.c.name.label("author_name"),
        users.c.is_bot.label("author_is_bot"),
        rooms.c.type.label("room_type"),
    )
    .join(users, users.c.id == messages.c.author_id)
    .join(rooms, rooms.c.id == messages.c.room_id)
)


def new_uuids(room_ids: Sequence[int], now: datetime) -> list[str]:
    """``{room_id}-{unix_time}-{random6}``, the documented message uuid, for each room
    id; the random parts come from one read of the system's random source."""
    pool = secrets.token_bytes(6 * len(room_ids))
    stamp = unix(now)
    return [
        f"{room_id}-{stamp}-"
        + "".join(_UUID_ALPHABET[byte % len(_UUID_ALPHABET)] for byte in pool[6 * i : 6 * i + 6])
        for i, room_id in enumerate(room_ids)
    ]


# For other stores' reads that render messages (joined with what they need).
RENDERABLE = _WITH_AUTHOR_AND_ROOM
_BY_IDS = _WITH_AUTHOR_AND_ROOM.where(messages.c.id.in_(bindparam("ids", expanding=True)))


def by_ids(conn: Connection, ids: Sequence[int]) -> list[Message]:
    if not ids:
        return []
    result = conn.execute(_BY_IDS, {"ids": sorted(set(ids))})
    found = {message.id: message for message in Message.all_of(result)}
    return [found[i] for i in ids]


async def get(conn: AsyncConnection, imba_id: int, message_id: int) -> Message | None:
    query = _WITH_AUTHOR_AND_ROOM.where(messages.c.imba_id == imba_id, messages.c.id == message_id)
    row = (await conn.execute(query)).first()
    return Message.from_row(row) if row else None


# Built once, like every statement of the write path: building them per batch cost
# time and left thousands of cyclic objects per second for the garbage collector.
# The new ids come back keyed by (room_id, seq), which is unique, not in the order of
# the rows: asking for that order (sort_by_parameter_order) made SQLAlchemy send one
# INSERT per row on SQLite, 100 statements for a batch of 100 instead of one.
_INSERT = messages.insert().returning(messages.c.id, messages.c.room_id, messages.c.seq)


def _already_stored(conn: Connection, drafts: Sequence[MessageDraft]) -> dict[tuple[int, str], int]:
    keys = sorted({(d.author_id, d.client_id) for d in drafts if d.client_id is not None})
    if not keys:
        return {}
    # Padded to a power of two with pairs that match nothing (NULL), so a handful of
    # statements serve every batch size, each compiled once.
    size = 1 << (len(keys) - 1).bit_length()
    params: dict[str, Any] = {}
    for i in range(size):
        author, client = keys[i] if i < len(keys) else (None, None)
        params[f"a{i}"] = author
        params[f"c{i}"] = client
    rows = conn.execute(_stored_pairs(size), params)
    return {(row.author_id, row.client_id): row.id for row in rows}


@functools.lru_cache(maxsize=16)
def _stored_pairs(count: int) -> TextClause:
    """The stored messages of ``count`` (author_id, client_id) pairs.

    Joined on a VALUES list: one probe of the (author_id, client_id) unique index per
    pair. Two IN lists would probe every combination of them (SQLite walks the cross
    product: 10,000 probes for a batch of 100 senders). Built once per count: building
    the text per batch was 5 % of the writer's time at batches of 100.
    """
    pairs = ", ".join(f"(CAST(:a{i} AS BIGINT), CAST(:c{i} AS VARCHAR(64)))" for i in range(count))
    return text(
        "SELECT m.author_id, m.client_id, m.id"  # noqa: S608 (only placeholders are formatted in)
        f" FROM (VALUES {pairs}) AS wanted JOIN messages AS m"
        " ON m.author_id = wanted.column1 AND m.client_id = wanted.column2"
    )


def insert_batch(
    conn: Connection, drafts: Sequence[MessageDraft], now: datetime
) -> list[tuple[Message, bool]]:
    """Store drafts in one transaction, in order; returns ``(message, created)`` for each.

    A draft whose ``(author, client_id)`` is already stored (or repeated in the batch)
    yields the stored message with ``created=False``. Each room's ``seq`` advances by
    the number of its new messages (see :func:`_reserve_seqs`).
    """
    ids_by_key = _already_stored(conn, drafts)
    to_insert: dict[int, list[int]] = {}  # room id -> indices of drafts, in order
    pending: set[tuple[int, str]] = set()
    for index, draft in enumerate(drafts):
        if draft.client_id is not None:
            key = (draft.author_id, draft.client_id)
            if key in ids_by_key or key in pending:
                continue
            pending.add(key)
        to_insert.setdefault(draft.room_id, []).append(index)

    rows: list[dict[str, Any]] = []
    row_draft: list[int] = []
    first_seqs = _reserve_seqs(
        conn, {room_id: len(indices) for room_id, indices in to_insert.items()}, now
    )
    for room_id, indices in to_insert.items():
        for offset, index in enumerate(indices):
            draft = drafts[index]
            row_draft.append(index)
            rows.append(
                {
                    "imba_id": draft.imba_id,
                    "room_id": room_id,
                    "seq": first_seqs[room_id] + offset,
                    "author_id": draft.author_id,
                    "uuid": "",
                    "body": draft.body,
                    "answer_to": draft.answer_to,
                    "liked": 0,
                    "client_id": draft.client_id,
                    "created_at": now,
                }
            )
    if any(drafts[index].attachments for index in row_draft):  # else the column stays NULL
        for values, index in zip(rows, row_draft, strict=True):
            values["attachments"] = drafts[index].attachments or None
    if any(drafts[index].mentions for index in row_draft):  # as rare; NULL otherwise
        for values, index in zip(rows, row_draft, strict=True):
            values["mentions"] = drafts[index].mentions or None
    if any(drafts[index].call for index in row_draft):  # a call's record; NULL otherwise
        for values, index in zip(rows, row_draft, strict=True):
            values["call"] = drafts[index].call
    for values, uuid in zip(rows, new_uuids([v["room_id"] for v in rows], now), strict=True):
        values["uuid"] = uuid
    created: dict[int, Message] = {}  # draft index -> the new message
    mentioned: list[mention_store.MentionRow] = []
    if rows:
        new_ids = {(row.room_id, row.seq): row.id for row in conn.execute(_INSERT, rows)}
        for index, values in zip(row_draft, rows, strict=True):
            draft = drafts[index]
            message_id = new_ids[(values["room_id"], values["seq"])]
            created[index] = _new_message(message_id, values, draft)
            if draft.client_id is not None:
                ids_by_key[(draft.author_id, draft.client_id)] = message_id
            if draft.attachments:
                _attach(conn, draft, message_id, values["room_id"])
            for user_id in draft.mentioned_user_ids:
                mentioned.append(
                    {
                        "user_id": user_id,
                        "room_id": values["room_id"],
                        "seq": values["seq"],
                        "message_id": message_id,
                    }
                )
        mention_store.insert(conn, mentioned)
        _mark_authors(conn, rows, now)

    repeated = [
        ids_by_key[(draft.author_id, draft.client_id or "")]
        for index, draft in enumerate(drafts)
        if index not in created
    ]
    earlier = iter(by_ids(conn, repeated))
    return [
        (created[index], True) if index in created else (next(earlier), False)
        for index in range(len(drafts))
    ]


def _attach(conn: Connection, draft: MessageDraft, message_id: int, room_id: int) -> None:
    """The files go to the message, unless another message took one meanwhile (on
    another node): then the batch fails, and its sends are retried one by one."""
    ids = [a.id for a in draft.attachments]
    if file_store.attach(conn, ids, message_id, room_id) != len(ids):
        raise Conflict("A file is already in another message.", field="attachments")


def _new_message(message_id: int, values: dict[str, Any], draft: MessageDraft) -> Message:
    """The stored message, from what was inserted (no read back)."""
    return Message(
        id=message_id,
        imba_id=values["imba_id"],
        room_id=values["room_id"],
        seq=values["seq"],
        author_id=values["author_id"],
        uuid=values["uuid"],
        body=values["body"],
        answer_to=values["answer_to"],
        liked=0,
        client_id=values["client_id"],
        created_at=values["created_at"],
        edited_at=None,
        deleted_at=None,
        author_remote_id=draft.author_remote_id,
        author_name=draft.author_name,
        author_is_bot=draft.author_is_bot,
        room_type=draft.room_type,
        attachments=draft.attachments,
        mentions=draft.mentions,
        call=draft.call,
    )


_ADVANCE_SEQ = (
    update(rooms)
    .where(rooms.c.id == bindparam("b_room"))
    .values(
        last_seq=rooms.c.last_seq + bindparam("b_count"),
        last_message_at=bindparam("b_now"),
        updated_at=bindparam("b_now"),
    )
)
_LAST_SEQS = select(rooms.c.id, rooms.c.last_seq).where(
    rooms.c.id.in_(bindparam("room_ids", expanding=True))
)


def _reserve_seqs(conn: Connection, counts: dict[int, int], now: datetime) -> dict[int, int]:
    """Advance each room's ``seq`` by its count; returns each room's first reserved value.

    One UPDATE for all rooms, then one read of the new values. The rows stay locked by
    this transaction until commit (on SQLite the whole database does), so the values
    read are this batch's own. Rooms are updated in id order, so two nodes writing to
    the same rooms take their row locks in the same order and cannot deadlock.
    """
    if not counts:
        return {}
    room_ids = sorted(counts)
    conn.execute(
        _ADVANCE_SEQ,
        [{"b_room": room_id, "b_count": counts[room_id], "b_now": now} for room_id in room_ids],
    )
    rows = conn.execute(_LAST_SEQS, {"room_ids": room_ids})
    return {row.id: row.last_seq - counts[row.id] + 1 for row in rows}


_ROOMS_OF = select(messages.c.id, messages.c.imba_id, messages.c.room_id).where(
    messages.c.id.in_(bindparam("ids", expanding=True))
)


def rooms_of(conn: Connection, message_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """``message id -> (imba_id, room_id)`` for the ids that exist."""
    if not message_ids:
        return {}
    rows = conn.execute(_ROOMS_OF, {"ids": sorted(set(message_ids))})
    return {row.id: (row.imba_id, row.room_id) for row in rows}


_MARK_READ = (
    update(members)
    .where(
        members.c.room_id == bindparam("b_room"),
        members.c.user_id == bindparam("b_user"),
        members.c.last_read_seq < bindparam("b_seq"),
    )
    .values(last_read_seq=bindparam("b_seq"))
)
# One statement for all authors of a batch: per author, it cost a step of SQLite and
# a set of parameters each (hundreds in a batch under load).
_MARK_LAST_MESSAGE = (
    update(users)
    .where(users.c.id.in_(bindparam("b_users", expanding=True)))
    .values(last_message_at=bindparam("b_now"))
)


def _mark_authors(conn: Connection, rows: list[dict[str, Any]], now: datetime) -> None:
    """An author has read their own message, and it is their latest one."""
    newest: dict[tuple[int, int], int] = {}
    for row in rows:
        key = (row["room_id"], row["author_id"])
        newest[key] = max(newest.get(key, 0), row["seq"])
    conn.execute(
        _MARK_READ,
        [{"b_room": room, "b_user": user, "b_seq": seq} for (room, user), seq in newest.items()],
    )
    conn.execute(
        _MARK_LAST_MESSAGE, {"b_users": sorted({user for _, user in newest}), "b_now": now}
    )


async def find(
    conn: AsyncConnection,
    imba_id: int,
    query: MessageQuery,
    page: Page,
    viewer_id: int | None = None,
) -> Slice[Message]:
    """Messages of the widget matching every given filter; only those of the viewer's
    rooms when ``viewer_id`` is set. Deleted messages are left out."""
    conditions: list[ColumnElement[bool]] = [
        messages.c.imba_id == imba_id,
        messages.c.deleted_at.is_(None),
    ]
    if query.id is not None:
        conditions.append(messages.c.id == query.id)
    if query.room_id is not None:
        conditions.append(messages.c.room_id == query.room_id)
    if query.room_type is not None:
        conditions.append(rooms.c.type == query.room_type)
    if query.user_name is not None:
        conditions.append(users.c.name == query.user_name)
    if query.author_remote_id is not None:
        conditions.append(users.c.remote_user_id == query.author_remote_id)
    if query.date is not None:
        conditions.extend(within(messages.c.created_at, query.date))
    if query.user_role is not None:
        conditions.append(
            exists().where(
                members.c.room_id == messages.c.room_id,
                members.c.user_id == messages.c.author_id,
                members.c.role == query.user_role,
            )
        )
    if viewer_id is not None:
        conditions.append(
            exists().where(
                members.c.room_id == messages.c.room_id,
                members.c.user_id == viewer_id,
                members.c.status == MemberState.ACTIVE,
            )
        )
    statement = paginate(_WITH_AUTHOR_AND_ROOM.where(*conditions), messages.c.id, page)
    found = [Message.from_row(row) for row in await conn.execute(statement)]
    return cut_page(found, page, lambda message: message.id)


_AFTER_SEQ = (
    _WITH_AUTHOR_AND_ROOM.where(
        messages.c.room_id == bindparam("room_id"), messages.c.seq > bindparam("seq")
    )
    .order_by(messages.c.seq)
    .limit(bindparam("limit"))
)
_NEWEST = (
    _WITH_AUTHOR_AND_ROOM.where(messages.c.room_id == bindparam("room_id"))
    .order_by(messages.c.seq.desc())
    .limit(bindparam("limit"))
)
_BEFORE_SEQ = _NEWEST.where(messages.c.seq < bindparam("seq"))


def in_room_after(conn: Connection, room_id: int, after_seq: int, limit: int) -> list[Message]:
    """Up to ``limit`` messages with ``seq > after_seq``, oldest first (for replay)."""
    params = {"room_id": room_id, "seq": after_seq, "limit": limit}
    return Message.all_of(conn.execute(_AFTER_SEQ, params))


def in_room_before(
    conn: Connection, room_id: int, before_seq: int | None, limit: int
) -> list[Message]:
    """The ``limit`` messages just before ``before_seq`` (or the newest), oldest first."""
    if before_seq is None:
        result = conn.execute(_NEWEST, {"room_id": room_id, "limit": limit})
    else:
        result = conn.execute(_BEFORE_SEQ, {"room_id": room_id, "seq": before_seq, "limit": limit})
    return Message.all_of(result)[::-1]


def in_room_around(
    conn: Connection, room_id: int, seq: int, limit: int
) -> tuple[list[Message], bool, bool]:
    """``limit`` messages centred on ``seq`` (that one included), oldest first, and
    whether older and newer ones exist beyond them. Near either end of the room the
    page takes more from the other side, so it is full whenever the room has enough."""
    older = in_room_before(conn, room_id, seq, limit + 1)
    newer = in_room_after(conn, room_id, seq - 1, limit + 1)
    before = limit // 2
    after = limit - before
    if len(newer) < after:
        before = limit - len(newer)
    elif len(older) < before:
        after = limit - len(older)
    page = older[len(older) - min(before, len(older)) :] + newer[:after]
    return page, len(older) > before, len(newer) > after


_LAST_OF_ROOMS = _WITH_AUTHOR_AND_ROOM.where(
    messages.c.room_id.in_(bindparam("room_ids", expanding=True)),
    messages.c.seq == rooms.c.last_seq,
)


def last_of_rooms(conn: Connection, room_ids: Sequence[int]) -> dict[int, Message]:
    """The message at each room's last ``seq``: the room list's preview.

    Joined on the room's own ``last_seq`` so each room is one probe of the
    (room_id, seq) index (a row-value IN list makes SQLite scan the table).
    """
    if not room_ids:
        return {}
    result = conn.execute(_LAST_OF_ROOMS, {"room_ids": list(room_ids)})
    return {message.room_id: message for message in Message.all_of(result)}


async def set_body(conn: AsyncConnection, message_id: int, body: str, now: datetime) -> None:
    await conn.execute(
        update(messages).where(messages.c.id == message_id).values(body=body, edited_at=now)
    )


async def set_deleted(conn: AsyncConnection, message_id: int, now: datetime) -> None:
    """Keep the row, so the room's ``seq`` stays gap-free; forget the text."""
    await conn.execute(
        update(messages).where(messages.c.id == message_id).values(body="", deleted_at=now)
    )
