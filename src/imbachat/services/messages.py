"""Messages: sending (the same path for REST, sockets and bots) and listing."""

from __future__ import annotations

from dataclasses import dataclass

from imbachat.bus.base import Bus, Event
from imbachat.clock import utcnow
from imbachat.domain import Message, MessageDraft, MessageQuery, Page, Slice, User, Widget
from imbachat.errors import Forbidden, Invalid, NotFound
from imbachat.store import messages as message_store
from imbachat.store import rooms as room_store
from imbachat.store import users as user_store
from imbachat.store.db import Database

MAX_MESSAGE_LENGTH = 10_000


@dataclass(frozen=True, slots=True)
class SendCommand:
    author_remote_id: int
    room_id: int
    text: str
    answer_to: int = 0
    client_id: str | None = None


class MessageService:
    def __init__(self, db: Database, bus: Bus) -> None:
        self._db = db
        self._bus = bus

    async def send(self, widget: Widget, command: SendCommand) -> Message:
        """Store a message from a member of the room and announce it.

        Re-sending the same ``client_id`` returns the stored message instead of a
        second one, and announces nothing new.
        """
        if not command.text.strip():
            raise Invalid("The message must not be empty.", field="message")
        async with self._db.write() as conn:
            authors = await user_store.by_remote_ids(
                conn, widget.imba_id, [command.author_remote_id]
            )
            author = authors.get(command.author_remote_id)
            if author is None:
                raise NotFound(
                    f"No user with user_id {command.author_remote_id} in this widget.",
                    field="user_id",
                )
            room = await room_store.get(conn, widget.imba_id, command.room_id)
            if room is None:
                raise NotFound(f"No room with room_id {command.room_id}.", field="room_id")
            member = await room_store.membership(conn, room.id, author.id)
            if member is None or member.status != 0:
                raise Forbidden(
                    f"User {command.author_remote_id} is not a member of room {room.id}.",
                    field="user_id",
                )
            if author.is_banned or member.is_banned:
                raise Forbidden(f"User {command.author_remote_id} is banned.", field="user_id")
            if command.answer_to:
                replied = await message_store.get(conn, widget.imba_id, command.answer_to)
                if replied is None or replied.room_id != room.id:
                    raise Invalid(
                        "answer_to must be the id of a message in the same room.",
                        field="answer_to",
                    )
            draft = MessageDraft(
                imba_id=widget.imba_id,
                room_id=room.id,
                author_id=author.id,
                body=command.text,
                answer_to=command.answer_to,
                client_id=command.client_id,
            )
            [(message, created)] = await message_store.insert_batch(conn, [draft], utcnow())
        if created:
            await self._bus.publish(Event("message.new", widget.imba_id, room.id, message))
        return message

    async def find(
        self, widget: Widget, query: MessageQuery, page: Page, viewer: User | None = None
    ) -> Slice[Message]:
        async with self._db.read() as conn:
            return await message_store.find(
                conn, widget.imba_id, query, page, viewer.id if viewer else None
            )
