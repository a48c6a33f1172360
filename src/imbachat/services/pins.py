"""Pinned messages: a conference's admins keep one message above its history."""

from __future__ import annotations

from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.domain import Message, User, Widget
from imbachat.errors import Forbidden, Invalid, NotFound
from imbachat.events import PinChanged
from imbachat.files.links import FileLinks
from imbachat.services.members import existing_room, require_member
from imbachat.states import MemberRole, RoomType
from imbachat.store import messages as message_store
from imbachat.store import rooms as room_store
from imbachat.unit_of_work import Changes


class PinService:
    def __init__(self, changes: Changes, links: FileLinks, clock: Clock = SYSTEM_CLOCK) -> None:
        self._changes = changes
        self._links = links
        self._clock = clock

    async def pin(
        self, widget: Widget, user: User | None, room_id: int, message_id: int | None
    ) -> Message | None:
        """Pin a message of the room (``message_id`` None: unpin), as one of its
        admins (or the owner, ``user`` None); everyone in the room sees it."""
        async with self._changes.begin() as uow:
            conn = uow.conn
            if user is None:
                room = existing_room(await room_store.get(conn, widget.imba_id, room_id), room_id)
            else:
                room, member = await conn.run_sync(require_member, widget, room_id, user)
                if member.role != MemberRole.ADMIN:
                    raise Forbidden("Only the room's admins may pin messages.", field="room_id")
            if room.type != RoomType.CONFERENCE:
                raise Invalid("Messages are pinned in conferences only.", field="room_id")
            message = None
            if message_id is not None:
                message = await message_store.get(conn, widget.imba_id, message_id)
                if message is None or message.room_id != room.id or message.deleted_at:
                    raise NotFound(f"No message {message_id} in this room.", field="message_id")
                message = self._links.message(widget.secret_key, message)
            if room.pinned_message_id == message_id:
                return message
            await room_store.set_pinned(conn, room.id, message_id, self._clock.now())
            uow.emit(PinChanged(widget.imba_id, room.id, message))
        return message
