"""The owner's views of a widget: people and rooms by the owner's filters, a
person's rooms, a room's members and history, the support inbox. Reads only: every
change goes through the service of its noun (moderation, messages, webhooks...)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from imbachat.domain import Member, Message, Room, RoomMember, Slice, User, Widget
from imbachat.errors import NotFound
from imbachat.services.members import existing_room
from imbachat.states import RoomStatus, RoomType, UserStatus
from imbachat.store import directory as directory_store
from imbachat.store import messages as message_store
from imbachat.store import rooms as room_store
from imbachat.store.db import Database
from imbachat.store.directory import MemberRow

MAX_PAGE = 200


def _limit(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE))


def is_visitor(room: Room, remote_user_id: int, status: UserStatus) -> bool:
    """Whether this member is the one a support room is for: the room's pipe names
    them (see ``services.support``); in a support room made through the API
    instead, whoever is not an operator."""
    if room.pipe.startswith("support-"):
        if status == UserStatus.GUEST:
            return room.pipe == f"support-guest-{-remote_user_id}"
        return room.pipe == f"support-{remote_user_id}"
    return status != UserStatus.ADMIN


@dataclass(frozen=True, slots=True)
class SupportConversation:
    room: Room
    visitor: RoomMember | None  # None when the visitor left
    operators: list[RoomMember]  # everyone else in it
    last_message: Message | None


class DirectoryService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def users(
        self, widget: Widget, text: str, before_id: int | None, limit: int
    ) -> Slice[User]:
        async with self._db.read() as conn:
            return await directory_store.find_users(
                conn, widget.imba_id, text[:100], before_id, _limit(limit)
            )

    async def rooms_of(self, user: User, limit: int = 100) -> list[tuple[Room, Member]]:
        async with self._db.read() as conn:
            return await directory_store.rooms_of_user(conn, user.id, _limit(limit))

    async def rooms(
        self,
        widget: Widget,
        *,
        kind: RoomType | None = None,
        public: bool | None = None,
        status: RoomStatus | None = None,
        text: str = "",
        before_id: int | None = None,
        limit: int = 50,
    ) -> Slice[Room]:
        async with self._db.read() as conn:
            return await directory_store.find_rooms(
                conn,
                widget.imba_id,
                kind=kind,
                public=public,
                status=status,
                text=text[:100],
                before_id=before_id,
                limit=_limit(limit),
            )

    async def room(self, widget: Widget, room_id: int) -> Room:
        async with self._db.read() as conn:
            return existing_room(await room_store.get(conn, widget.imba_id, room_id), room_id)

    async def members(
        self, widget: Widget, room_id: int, after_user_id: int | None, limit: int
    ) -> Slice[MemberRow]:
        async with self._db.read() as conn:
            room = existing_room(await room_store.get(conn, widget.imba_id, room_id), room_id)
            return await directory_store.members_page(conn, room.id, after_user_id, _limit(limit))

    async def history(
        self, widget: Widget, room_id: int, before_seq: int | None, limit: int
    ) -> tuple[list[Message], bool]:
        """A page of the room's messages before ``before_seq`` (or the newest),
        oldest first, and whether older ones exist: the owner reads every room."""
        limit = _limit(limit)

        def read(conn: Connection) -> list[Message]:
            room, _ = room_store.room_and_membership(conn, widget.imba_id, room_id, 0)
            if room is None or room.deleted_at is not None:
                raise NotFound(f"No room with room_id {room_id}.", field="room_id")
            return message_store.in_room_before(conn, room.id, before_seq, limit + 1)

        found = await self._db.run_read(read)
        return found[-limit:], len(found) > limit

    async def support(
        self, widget: Widget, status: RoomStatus | None, before_id: int | None, limit: int
    ) -> tuple[list[SupportConversation], int | None]:
        """Support conversations (guests' too), newest first, with who is in them."""
        found = await self.rooms(
            widget, kind=RoomType.SUPPORT, status=status, before_id=before_id, limit=limit
        )
        ids = [room.id for room in found.items]

        def read(conn: Connection) -> tuple[dict[int, list[RoomMember]], dict[int, Message]]:
            with_messages = [room.id for room in found.items if room.last_seq > 0]
            return room_store.members_of(conn, ids), message_store.last_of_rooms(
                conn, with_messages
            )

        people, last = await self._db.run_read(read)
        conversations = []
        for room in found.items:
            everyone = people.get(room.id, [])
            visitor = next(
                (m for m in everyone if is_visitor(room, m.remote_user_id, m.status)), None
            )
            operators = [m for m in everyone if m is not visitor]
            conversations.append(SupportConversation(room, visitor, operators, last.get(room.id)))
        return conversations, found.next_after_id
