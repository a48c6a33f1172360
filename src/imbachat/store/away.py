"""SQL for telling people who are away: whose unread messages have waited long
enough, and the mark each notice moves (how nodes agree who sends it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat.domain import Message, User
from imbachat.states import MemberState, UserStatus
from imbachat.store.messages import RENDERABLE
from imbachat.store.schema import away_marks, members, messages, rooms, users, widgets

_EPOCH = datetime(1970, 1, 1)


def delays(conn: Connection) -> list[int | None]:
    """The widgets' own waiting times (None: the server's default), once each."""
    return list(conn.scalars(select(widgets.c.away_notify_seconds).distinct()))


def due(
    conn: Connection, delay: int | None, due_before: datetime, active_since: datetime
) -> dict[int, datetime | None]:
    """Users of widgets with this ``delay`` with a message unread since before
    ``due_before`` that no notice told of yet, in a room they did not mute (rooms
    quiet since before ``active_since`` are not looked at); each with their mark."""
    mark = func.coalesce(away_marks.c.covered_until, _EPOCH)
    waiting = exists().where(
        messages.c.room_id == members.c.room_id,
        messages.c.seq > members.c.last_read_seq,
        messages.c.created_at > mark,
        messages.c.created_at <= due_before,
        messages.c.deleted_at.is_(None),
    )
    same_delay = (
        widgets.c.away_notify_seconds.is_(None)
        if delay is None
        else widgets.c.away_notify_seconds == delay
    )
    query = (
        select(users.c.id, away_marks.c.covered_until)
        .distinct()
        .select_from(members)
        .join(rooms, rooms.c.id == members.c.room_id)
        .join(users, users.c.id == members.c.user_id)
        .join(widgets, widgets.c.imba_id == users.c.imba_id)
        .outerjoin(away_marks, away_marks.c.user_id == users.c.id)
        .where(
            rooms.c.last_message_at >= active_since,
            rooms.c.deleted_at.is_(None),
            members.c.status == MemberState.ACTIVE,
            members.c.alerts_muted.is_(False),
            members.c.last_read_seq < rooms.c.last_seq,
            users.c.is_bot.is_(False),
            users.c.status != UserStatus.GUEST,
            users.c.deleted_at.is_(None),
            same_delay,
            waiting,
        )
    )
    return {row.id: row.covered_until for row in conn.execute(query)}


async def claim(conn: AsyncConnection, user_id: int, seen: datetime | None, now: datetime) -> bool:
    """Move the user's mark from ``seen`` (as read) to ``now``; False when another
    node moved it first (then that node tells the user)."""
    if seen is None:
        try:
            async with conn.begin_nested():
                await conn.execute(insert(away_marks).values(user_id=user_id, covered_until=now))
        except IntegrityError:
            return False
        return True
    moved = await conn.execute(
        update(away_marks)
        .where(away_marks.c.user_id == user_id, away_marks.c.covered_until == seen)
        .values(covered_until=now)
    )
    return bool(moved.rowcount)


async def unread_of(
    conn: AsyncConnection, user_id: int, limit: int
) -> tuple[User | None, int, list[Message]]:
    """The user, how many messages they have unread (in rooms not muted), and the
    latest ``limit`` of them, oldest first."""
    user_row = (await conn.execute(select(users).where(users.c.id == user_id))).first()
    unread = and_(
        members.c.user_id == user_id,
        members.c.status == MemberState.ACTIVE,
        members.c.alerts_muted.is_(False),
        messages.c.room_id == members.c.room_id,
        messages.c.seq > members.c.last_read_seq,
        messages.c.deleted_at.is_(None),
        messages.c.author_id != user_id,
    )
    count = await conn.scalar(select(func.count()).select_from(messages).join(members, unread))
    latest = RENDERABLE.join(members, unread).order_by(messages.c.id.desc()).limit(limit)
    found = Message.all_of(await conn.execute(latest))
    return (User.from_row(user_row) if user_row else None), int(count or 0), found[::-1]
