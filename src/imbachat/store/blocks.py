"""SQL for blocks between users: who blocked whom, and the blocks inside dialogs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, bindparam, delete, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat.domain import Profile
from imbachat.store.common import insert_ignoring_duplicates
from imbachat.store.schema import blocks, members, users

MAX_LISTED = 1000  # host ids of blocked users sent with ``ready``

_mine = members.alias("mine")
_theirs = members.alias("theirs")
# Blocks between the two members of each dialog: (room, blocker, blocked).
_IN_ROOMS = (
    select(_mine.c.room_id, blocks.c.blocker_id, blocks.c.blocked_id)
    .join(_theirs, and_(_theirs.c.room_id == _mine.c.room_id, _theirs.c.user_id != _mine.c.user_id))
    .join(
        blocks,
        and_(blocks.c.blocker_id == _mine.c.user_id, blocks.c.blocked_id == _theirs.c.user_id),
    )
    .where(_mine.c.room_id.in_(bindparam("rooms", expanding=True)))
)


async def add(conn: AsyncConnection, blocker_id: int, blocked_id: int, now: datetime) -> bool:
    statement = insert_ignoring_duplicates(conn, blocks).values(
        blocker_id=blocker_id, blocked_id=blocked_id, created_at=now
    )
    return (await conn.execute(statement)).rowcount > 0


async def remove(conn: AsyncConnection, blocker_id: int, blocked_id: int) -> bool:
    statement = delete(blocks).where(
        blocks.c.blocker_id == blocker_id, blocks.c.blocked_id == blocked_id
    )
    return (await conn.execute(statement)).rowcount > 0


def in_rooms(conn: Connection, room_ids: Sequence[int]) -> set[tuple[int, int, int]]:
    """``(room_id, blocker_id, blocked_id)`` for each block between two members of
    these rooms (meant for dialogs: two members each)."""
    if not room_ids:
        return set()
    return {(r, a, b) for r, a, b in conn.execute(_IN_ROOMS, {"rooms": sorted(set(room_ids))})}


# Built once: every socket's `ready` runs it (see mentions._UNREAD_COUNTS).
_BLOCKED_REMOTE_IDS = (
    select(users.c.remote_user_id)
    .join(blocks, blocks.c.blocked_id == users.c.id)
    .where(blocks.c.blocker_id == bindparam("blocker_id"))
    .order_by(blocks.c.created_at.desc(), blocks.c.blocked_id.desc())
    .limit(MAX_LISTED)
)


def blocked_remote_ids(conn: Connection, blocker_id: int) -> list[int]:
    """Host ids of whom the user blocked, the most recent first (at most MAX_LISTED)."""
    return list(conn.scalars(_BLOCKED_REMOTE_IDS, {"blocker_id": blocker_id}))


async def page(
    conn: AsyncConnection, blocker_id: int, after: int | None, limit: int
) -> tuple[list[Profile], int | None]:
    """Whom the user blocked, by our user id after ``after``; and the next cursor."""
    query = (
        select(users.c.id, users.c.remote_user_id, users.c.name, users.c.avatar_url)
        .join(blocks, blocks.c.blocked_id == users.c.id)
        .where(blocks.c.blocker_id == blocker_id)
        .order_by(users.c.id)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(users.c.id > after)
    rows = (await conn.execute(query)).all()
    people = [
        Profile(
            row.remote_user_id, row.name or f"User {row.remote_user_id}", row.avatar_url, None, {}
        )
        for row in rows[:limit]
    ]
    return people, rows[limit - 1].id if len(rows) > limit else None
