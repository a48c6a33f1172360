"""Membership rules: who belongs to a room, read marks, typing."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from imbachat.domain import Member, Room, User, Widget
from imbachat.errors import Forbidden, NotFound
from imbachat.events import ReadMarked, Typing
from imbachat.states import MemberState
from imbachat.store import rooms as room_store
from imbachat.store.db import Database
from imbachat.unit_of_work import Changes


def require_member(
    conn: Connection, widget: Widget, room_id: int, user: User
) -> tuple[Room, Member]:
    """The room and the user's active membership, or NotFound / Forbidden.
    Synchronous: on the event loop, call it through ``conn.run_sync``."""
    room, member = room_store.room_and_membership(conn, widget.imba_id, room_id, user.id)
    room = existing_room(room, room_id)
    return room, active_member(room, member, user.remote_user_id)


def existing_room(room: Room | None, room_id: int) -> Room:
    """The room as read, or NotFound when there is none (or it was deleted)."""
    if room is None or room.deleted_at is not None:
        raise NotFound(f"No room with room_id {room_id}.", field="room_id")
    return room


def active_member(room: Room, member: Member | None, remote_user_id: int) -> Member:
    """The membership as read, or Forbidden when the user is not (or no longer) in."""
    if member is None or member.status != MemberState.ACTIVE:
        raise Forbidden(
            f"User {remote_user_id} is not a member of room {room.id}.", field="room_id"
        )
    return member


class MemberService:
    def __init__(self, db: Database, changes: Changes) -> None:
        self._db = db
        self._changes = changes

    async def mark_read(self, widget: Widget, user: User, room_id: int, seq: int) -> int:
        """Everything up to ``seq`` is read by the user, on all their devices;
        returns the stored mark (it never moves back)."""
        async with self._changes.begin() as uow:
            room, member = await uow.conn.run_sync(require_member, widget, room_id, user)
            stored = await room_store.mark_read(uow.conn, room.id, user.id, seq)
            mark = stored if stored is not None else member.last_read_seq
            if mark > member.last_read_seq:
                uow.emit(ReadMarked(widget.imba_id, room.id, user.id, user.remote_user_id, mark))
        return mark

    async def typing(self, widget: Widget, user: User, room_id: int) -> None:
        room, _ = await self._db.run_read(lambda conn: require_member(conn, widget, room_id, user))
        await self._changes.announce(Typing(widget.imba_id, room.id, user.id, user.remote_user_id))
