"""SQL for telling people who are away: whose unread messages have waited long
enough, and the mark each notice moves (how nodes agree who sends it)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import and_, case, exists, func, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat.domain import Message, User
from imbachat.states import MemberState, UserStatus
from imbachat.store.messages import RENDERABLE
from imbachat.store.schema import away_marks, members, mentions, messages, rooms, users, widgets

_EPOCH = datetime(1970, 1, 1)


def delays(conn: Connection) -> list[int | None]:
    """The widgets' own waiting times (None: the server's default), once each."""
    return list(conn.scalars(select(widgets.c.away_notify_seconds).distinct()))


def due(
    conn: Connection, delay: int | None, due_before: datetime, active_since: datetime
) -> dict[int, datetime | None]:
    """Users of widgets with this ``delay`` with a message unread since before
    ``due_before`` that no notice told of yet, in a room they did not mute, or that
    mentions them in any room (rooms quiet since before ``active_since`` are not
    looked at); each with their mark."""
    mark = func.coalesce(away_marks.c.covered_until, _EPOCH)
    waiting = exists().where(
        messages.c.room_id == members.c.room_id,
        messages.c.seq > members.c.last_read_seq,
        messages.c.created_at > mark,
        messages.c.created_at <= due_before,
        messages.c.deleted_at.is_(None),
    )
    mentioned = exists().where(
        mentions.c.user_id == members.c.user_id,
        mentions.c.room_id == members.c.room_id,
        mentions.c.seq > members.c.last_read_seq,
        messages.c.id == mentions.c.message_id,
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
            members.c.last_read_seq < rooms.c.last_seq,
            users.c.is_bot.is_(False),
            users.c.status != UserStatus.GUEST,
            users.c.deleted_at.is_(None),
            same_delay,
            or_(and_(members.c.alerts_muted.is_(False), waiting), mentioned),
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


class Unread(NamedTuple):
    user: User | None
    total: int  # messages unread in rooms not muted, and mentions of the user anywhere
    latest: list[Message]  # the latest of them, oldest first
    mentions: int  # of those, how many mention the user


async def unread_of(conn: AsyncConnection, user_id: int, limit: int) -> Unread:
    """What a notice tells the user: their unread messages (in rooms not muted, and
    those mentioning them anywhere), and the latest ``limit`` of them."""
    user_row = (await conn.execute(select(users).where(users.c.id == user_id))).first()
    mention_of_user = exists().where(
        mentions.c.message_id == messages.c.id, mentions.c.user_id == user_id
    )
    unread = and_(
        members.c.user_id == user_id,
        members.c.status == MemberState.ACTIVE,
        or_(members.c.alerts_muted.is_(False), mention_of_user),
        messages.c.room_id == members.c.room_id,
        messages.c.seq > members.c.last_read_seq,
        messages.c.deleted_at.is_(None),
        messages.c.author_id != user_id,
    )
    counted = select(
        func.count(), func.coalesce(func.sum(case((mention_of_user, 1), else_=0)), 0)
    ).select_from(messages.join(members, unread))
    count, mentioned = (await conn.execute(counted)).one()
    latest = RENDERABLE.join(members, unread).order_by(messages.c.id.desc()).limit(limit)
    found = Message.all_of(await conn.execute(latest))
    user = User.from_row(user_row) if user_row else None
    return Unread(user, int(count or 0), found[::-1], int(mentioned or 0))
