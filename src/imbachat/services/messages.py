"""Messages: sending (the same path for REST, sockets and bots), history, edits."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, replace

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.domain import (
    Attachment,
    Member,
    Message,
    MessageDraft,
    MessageQuery,
    Page,
    Room,
    SendRequest,
    Slice,
    User,
    Widget,
)
from imbachat.errors import Conflict, Forbidden, ImbaError, Invalid, NotFound, TooLarge
from imbachat.events import MessageDeleted, MessageEdited, PinChanged
from imbachat.services.files import MAX_ATTACHMENTS, FileService
from imbachat.services.members import active_member, existing_room, require_member
from imbachat.services.moderation import ModerationService
from imbachat.services.ratelimit import SendLimiter
from imbachat.services.widgets import WidgetService
from imbachat.states import MemberRole, ReportOutcome, RoomStatus, RoomType, UserStatus
from imbachat.store import blocks as block_store
from imbachat.store import files as file_store
from imbachat.store import mentions as mention_store
from imbachat.store import messages as message_store
from imbachat.store import reactions as reaction_store
from imbachat.store import reports as report_store
from imbachat.store import rooms as room_store
from imbachat.store import users as user_store
from imbachat.store.db import Database
from imbachat.store.writer import MessageWriter
from imbachat.unit_of_work import Changes

MAX_MESSAGE_LENGTH = 10_000
MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class SendCommand:
    author_remote_id: int
    room_id: int
    text: str
    answer_to: int = 0
    client_id: str | None = None
    origin: str | None = None  # the socket it came from, which gets an ack instead
    attachments: tuple[int, ...] = ()  # ids of files the author uploaded
    mentions: tuple[int, ...] = ()  # host ids of members the text mentions


MAX_MENTIONS = 50


def check_text(text: str, *, with_files: bool = False) -> str:
    if not text.strip() and not with_files:
        raise Invalid("The message must not be empty.", field="message")
    if "\x00" in text:
        raise Invalid("The message must not contain NUL characters.", field="message")
    if len(text) > MAX_MESSAGE_LENGTH:
        raise TooLarge(
            f"The message is too long: at most {MAX_MESSAGE_LENGTH} characters.", field="message"
        )
    return text


def _check_not_blocked(draft: MessageDraft, blocked: set[tuple[int, int, int]]) -> None:
    """No dialog messages between two users when either blocked the other; the
    blocked one is told no more than that."""
    for room_id, blocker, blocked_user in blocked:
        if room_id != draft.room_id:
            continue
        if blocked_user == draft.author_id:
            raise Forbidden("You cannot send messages to this user.", field="room_id")
        if blocker == draft.author_id:
            raise Forbidden("You blocked this user: unblock them to write.", field="room_id")


def _with_mentions(
    draft: MessageDraft, wanted: tuple[int, ...], members: dict[tuple[int, int], int]
) -> MessageDraft:
    """Only members of the room are mentioned (a name typed for someone not there
    tells nobody), and never the author."""
    found = [
        (remote, members[(draft.room_id, remote)])
        for remote in wanted
        if (draft.room_id, remote) in members and remote != draft.author_remote_id
    ]
    return replace(
        draft,
        mentions=tuple(remote for remote, _ in found),
        mentioned_user_ids=tuple(user_id for _, user_id in found),
    )


class MessageService:
    def __init__(
        self,
        db: Database,
        changes: Changes,
        widgets: WidgetService,
        moderation: ModerationService,
        limiter: SendLimiter,
        clock: Clock = SYSTEM_CLOCK,
        guest_sends_per_minute: int = 10,
        *,
        files: FileService,
    ) -> None:
        self._db = db
        self._files = files
        self._links = files.links
        self._changes = changes
        self._widgets = widgets
        self._clock = clock
        self._guest_limiter = SendLimiter(
            guest_sends_per_minute / 60,
            guest_sends_per_minute,
            clock,
            f"Guests send at most {guest_sends_per_minute} messages a minute: wait {{wait}} s.",
        )
        self.writer = MessageWriter(changes, self.check_batch, clock)
        self._moderation = moderation
        self._limiter = limiter

    async def send(self, widget: Widget, command: SendCommand) -> Message:
        """Store a message from a member of the room and announce it.

        Re-sending the same ``client_id`` returns the stored message instead of a
        second one, and announces nothing new.
        """
        request = await self.prepare(widget, command)
        return await self.complete(command, self.enqueue(request))

    async def prepare(self, widget: Widget, command: SendCommand) -> SendRequest:
        """The checks that need no database (text, blocked words); the rest run in
        the batch that stores the message (:meth:`check_batch`)."""
        attachments = tuple(dict.fromkeys(command.attachments))
        if len(attachments) > MAX_ATTACHMENTS:
            raise Invalid(f"A message takes at most {MAX_ATTACHMENTS} files.", field="attachments")
        check_text(command.text, with_files=bool(attachments))
        widget = await self._current(widget)
        self._moderation.check_words(widget, command.text)
        return SendRequest(
            imba_id=widget.imba_id,
            room_id=command.room_id,
            author_remote_id=command.author_remote_id,
            body=command.text,
            answer_to=command.answer_to,
            client_id=command.client_id,
            origin=command.origin,
            guests_write_public=widget.guests_write_public,
            attachments=attachments,
            mentions=tuple(dict.fromkeys(command.mentions))[:MAX_MENTIONS],
            link_secret=widget.secret_key if attachments else "",
        )

    def check_batch(
        self, conn: Connection, requests: list[SendRequest]
    ) -> list[MessageDraft | Exception]:
        """Inside the writer's transaction: may each author send to their room?
        A few queries for the whole batch; each request gets a draft or its error."""
        contexts = room_store.sender_contexts(
            conn, [(r.imba_id, r.room_id, r.author_remote_id) for r in requests]
        )
        replied = message_store.rooms_of(conn, [r.answer_to for r in requests if r.answer_to])
        uploads = file_store.for_attaching(conn, [i for r in requests for i in r.attachments])
        members = mention_store.members_by_remote_id(
            conn, [(r.room_id, m) for r in requests for m in r.mentions]
        )
        dialogs = [c[0].id for c in contexts.values() if c[0] and c[0].type == RoomType.DIALOG]
        blocked = block_store.in_rooms(conn, dialogs)
        checked: list[MessageDraft | Exception] = []
        for request in requests:
            key = (request.imba_id, request.room_id, request.author_remote_id)
            try:
                draft = self._check_one(request, *contexts[key], replied)
                if blocked and draft.room_type == RoomType.DIALOG:
                    _check_not_blocked(draft, blocked)
                if request.attachments:
                    draft = replace(draft, attachments=self._attachable(request, draft, uploads))
                if request.mentions:
                    draft = _with_mentions(draft, request.mentions, members)
                checked.append(draft)
            except ImbaError as exc:
                checked.append(exc)
        return checked

    def _check_one(
        self,
        request: SendRequest,
        room: Room | None,
        author: User | None,
        member: Member | None,
        replied: dict[int, tuple[int, int]],
    ) -> MessageDraft:
        room = existing_room(room, request.room_id)
        if author is None:
            raise NotFound(
                f"No user with user_id {request.author_remote_id} in this widget.",
                field="user_id",
            )
        member = active_member(room, member, author.remote_user_id)
        self._moderation.check_may_send(author, member)
        if room.status != RoomStatus.OPEN:
            raise Forbidden("This room is closed.", field="room_id")
        if request.answer_to and replied.get(request.answer_to) != (room.imba_id, room.id):
            raise Invalid(
                "answer_to must be the id of a message in the same room.", field="answer_to"
            )
        if author.status == UserStatus.GUEST:
            if room.type != RoomType.SUPPORT and not request.guests_write_public:
                raise Forbidden("Guests may read this room, not write in it: log in first.",
                                field="room_id")  # fmt: skip
            self._guest_limiter.take(request.imba_id, author.id)
        if not author.is_bot:  # bots answer many users at once
            self._limiter.take(request.imba_id, author.id)
        return MessageDraft(
            imba_id=request.imba_id,
            room_id=room.id,
            author_id=author.id,
            body=request.body,
            author_remote_id=author.remote_user_id,
            author_name=author.name,
            author_is_bot=author.is_bot,
            room_type=room.type,
            answer_to=request.answer_to,
            client_id=request.client_id,
        )

    def _attachable(
        self, request: SendRequest, draft: MessageDraft, uploads: file_store.Attachable
    ) -> tuple[Attachment, ...]:
        """The request's files, if the author uploaded them and no other message took
        them (a retry of the same client_id may take them again); links signed."""
        found = []
        for file_id in request.attachments:
            upload, taken_by = uploads.get(file_id, (None, None))
            if upload is None or upload.imba_id != request.imba_id:
                raise NotFound(f"No file with id {file_id}.", field="attachments")
            if upload.uploader_id != draft.author_id:
                raise Forbidden(
                    f"File {file_id} was uploaded by someone else: only they may send it.",
                    field="attachments",
                )
            if taken_by is not None and (
                request.client_id is None or taken_by != (draft.author_id, request.client_id)
            ):
                raise Conflict(f"File {file_id} is already in a message.", field="attachments")
            found.append(upload.attachment())
        return self._links.sign(request.link_secret, request.imba_id, tuple(found))

    def enqueue(self, request: SendRequest) -> asyncio.Future[tuple[Message, bool]]:
        """Queue a prepared request for the next group commit, in call order."""
        return self.writer.enqueue(request)

    async def complete(
        self, command: SendCommand, stored: Awaitable[tuple[Message, bool]]
    ) -> Message:
        """The stored message, once its batch committed (and announced it)."""
        message, created = await stored
        if not created and message.room_id != command.room_id:
            raise Conflict(
                "This client_id was already used for a message in another room.",
                field="client_id",
            )
        if not created and message.attachments:
            [message] = await self._files.signed([message])
        return message

    async def history(
        self, widget: Widget, user: User, room_id: int, before_seq: int | None, limit: int
    ) -> tuple[list[Message], bool]:
        """The page of messages before ``before_seq`` (or the newest), oldest first,
        and whether older ones exist. ``limit`` is capped at MAX_PAGE."""
        limit = max(1, min(limit, MAX_PAGE))

        def read(conn: Connection) -> list[Message]:
            room, _ = require_member(conn, widget, room_id, user)
            return message_store.in_room_before(conn, room.id, before_seq, limit + 1)

        found = await self._db.run_read(read)
        return await self._files.signed(found[-limit:]), len(found) > limit

    async def history_around(
        self, widget: Widget, user: User, room_id: int, around_seq: int, limit: int
    ) -> tuple[list[Message], bool, bool]:
        """The page of ``limit`` messages centred on ``around_seq`` (a search result,
        a reply's original), oldest first, and whether older and newer ones exist."""
        limit = max(1, min(limit, MAX_PAGE))

        def read(conn: Connection) -> tuple[list[Message], bool, bool]:
            room, _ = require_member(conn, widget, room_id, user)
            return message_store.in_room_around(conn, room.id, around_seq, limit)

        found, has_more, has_newer = await self._db.run_read(read)
        return await self._files.signed(found), has_more, has_newer

    async def replay(
        self, widget: Widget, user: User, room_id: int, after_seq: int, limit: int
    ) -> list[Message]:
        """Messages after ``after_seq``, oldest first: what a reconnecting client missed."""

        def read(conn: Connection) -> list[Message]:
            room, _ = require_member(conn, widget, room_id, user)
            return message_store.in_room_after(conn, room.id, after_seq, limit)

        return await self._files.signed(await self._db.run_read(read))

    async def between(self, room_id: int, after_seq: int, up_to: int) -> list[Message]:
        """Messages ``after_seq < seq <= up_to`` of a room, for filling a gap in the
        live stream (no caller check: the gateway asks for rooms it follows)."""
        found = await self._db.run_read(
            lambda conn: message_store.in_room_after(conn, room_id, after_seq, up_to - after_seq)
        )
        return await self._files.signed([message for message in found if message.seq <= up_to])

    async def edit(self, widget: Widget, user: User, message_id: int, text: str) -> Message:
        """Authors may change the text of their own messages, under the rules of
        sending (not banned, not muted, an open room, no blocked words)."""
        check_text(text)
        widget = await self._current(widget)
        async with self._changes.begin() as uow:
            conn = uow.conn
            message = await self._message_for(conn, widget, user, message_id, staff_may=False)
            if message.call is not None:  # the record says what happened: it stays so
                raise Forbidden("A call's record cannot be edited.", field="message_id")
            room, member = await conn.run_sync(require_member, widget, message.room_id, user)
            author = (
                await conn.run_sync(user_store.by_remote_ids, widget.imba_id, [user.remote_user_id])
            )[user.remote_user_id]
            self._moderation.check_may_send(author, member)
            if room.status != RoomStatus.OPEN:
                raise Forbidden("This room is closed.", field="room_id")
            self._moderation.check_words(widget, text)
            await message_store.set_body(conn, message.id, text, self._clock.now())
            edited = await message_store.get(conn, widget.imba_id, message.id)
            assert edited is not None
            edited = self._links.message(widget.secret_key, edited)
            uow.emit(MessageEdited(edited))
        return edited

    async def delete(self, widget: Widget, user: User | None, message_id: int) -> Message:
        """Authors delete their own messages, room moderators and admins anyone's,
        the widget owner (``user`` None) any; the seq stays, the text goes."""
        async with self._changes.begin() as uow:
            conn = uow.conn
            message = await self._message_for(conn, widget, user, message_id, staff_may=True)
            now = self._clock.now()
            await message_store.set_deleted(conn, message.id, now)
            await reaction_store.forget_message(conn, message.id)
            await report_store.close_open_of_message(
                conn, message.id, ReportOutcome.MESSAGE_DELETED, now
            )
            unpinned = await room_store.unpin_message(conn, message.room_id, message.id)
            files = await file_store.of_message(conn, message.id)
            await file_store.remove(conn, files)
            deleted = await message_store.get(conn, widget.imba_id, message.id)
            assert deleted is not None
            uow.emit(
                MessageDeleted(
                    deleted.imba_id, deleted.room_id, deleted.id, deleted.seq, deleted.author_id
                )
            )
            if unpinned:
                uow.emit(PinChanged(deleted.imba_id, deleted.room_id, None))
        if files:
            await self._files.forget_keys(files)
        return deleted

    async def _current(self, widget: Widget) -> Widget:
        """The widget as stored at most a few seconds ago: a socket's copy may predate
        a blocklist change, and reading it on every send would cost a query."""
        return await self._widgets.recent(widget.imba_id)

    async def _message_for(
        self,
        conn: AsyncConnection,
        widget: Widget,
        user: User | None,
        message_id: int,
        *,
        staff_may: bool,
    ) -> Message:
        """A live message the user may change: their own, or (``staff_may``) any in a
        room they moderate; the owner (``user`` None) may change any."""
        message = await message_store.get(conn, widget.imba_id, message_id)
        if message is None or message.deleted_at is not None:
            raise NotFound(f"No message with id {message_id}.", field="message_id")
        if user is None:
            return message
        _, member = await conn.run_sync(require_member, widget, message.room_id, user)
        if message.author_id != user.id and not (
            staff_may and member.role.rank >= MemberRole.MODERATOR.rank
        ):
            who = "the author or a room moderator" if staff_may else "the author"
            raise Forbidden(f"Only {who} may change this message.", field="message_id")
        return message

    async def find(
        self, widget: Widget, query: MessageQuery, page: Page, viewer: User | None = None
    ) -> Slice[Message]:
        async with self._db.read() as conn:
            found = await message_store.find(
                conn, widget.imba_id, query, page, viewer.id if viewer else None
            )
        return replace(
            found, items=[self._links.message(widget.secret_key, m) for m in found.items]
        )
