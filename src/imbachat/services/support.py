"""Technical-support rooms (type 3): one per visitor, with the widget's operators.

Operators are the users with status ``admin`` (from the host site's ``chat_role``):
they are members of every support room opened after they became operators, so
they see all open requests, and they (or the room's admin) close them.
"""

from __future__ import annotations

from dataclasses import replace

from imbachat.domain import User, Widget
from imbachat.events import RoomReopened
from imbachat.services.rooms import RoomChange, RoomService, RoomSpec
from imbachat.states import RoomStatus, RoomType, UserStatus
from imbachat.store import rooms as room_store
from imbachat.store import users as user_store
from imbachat.unit_of_work import Changes

SUPPORT_TITLE = "Technical support"


def support_pipe(visitor: User) -> str:
    if visitor.status == UserStatus.GUEST:
        return f"support-guest-{-visitor.remote_user_id}"
    return f"support-{visitor.remote_user_id}"


class SupportService:
    def __init__(self, changes: Changes, rooms: RoomService) -> None:
        self._changes = changes
        self._rooms = rooms

    async def open(self, widget: Widget, visitor: User) -> RoomChange:
        """The visitor's support room, created (or reopened) with every operator."""
        await self._rooms.refuse_banned(visitor)
        async with self._changes.begin() as uow:
            operators = await user_store.operators(uow.conn, widget.imba_id)
            existing = await room_store.by_pipe(uow.conn, widget.imba_id, support_pipe(visitor))
            if existing is not None and existing.status != RoomStatus.OPEN:
                await room_store.set_status(
                    uow.conn, existing.id, RoomStatus.OPEN, existing.updated_at
                )
                uow.emit(RoomReopened(replace(existing, status=RoomStatus.OPEN)))
        people = [
            visitor.remote_user_id,
            *(o.remote_user_id for o in operators if o.id != visitor.id),
        ]
        # Operators run the room: they are its admins; the visitor is a member.
        spec = RoomSpec(
            title=SUPPORT_TITLE,
            pipe=support_pipe(visitor),
            type=RoomType.SUPPORT,
            remote_user_ids=people,
            admin_remote_ids=[o.remote_user_id for o in operators if o.id != visitor.id],
        )
        return await self._rooms.create_or_join(widget, spec)
