"""SQL for rooms and their members."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, case, exists, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat.domain import Member, Page, Room, RoomMember, RoomQuery, Slice, User
from imbachat.states import MemberRole, MemberState, RoomStatus, UserStatus
from imbachat.store.common import cut_page, insert_ignoring_duplicates, paginate, within
from imbachat.store.schema import members, rooms, users


async def get(conn: AsyncConnection, imba_id: int, room_id: int) -> Room | None:
    query = select(rooms).where(rooms.c.imba_id == imba_id, rooms.c.id == room_id)
    row = (await conn.execute(query)).first()
    return Room.from_row(row) if row else None


async def by_pipe(conn: AsyncConnection, imba_id: int, pipe: str) -> Room | None:
    query = select(rooms).where(rooms.c.imba_id == imba_id, rooms.c.pipe == pipe)
    row = (await conn.execute(query)).first()
    return Room.from_row(row) if row else None


async def insert_unless_pipe_taken(
    conn: AsyncConnection, *, imba_id: int, pipe: str, now: datetime, **values: Any
) -> tuple[Room, bool]:
    """The room with this pipe: ``(room, True)`` if created now, ``(room, False)`` if it
    already existed (including when a concurrent writer created it first)."""
    statement = (
        insert_ignoring_duplicates(conn, rooms)
        .values(imba_id=imba_id, pipe=pipe, created_at=now, updated_at=now, **values)
        .returning(*rooms.c)
    )
    row = (await conn.execute(statement)).first()
    if row is not None:
        return Room.from_row(row), True
    existing = await by_pipe(conn, imba_id, pipe)
    assert existing is not None, "a conflicting pipe must belong to an existing room"
    return existing, False


async def add_members(
    conn: AsyncConnection, room_id: int, roles: dict[int, MemberRole], now: datetime
) -> list[int]:
    """Add users (internal id -> role) who are not members yet; returns the ids added.
    New members start with everything already in the room marked read.

    Touching the room row first serialises concurrent additions to one room on
    PostgreSQL, so ``member_count`` stays exact.
    """
    last_seq = (
        await conn.execute(
            update(rooms)
            .where(rooms.c.id == room_id)
            .values(updated_at=now)
            .returning(rooms.c.last_seq)
        )
    ).scalar_one()
    if not roles:
        return []
    present = await conn.execute(
        select(members.c.user_id, members.c.status).where(
            members.c.room_id == room_id, members.c.user_id.in_(list(roles))
        )
    )
    rows = {row.user_id: row.status for row in present}
    returning = [user_id for user_id, status in rows.items() if status != MemberState.ACTIVE]
    if returning:  # members who had left or were removed come back
        await conn.execute(
            update(members)
            .where(members.c.room_id == room_id, members.c.user_id.in_(returning))
            .values(status=MemberState.ACTIVE, last_read_seq=last_seq, updated_at=now)
        )
    added = [user_id for user_id in roles if user_id not in rows]
    if added:
        await conn.execute(
            members.insert(),
            [
                {
                    "room_id": room_id,
                    "user_id": user_id,
                    "role": roles[user_id],
                    "status": MemberState.ACTIVE,
                    "is_banned": False,
                    # History from before joining is not news to the joiner.
                    "last_read_seq": last_seq,
                    "joined_at": now,
                    "updated_at": now,
                }
                for user_id in added
            ],
        )
    if added or returning:
        await conn.execute(
            update(rooms)
            .where(rooms.c.id == room_id)
            .values(member_count=rooms.c.member_count + len(added) + len(returning))
        )
    return added + returning


async def membership(conn: AsyncConnection, room_id: int, user_id: int) -> Member | None:
    query = select(members).where(members.c.room_id == room_id, members.c.user_id == user_id)
    row = (await conn.execute(query)).first()
    return Member.from_row(row) if row else None


_ROOM_AND_MEMBERSHIP = (
    select(rooms, *[c.label(f"m_{c.name}") for c in members.c])
    .outerjoin(
        members,
        and_(members.c.room_id == rooms.c.id, members.c.user_id == bindparam("user_id")),
    )
    .where(rooms.c.imba_id == bindparam("imba_id"), rooms.c.id == bindparam("room_id"))
)  # built once: every history page, typing and read mark asks it


def room_and_membership(
    conn: Connection, imba_id: int, room_id: int, user_id: int
) -> tuple[Room | None, Member | None]:
    """The widget's room and the user's membership in it, in one query."""
    params = {"imba_id": imba_id, "room_id": room_id, "user_id": user_id}
    row = conn.execute(_ROOM_AND_MEMBERSHIP, params).first()
    if row is None:
        return None, None
    member = Member.from_row(row, prefix="m_") if row.m_room_id is not None else None
    return Room.from_row(row), member


def _visible_to(viewer_id: int) -> ColumnElement[bool]:
    return exists().where(
        members.c.room_id == rooms.c.id,
        members.c.user_id == viewer_id,
        members.c.status == MemberState.ACTIVE,
    )


async def find(
    conn: AsyncConnection,
    imba_id: int,
    query: RoomQuery,
    page: Page,
    viewer_id: int | None = None,
) -> Slice[Room]:
    """Rooms of the widget matching every given filter; only the viewer's rooms when
    ``viewer_id`` is set, and ``banned`` then means the viewer's ban in the room."""
    conditions: list[ColumnElement[bool]] = [rooms.c.imba_id == imba_id]
    if query.id is not None:
        conditions.append(rooms.c.id == query.id)
    if query.pipe is not None:
        conditions.append(rooms.c.pipe == query.pipe)
    if query.type is not None:
        conditions.append(rooms.c.type == query.type)
    if query.status is not None:
        conditions.append(rooms.c.status == query.status)
    if query.count_users is not None:
        conditions.append(rooms.c.member_count == query.count_users)
    if query.last_message is not None:
        conditions.extend(within(rooms.c.last_message_at, query.last_message))
    if viewer_id is not None:
        conditions.append(_visible_to(viewer_id))
    if query.banned is not None:
        banned_member = exists().where(members.c.room_id == rooms.c.id, members.c.is_banned)
        if viewer_id is not None:
            banned_member = banned_member.where(members.c.user_id == viewer_id)
        conditions.append(banned_member if query.banned else ~banned_member)
    statement = paginate(select(rooms).where(*conditions), rooms.c.id, page)
    found = [Room.from_row(row) for row in await conn.execute(statement)]
    return cut_page(found, page, lambda room: room.id)


