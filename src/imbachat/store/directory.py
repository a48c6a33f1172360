"""SQL behind the owner's views of a widget: people and rooms found by the owner's
filters, a person's rooms, a room's members with their standing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat.domain import Member, Room, Slice, User
from imbachat.numbers import parse_int
from imbachat.states import MemberRole, MemberState, RoomStatus, RoomType
from imbachat.store.schema import members, rooms, users


@dataclass(frozen=True, slots=True)
class MemberRow:
    """A member of a room as the owner sees them."""

    user: User
    role: MemberRole
    is_banned: bool
    muted_until: datetime | None
    last_read_seq: int


async def find_users(
    conn: AsyncConnection, imba_id: int, text: str, before_id: int | None, limit: int
) -> Slice[User]:
    """Users whose name contains ``text`` or whose host id it is (all when empty),
    newest first; guests who became members are left out."""
    conditions: list[ColumnElement[bool]] = [
        users.c.imba_id == imba_id,
        users.c.deleted_at.is_(None),
    ]
    text = text.strip()
    if text:
        matches: ColumnElement[bool] = users.c.name.icontains(text, autoescape=True)
        remote_id = parse_int(text, minimum=-(2**62))
        if remote_id is not None:
            matches = matches | (users.c.remote_user_id == remote_id)
        conditions.append(matches)
    if before_id is not None:
        conditions.append(users.c.id < before_id)
    query = select(users).where(*conditions).order_by(users.c.id.desc()).limit(limit + 1)
    found = [User.from_row(row) for row in await conn.execute(query)]
    return Slice(found[:limit], found[limit - 1].id if len(found) > limit else None)


async def rooms_of_user(
    conn: AsyncConnection, user_id: int, limit: int
) -> list[tuple[Room, Member]]:
    """The user's rooms (those they left too), most recently active first."""
    query = (
        select(rooms, *[c.label(f"m_{c.name}") for c in members.c])
        .join(members, members.c.room_id == rooms.c.id)
        .where(members.c.user_id == user_id, rooms.c.deleted_at.is_(None))
        .order_by(rooms.c.last_message_at.desc(), rooms.c.id.desc())
        .limit(limit)
    )
    rows = (await conn.execute(query)).all()
    return [(Room.from_row(row), Member.from_row(row, prefix="m_")) for row in rows]


async def find_rooms(
    conn: AsyncConnection,
    imba_id: int,
    *,
    kind: RoomType | None,
    public: bool | None,
    status: RoomStatus | None,
    text: str,
    before_id: int | None,
    limit: int,
) -> Slice[Room]:
    """Rooms by type, public or not, open or closed, name; newest first."""
    conditions: list[ColumnElement[bool]] = [
        rooms.c.imba_id == imba_id,
        rooms.c.deleted_at.is_(None),
    ]
    if kind is not None:
        conditions.append(rooms.c.type == kind)
    if public is not None:
        conditions.append(rooms.c.is_public != 0 if public else rooms.c.is_public == 0)
    if status is not None:
        conditions.append(rooms.c.status == status)
    if text.strip():
        conditions.append(rooms.c.name.icontains(text.strip(), autoescape=True))
    if before_id is not None:
        conditions.append(rooms.c.id < before_id)
    query = select(rooms).where(*conditions).order_by(rooms.c.id.desc()).limit(limit + 1)
    found = [Room.from_row(row) for row in await conn.execute(query)]
    return Slice(found[:limit], found[limit - 1].id if len(found) > limit else None)


async def members_page(
    conn: AsyncConnection, room_id: int, after_user_id: int | None, limit: int
) -> Slice[MemberRow]:
    """The room's active members by user id, with role, ban and mute."""
    query = (
        select(
            users,
            members.c.role,
            members.c.is_banned.label("m_banned"),
            members.c.muted_until,
            members.c.last_read_seq,
        )
        .join(members, members.c.user_id == users.c.id)
        .where(members.c.room_id == room_id, members.c.status == MemberState.ACTIVE)
        .order_by(users.c.id)
        .limit(limit + 1)
    )
    if after_user_id is not None:
        query = query.where(users.c.id > after_user_id)
    rows = (await conn.execute(query)).all()
    found = [
        MemberRow(
            User.from_row(row),
            row.role,
            bool(row.m_banned),
            row.muted_until,
            int(row.last_read_seq),
        )
        for row in rows
    ]
    return Slice(found[:limit], found[limit - 1].user.id if len(found) > limit else None)
