"""What an authenticated socket asks for: one handler per frame type, each a thin
turn of a checked frame (:mod:`protocol`) into a service call, answered with a
frame (:mod:`frames`). Everything that fans out is the hub's, through events."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from imbachat import render
from imbachat.auth.tokens import verify_user_token
from imbachat.domain import Message
from imbachat.errors import Forbidden, ImbaError, NotFound, RateLimited
from imbachat.realtime import calls, everyday, frames, protocol
from imbachat.realtime.connection import Connection
from imbachat.realtime.hub import Hub
from imbachat.realtime.replay import replay_rooms
from imbachat.services import Services
from imbachat.services.guests import GuestDetails
from imbachat.services.messages import SendCommand
from imbachat.services.ratelimit import UserRateLimiter
from imbachat.services.rooms import DEFAULT_TITLE, RoomSpec
from imbachat.services.search import DEFAULT_LIMIT, SearchRequest
from imbachat.states import UserStatus

log = logging.getLogger(__name__)

TYPING_EVERY_SECONDS = 2.0
# Frames whose answer is read from the database (and may be large): a user's are
# counted against the reads budget, all their sockets together.
READS = frozenset(
    {
        "history",
        "resume",
        "search_users",
        "search",
        "public_rooms",
        "open_dialog",
        "join_room",
        "create_room",
        "open_support",
        *everyday.READS,
    }
)

Handler = Callable[[Connection, dict[str, Any]], Awaitable[None]]


def _cost(frame: dict[str, Any]) -> float:
    """What a read costs, in pages of 50 messages (a resume: a room each)."""
    if frame["type"] == "history":
        return max(1.0, float(frame.get("limit", 50)) / 50)
    if frame["type"] == "resume":
        return max(1.0, float(len(frame["rooms"])))
    return 1.0


class Requests:
    def __init__(self, services: Services, hub: Hub) -> None:
        self.services = services
        self.hub = hub
        # Acks waiting for their batch's commit (held here: the loop keeps only weak
        # references to tasks; one set for all sockets costs an idle one nothing).
        self._acknowledging: set[asyncio.Task[None]] = set()
        settings = services.settings
        self._reads = UserRateLimiter(
            settings.ws_reads_per_second,
            settings.ws_read_burst,
            services.clock,
            "Too many requests: wait {wait} s and ask again.",
        )
        self.handlers: dict[str, Handler] = {
            "ping": self._ping,
            "send": self._send,
            "read": self._read,
            "typing": self._typing,
            "history": self._history,
            "resume": self._resume,
            "open_dialog": self._open_dialog,
            "edit": self._edit,
            "join_room": self._join_room,
            "create_room": self._create_room,
            "moderate": self._moderate,
            "set_role": self._set_role,
            "close_room": self._close_room,
            "open_support": self._open_support,
            "public_rooms": self._public_rooms,
            "search_users": self._search_users,
            "search": self._search,
            "alerts": self._alerts,
            "delete": self._delete,
            "auth": self._auth_again,
            **everyday.handlers(services),
            **calls.handlers(services, hub),
        }

    async def handle(self, conn: Connection, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind in READS:
            try:
                self._reads.take(conn.widget.imba_id, conn.user.id, _cost(frame))
            except RateLimited as exc:
                raise protocol.FrameError(429, exc.message, kind) from None
        await self.handlers[kind](conn, frame)

    async def _ping(self, conn: Connection, frame: dict[str, Any]) -> None:
        conn.push(frames.simple("pong", time=time.time()))

    async def _auth_again(self, conn: Connection, frame: dict[str, Any]) -> None:
        raise protocol.FrameError(400, "Already authenticated.", "auth")

    # ---- messages --------------------------------------------------------------

    async def _send(self, conn: Connection, frame: dict[str, Any]) -> None:
        command = SendCommand(
            author_remote_id=conn.user.remote_user_id,
            room_id=frame["room_id"],
            text=frame["text"],
            answer_to=frame.get("answer_to", 0),
            client_id=frame["client_id"],
            origin=self.hub.socket_key(conn),
            attachments=frame.get("attachments", ()),
            mentions=frame.get("mentions", ()),
        )
        # Checked and queued in frame order; the ack follows the group commit while
        # this socket's next frames are already being read (sends pipeline).
        messages = self.services.messages
        stored = messages.enqueue(await messages.prepare(conn.widget, command))
        task = asyncio.create_task(self._acknowledge(conn, command, stored))
        self._acknowledging.add(task)
        task.add_done_callback(self._acknowledging.discard)

    async def _acknowledge(
        self, conn: Connection, command: SendCommand, stored: Awaitable[tuple[Message, bool]]
    ) -> None:
        try:
            message = await self.services.messages.complete(command, stored)
        except ImbaError as exc:
            conn.push(frames.error(exc.status, exc.message, command.client_id))
            return
        except Exception:
            log.exception("storing a message from socket %s failed", conn.id)
            conn.push(
                frames.error(
                    500, "The message could not be stored; send it again.", command.client_id
                )
            )
            return
        # The hub marked the message delivered on this socket in seq order (via
        # origin); the ack answers the request and carries the stored message.
        conn.push(frames.ack(command.client_id or "", message))

    async def _edit(self, conn: Connection, frame: dict[str, Any]) -> None:
        await self.services.messages.edit(
            conn.widget, conn.user, frame["message_id"], frame["text"]
        )

    async def _delete(self, conn: Connection, frame: dict[str, Any]) -> None:
        await self.services.messages.delete(conn.widget, conn.user, frame["message_id"])

    async def _read(self, conn: Connection, frame: dict[str, Any]) -> None:
        await self.services.members.mark_read(
            conn.widget, conn.user, frame["room_id"], frame["seq"]
        )

    async def _typing(self, conn: Connection, frame: dict[str, Any]) -> None:
        room_id = frame["room_id"]
        now = time.monotonic()
        if now - conn.typing_sent.get(room_id, 0.0) < TYPING_EVERY_SECONDS:
            return
        await self.services.members.typing(conn.widget, conn.user, room_id)
        conn.typing_sent[room_id] = now

    async def _history(self, conn: Connection, frame: dict[str, Any]) -> None:
        room_id = frame["room_id"]
        if "around_seq" in frame:
            around = frame["around_seq"]
            page, older, newer = await self.services.messages.history_around(
                conn.widget, conn.user, room_id, around, frame.get("limit", 50)
            )
            conn.push(frames.history(room_id, page, older, around_seq=around, has_newer=newer))
            return
        found, has_more = await self.services.messages.history(
            conn.widget, conn.user, room_id, frame.get("before_seq"), frame.get("limit", 50)
        )
        conn.push(frames.history(room_id, found, has_more))

    async def _resume(self, conn: Connection, frame: dict[str, Any]) -> None:
        """Replay, per room, every message after the client's last seen seq that this
        socket has not delivered yet, in order; then ``resumed``. Live messages that
        arrived between ``ready`` and this frame were already delivered: clients
        that need one strict order pass their positions when connecting instead."""
        rooms = frame["rooms"]
        for room_id in rooms:
            conn.hold(room_id)
        try:
            await replay_rooms(self.services.messages, conn, rooms)
        finally:
            for room_id in rooms:
                conn.release(room_id)

    # ---- rooms -------------------------------------------------------------------

    async def _open_dialog(self, conn: Connection, frame: dict[str, Any]) -> None:
        other = frame["user_id"]
        if "token" in frame:
            # The WordPress plugin's button passes a token it signed for this dialog:
            # never needed, but when given it must be genuine and about this dialog.
            named = verify_user_token(
                conn.widget.secret_key, frame["token"], self.services.settings.token_leeway_seconds
            ).remote_user_id
            if named not in (other, conn.user.remote_user_id):
                raise Forbidden("The token given names neither user of this dialog.", field="token")
        change = await self.services.rooms.open_dialog(conn.widget, conn.user, other)
        await self._opened(conn, change.room.id)

    async def _join_room(self, conn: Connection, frame: dict[str, Any]) -> None:
        spec = RoomSpec(
            title=frame.get("title") or DEFAULT_TITLE,
            pipe=frame["pipe"],
            is_public=frame.get("is_public", 0),
            type=frame["room_type"],
            remote_user_ids=frame["users_ids"],
        )
        change = await self.services.rooms.join_by_pipe(conn.widget, conn.user, spec)
        await self._opened(conn, change.room.id)

    async def _create_room(self, conn: Connection, frame: dict[str, Any]) -> None:
        spec = RoomSpec(
            title=frame["title"],
            is_public=frame.get("is_public", 0),
            type=frame["room_type"],
            remote_user_ids=frame["users_ids"],
        )
        change = await self.services.rooms.create_for(conn.widget, conn.user, spec)
        await self._opened(conn, change.room.id)

    async def _open_support(self, conn: Connection, frame: dict[str, Any]) -> None:
        if conn.user.status == UserStatus.GUEST and ("name" in frame or "email" in frame):
            details = GuestDetails(name=frame.get("name"), email=frame.get("email"))
            conn.user = await self.services.guests.describe(conn.widget, conn.user, details)
        change = await self.services.support.open(conn.widget, conn.user)
        await self._opened(conn, change.room.id)

    async def _opened(self, conn: Connection, room_id: int) -> None:
        """Answer a room request: follow the room and send it as ``room opened``."""
        found = await self.services.rooms.views(conn.user, only={room_id})
        if not found:
            raise NotFound(f"You are not in room {room_id}.", field="room_id")
        [view] = found
        if room_id not in conn.rooms:
            self.hub.follow(conn, room_id, view.room.last_seq)
        online = await self.hub.online.online_among(view.member_ids())
        conn.push(frames.room_event("opened", room=frames.room_item(view, online)))

    async def _public_rooms(self, conn: Connection, frame: dict[str, Any]) -> None:
        found = await self.services.rooms.public(conn.widget)
        conn.push(frames.simple("public_rooms", rooms=[render.room(room) for room in found]))

    async def _search_users(self, conn: Connection, frame: dict[str, Any]) -> None:
        found = await self.services.users.search(conn.widget, conn.user, frame["text"])
        conn.push(frames.users_found(frame["text"], found))

    async def _search(self, conn: Connection, frame: dict[str, Any]) -> None:
        request = SearchRequest(
            text=frame["text"],
            room_id=frame.get("room_id"),
            before=frame.get("before"),
            limit=frame.get("limit", DEFAULT_LIMIT),
        )
        page = await self.services.search.search(
            conn.widget, conn.user, request, cursor_field="before"
        )
        conn.push(frames.search_results(frame["text"], request.room_id, page))

    async def _alerts(self, conn: Connection, frame: dict[str, Any]) -> None:
        """No direct answer: every socket of the user gets ``alerts``."""
        await self.services.alerts.choose(
            conn.widget,
            conn.user,
            email=frame.get("email"),
            room_id=frame.get("room_id"),
            muted=frame.get("muted"),
        )

    # ---- room staff ------------------------------------------------------------------

    async def _moderate(self, conn: Connection, frame: dict[str, Any]) -> None:
        await self.services.moderation.act(
            conn.widget,
            frame["action"],
            frame["user_id"],
            room_id=frame["room_id"],
            actor=conn.user,
            seconds=frame.get("seconds"),
        )

    async def _set_role(self, conn: Connection, frame: dict[str, Any]) -> None:
        await self.services.moderation.set_role(
            conn.widget, frame["room_id"], frame["user_id"], frame["role"], conn.user
        )

    async def _close_room(self, conn: Connection, frame: dict[str, Any]) -> None:
        await self.services.moderation.close_room(conn.widget, frame["room_id"], conn.user)