def _rooms_of_user(only: bool) -> Select[Any]:
    query = (
        select(rooms, *[c.label(f"m_{c.name}") for c in members.c])
        .join(members, members.c.room_id == rooms.c.id)
        .where(
            members.c.user_id == bindparam("user_id"),
            members.c.status == MemberState.ACTIVE,
            rooms.c.deleted_at.is_(None),
        )
        .order_by(rooms.c.id)
    )
    return query.where(rooms.c.id.in_(bindparam("only", expanding=True))) if only else query


# Built once: every connect reads them.
_ROOMS_OF_USER = _rooms_of_user(only=False)
_SOME_ROOMS_OF_USER = _rooms_of_user(only=True)
_ROOM_IDS_OF_USER = select(members.c.room_id).where(
    members.c.user_id == bindparam("user_id"), members.c.status == MemberState.ACTIVE
)
_MEMBERS_OF_ROOMS = (
    select(
        members.c.room_id,
        users.c.id,
        users.c.remote_user_id,
        users.c.name,
        users.c.avatar_url,
        users.c.status,
        members.c.role,
        members.c.last_read_seq,
        users.c.profile_url,
        case((users.c.status == UserStatus.GUEST, users.c.user_data), else_=None),
    )
    .join(users, users.c.id == members.c.user_id)
    .where(
        members.c.room_id.in_(bindparam("room_ids", expanding=True)),
        members.c.status == MemberState.ACTIVE,
    )
    .order_by(members.c.room_id, members.c.joined_at, members.c.user_id)
)
# Ids per statement: far below the bind-parameter limits of SQLite and asyncpg.
_IDS_PER_QUERY = 5_000


