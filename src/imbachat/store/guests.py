"""SQL for moving a guest's conversations to the member they became."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat.domain import Room, User
from imbachat.states import MemberState
from imbachat.store.schema import files, members, messages, rooms


async def rooms_of(conn: AsyncConnection, user_id: int) -> list[Room]:
    """The rooms the user is an active member of."""
    query = (
        select(rooms)
        .join(members, members.c.room_id == rooms.c.id)
        .where(members.c.user_id == user_id, members.c.status == MemberState.ACTIVE)
        .order_by(rooms.c.id)
    )
    return [Room.from_row(row) for row in await conn.execute(query)]


async def claim_support_pipe(
    conn: AsyncConnection, room: Room, member: User, now: datetime
) -> None:
    """The guest's support room becomes the member's support room, unless they
    already have one (then it stays a room of its own)."""
    pipe = f"support-{member.remote_user_id}"
    taken = await conn.scalar(
        select(rooms.c.id).where(rooms.c.imba_id == room.imba_id, rooms.c.pipe == pipe)
    )
    if taken is None:
        await conn.execute(
            update(rooms).where(rooms.c.id == room.id).values(pipe=pipe, updated_at=now)
        )


async def move_messages(conn: AsyncConnection, guest_id: int, member_id: int) -> None:
    """The guest's messages are the member's (their client ids, meant for the guest's
    resends, are dropped: they could clash with the member's own)."""
    await conn.execute(
        update(messages)
        .where(messages.c.author_id == guest_id)
        .values(author_id=member_id, client_id=None)
    )


async def move_files(conn: AsyncConnection, guest_id: int, member_id: int) -> None:
    """The guest's uploads are the member's: they may still send those not yet sent."""
    await conn.execute(
        update(files).where(files.c.uploader_id == guest_id).values(uploader_id=member_id)
    )