def of_user(
    conn: Connection, user_id: int, only: Collection[int] | None = None
) -> list[tuple[Room, Member]]:
    """Every room the user is an active member of (or those of ``only``), with their
    membership."""
    if only is None:
        result = conn.execute(_ROOMS_OF_USER, {"user_id": user_id})
    else:
        result = conn.execute(_SOME_ROOMS_OF_USER, {"user_id": user_id, "only": list(only)})
    room_of, member_of = Room.reader(result.keys()), Member.reader(result.keys(), "m_")
    return [(room_of(row), member_of(row)) for row in result.all()]


def members_of(conn: Connection, room_ids: Sequence[int]) -> dict[int, list[RoomMember]]:
    """Active members of each room, in joining order."""
    found: dict[int, list[RoomMember]] = {room_id: [] for room_id in room_ids}
    for chunk in _chunks(room_ids):
        for room_id, *member in conn.execute(_MEMBERS_OF_ROOMS, {"room_ids": chunk}).all():
            found[room_id].append(RoomMember(*member))
    return found


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[start : start + _IDS_PER_QUERY] for start in range(0, len(ids), _IDS_PER_QUERY)]


async def mark_read(conn: AsyncConnection, room_id: int, user_id: int, seq: int) -> int | None:
    """Move the member's read mark forward to ``seq`` (never back, never past the last
    message); returns the mark now stored, or None when not a member."""
    last_seq = select(rooms.c.last_seq).where(rooms.c.id == room_id).scalar_subquery()
    await conn.execute(
        update(members)
        .where(
            members.c.room_id == room_id,
            members.c.user_id == user_id,
            members.c.last_read_seq < seq,
        )
        .values(last_read_seq=case((last_seq < seq, last_seq), else_=seq))
    )
    member = await membership(conn, room_id, user_id)
    return member.last_read_seq if member else None


def ids_of_user(conn: Connection, user_id: int) -> list[int]:
    return list(conn.execute(_ROOM_IDS_OF_USER, {"user_id": user_id}).scalars())


_ROOM_IDS_OF_USERS = select(members.c.user_id, members.c.room_id).where(
    members.c.user_id.in_(bindparam("user_ids", expanding=True)),
    members.c.status == MemberState.ACTIVE,
)


def ids_of_users(conn: Connection, user_ids: Sequence[int]) -> dict[int, list[int]]:
    """Each user's rooms (active memberships), for the users that have any."""
    rooms_of: dict[int, list[int]] = {}
    for chunk in _chunks(sorted(set(user_ids))):
        for user_id, room_id in conn.execute(_ROOM_IDS_OF_USERS, {"user_ids": list(chunk)}):
            rooms_of.setdefault(user_id, []).append(room_id)
    return rooms_of


async def set_member(conn: AsyncConnection, room_id: int, user_id: int, **values: Any) -> None:
    await conn.execute(
        update(members)
        .where(members.c.room_id == room_id, members.c.user_id == user_id)
        .values(**values)
    )


async def remove_member(conn: AsyncConnection, room_id: int, user_id: int, now: datetime) -> None:
    """The member leaves (state LEFT); the room's member count follows."""
    result = await conn.execute(
        update(members)
        .where(
            members.c.room_id == room_id,
            members.c.user_id == user_id,
            members.c.status == MemberState.ACTIVE,
        )
        .values(status=MemberState.LEFT, updated_at=now)
    )
    if result.rowcount:
        await conn.execute(
            update(rooms)
            .where(rooms.c.id == room_id)
            .values(member_count=rooms.c.member_count - 1, updated_at=now)
        )


async def set_status(
    conn: AsyncConnection, room_id: int, status: RoomStatus, now: datetime
) -> None:
    await conn.execute(
        update(rooms).where(rooms.c.id == room_id).values(status=status, updated_at=now)
    )


async def set_pinned(
    conn: AsyncConnection, room_id: int, message_id: int | None, now: datetime
) -> None:
    await conn.execute(
        update(rooms)
        .where(rooms.c.id == room_id)
        .values(pinned_message_id=message_id, updated_at=now)
    )


async def unpin_message(conn: AsyncConnection, room_id: int, message_id: int) -> bool:
    """Unpin the message if it is the room's pinned one; whether it was."""
    result = await conn.execute(
        update(rooms)
        .where(rooms.c.id == room_id, rooms.c.pinned_message_id == message_id)
        .values(pinned_message_id=None)
    )
    return result.rowcount > 0


def unpin_messages(conn: Connection, message_ids: Sequence[int]) -> list[tuple[int, int]]:
    """Unpin these messages wherever they are pinned (they are going away); returns
    the (imba_id, room_id) of each room that had one pinned."""
    unpinned = conn.execute(
        update(rooms)
        .where(rooms.c.pinned_message_id.in_(message_ids))
        .values(pinned_message_id=None)
        .returning(rooms.c.imba_id, rooms.c.id)
    ).all()
    return [(row.imba_id, row.id) for row in unpinned]


async def public(conn: AsyncConnection, imba_id: int, limit: int) -> list[Room]:
    """Open public conferences of the widget, most recently active first."""
    query = (
        select(rooms)
        .where(
            rooms.c.imba_id == imba_id,
            rooms.c.is_public == 1,
            rooms.c.status == RoomStatus.OPEN,
            rooms.c.deleted_at.is_(None),
        )
        .order_by(rooms.c.last_message_at.desc().nulls_last(), rooms.c.id.desc())
        .limit(limit)
    )
    return [Room.from_row(row) for row in await conn.execute(query)]


SenderKey = tuple[int, int, int]  # (imba_id, room_id, the author's host user id)
SenderContext = tuple[Room | None, User | None, Member | None]

# Built once: constructing selects per call cost a third of the send path.
_ROOMS_BY_ID = select(rooms).where(rooms.c.id.in_(bindparam("room_ids", expanding=True)))
_USERS_BY_REMOTE_ID = select(users).where(
    users.c.imba_id.in_(bindparam("imba_ids", expanding=True)),
    users.c.remote_user_id.in_(bindparam("remote_ids", expanding=True)),
)
_MEMBERS_OF = select(members).where(
    members.c.room_id.in_(bindparam("room_ids", expanding=True)),
    members.c.user_id.in_(bindparam("user_ids", expanding=True)),
)


def sender_contexts(conn: Connection, keys: Sequence[SenderKey]) -> dict[SenderKey, SenderContext]:
    """For each key: the room (of that widget), the author, and their membership.

    Three queries for a whole batch of sends, each on an index with plain IN lists
    (row-value IN lists make SQLite scan); the exact pairs are picked out here.
    """
    if not keys:
        return {}
    room_ids = sorted({room_id for _, room_id, _ in keys})
    rooms_found = Room.all_of(conn.execute(_ROOMS_BY_ID, {"room_ids": room_ids}))
    found_rooms = {room.id: room for room in rooms_found}
    params = {
        "imba_ids": sorted({imba_id for imba_id, _, _ in keys}),
        "remote_ids": sorted({remote_id for _, _, remote_id in keys}),
    }
    found_users = {
        (user.imba_id, user.remote_user_id): user
        for user in User.all_of(conn.execute(_USERS_BY_REMOTE_ID, params))
    }
    user_ids = sorted({user.id for user in found_users.values()})
    found_members = {}
    if user_ids:
        rows = conn.execute(_MEMBERS_OF, {"room_ids": room_ids, "user_ids": user_ids})
        found_members = {(m.room_id, m.user_id): m for m in Member.all_of(rows)}
    contexts: dict[SenderKey, SenderContext] = {}
    for key in keys:
        imba_id, room_id, remote_id = key
        room = found_rooms.get(room_id)
        if room is None or room.imba_id != imba_id:
            contexts[key] = (None, None, None)
            continue
        user = found_users.get((imba_id, remote_id))
        member = found_members.get((room_id, user.id)) if user is not None else None
        contexts[key] = (room, user, member)
    return contexts
