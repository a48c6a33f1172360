"""The WebSocket endpoint: authenticate, send ``ready``, then serve frames.

Handlers are thin: each turns a frame into a service call and answers with a
frame; the hub does everything that fans out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from starlette.websockets import WebSocket, WebSocketDisconnect

from imbachat import render
from imbachat.api.deps import path_imba_id
from imbachat.auth.tokens import verify_user_token
from imbachat.config import Settings
from imbachat.domain import Message, User, Widget
from imbachat.errors import ImbaError, NotFound
from imbachat.realtime import protocol
from imbachat.realtime.connection import Connection, Flusher
from imbachat.realtime.hub import Hub
from imbachat.services import Services
from imbachat.services.messages import SendCommand
from imbachat.services.rooms import DEFAULT_TITLE, RoomSpec

log = logging.getLogger(__name__)
router = APIRouter()

MAX_REPLAY_PER_ROOM = 5_000
REPLAY_PAGE = 500
TYPING_EVERY_SECONDS = 2.0
MAX_BAD_FRAMES = 20


class AuthFailed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason[:120]  # a close reason must fit in 123 bytes


@router.websocket("/imbachat/v1/{imba_id}/ws")
async def websocket_endpoint(ws: WebSocket, imba_id: str) -> None:
    gateway: Gateway = ws.app.state.gateway
    await gateway.serve(ws, imba_id)


class Gateway:
    def __init__(self, services: Services, hub: Hub, settings: Settings) -> None:
        self.services = services
        self.hub = hub
        self.settings = settings
        self._welcoming = asyncio.Semaphore(settings.ws_concurrent_welcomes)
        self._flusher = Flusher()
        self._handlers: dict[str, Callable[[Connection, dict[str, Any]], Awaitable[None]]] = {
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
            "delete": self._delete,
            "auth": self._auth_again,
        }

    async def serve(self, ws: WebSocket, raw_imba_id: str) -> None:
        await ws.accept()
        conn: Connection | None = None
        try:
            try:
                try:
                    imba_id = path_imba_id(raw_imba_id)
                except NotFound as exc:
                    raise AuthFailed(protocol.CLOSE_NOT_FOUND, exc.message) from None
                token, resume_from = await self._credentials(ws)
                # A reconnect storm let in all at once would have every socket wait
                # for a database connection at the same time, long enough for the
                # pool to time out and the work done for them to be lost; let in by
                # turns, they all get in, as fast as the database allows.
                async with self._welcoming:
                    widget, user = await self._identify(imba_id, token)
                    conn = Connection(ws, widget, user, self.settings.ws_max_queue, self._flusher)
                    await self._welcome(conn, resume_from)
            except AuthFailed as failure:
                await ws.close(failure.code, failure.reason)
                return
            await self._serve_frames(conn)
        except WebSocketDisconnect:
            pass
        finally:
            if conn is not None:
                await self.hub.detach(conn)
                await conn.stop()

    async def _credentials(self, ws: WebSocket) -> tuple[str, dict[int, int]]:
        """The token and the positions to resume from (query ``resume=room:seq,…`` or
        the auth frame's ``resume``); no database work, so waiting costs nothing."""
        token = ws.query_params.get("token")
        try:
            resume_from = protocol.positions(ws.query_params.get("resume", ""))
        except protocol.FrameError as exc:
            raise AuthFailed(protocol.CLOSE_PROTOCOL, exc.message) from None
        if token is None:
            token, in_frame = await self._auth_frame(ws)
            resume_from = in_frame or resume_from
        return token, resume_from

    async def _identify(self, imba_id: int, token: str) -> tuple[Widget, User]:
        """The widget and the user the token names."""
        try:
            widget = await self.services.widgets.recent(imba_id)
        except NotFound:
            raise AuthFailed(protocol.CLOSE_NOT_FOUND, f"no widget {imba_id}") from None
        try:
            remote_id = verify_user_token(widget.secret_key, token)
        except ImbaError as exc:
            raise AuthFailed(protocol.CLOSE_UNAUTHORIZED, exc.message) from None
        [user] = await self.services.users.ensure(widget, [remote_id])
        return widget, user

    async def _auth_frame(self, ws: WebSocket) -> tuple[str, dict[int, int]]:
        try:
            text = await asyncio.wait_for(ws.receive_text(), self.settings.ws_auth_timeout_seconds)
        except TimeoutError:
            raise AuthFailed(protocol.CLOSE_AUTH_TIMEOUT, "send an auth frame first") from None
        except KeyError:  # a binary frame
            raise AuthFailed(protocol.CLOSE_UNAUTHORIZED, "the first frame must be auth") from None
        try:
            frame = protocol.parse(text)
        except protocol.FrameError as exc:
            raise AuthFailed(protocol.CLOSE_UNAUTHORIZED, exc.message) from None
        if frame["type"] != "auth":
            raise AuthFailed(protocol.CLOSE_UNAUTHORIZED, "the first frame must be auth")
        return frame["token"], frame.get("resume", {})

    async def _welcome(self, conn: Connection, resume_from: dict[int, int]) -> None:
        """Follow the rooms (held), read the room list, send ``ready`` first, replay
        what the client missed (when it said where it was), then release whatever
        arrived meanwhile: the client sees ready, replay, ``resumed``, then live."""
        room_ids = await self.services.rooms.room_ids(conn.user)
        await self.hub.attach(conn, room_ids)
        views = await self.services.rooms.views(conn.user)
        people = {user_id for view in views for user_id in view.member_ids()}
        online = await self.hub.online_among(people | {conn.user.id})
        # Frames routed here meanwhile wait in the queue; the writer starts only now,
        # so ``ready`` is always the first frame.
        conn.push_front(
            protocol.ready(conn.user, views, online, self.settings.ws_ping_interval_seconds)
        )
        conn.start()
        for view in views:
            conn.start_window(view.room.id, view.room.last_seq)
            self.hub.started_window(view.room.id, view.room.last_seq)
        if resume_from:
            await self._replay_rooms(conn, resume_from)
        for room_id in room_ids:
            conn.release(room_id)

    async def _serve_frames(self, conn: Connection) -> None:
        bad_frames = 0
        while not conn.closing:
            message = await conn.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("text") or message.get("bytes") or b""
            frame: dict[str, Any] | None = None
            try:
                frame = protocol.parse(data)
                await self._handlers[frame["type"]](conn, frame)
            except protocol.FrameError as exc:
                bad_frames += 1
                conn.push(protocol.error(exc.code, exc.message, exc.ref))
                if bad_frames > MAX_BAD_FRAMES:
                    conn.close_soon(protocol.CLOSE_PROTOCOL, "too many invalid frames")
            except ImbaError as exc:
                ref = frame.get("client_id", frame["type"]) if frame else None
                conn.push(protocol.error(exc.status, exc.message, ref))

    # ---- frame handlers ----------------------------------------------------

    async def _ping(self, conn: Connection, frame: dict[str, Any]) -> None:
        conn.push(protocol.simple("pong", time=time.time()))

    async def _auth_again(self, conn: Connection, frame: dict[str, Any]) -> None:
        raise protocol.FrameError(400, "Already authenticated.", "auth")

    async def _send(self, conn: Connection, frame: dict[str, Any]) -> None:
        command = SendCommand(
            author_remote_id=conn.user.remote_user_id,
            room_id=frame["room_id"],
            text=frame["text"],
            answer_to=frame.get("answer_to", 0),
            client_id=frame["client_id"],
            origin=self.hub.socket_key(conn),
        )
        # Checked and queued in frame order; the ack follows the group commit while
        # this socket's next frames are already being read (sends pipeline).
        messages = self.services.messages
        stored = messages.enqueue(await messages.prepare(conn.widget, command))
        task = asyncio.create_task(self._acknowledge(conn, command, stored))
        conn.sending.add(task)
        task.add_done_callback(conn.sending.discard)

    async def _acknowledge(
        self, conn: Connection, command: SendCommand, stored: Awaitable[tuple[Message, bool]]
    ) -> None:
        try:
            message = await self.services.messages.complete(command, stored)
        except ImbaError as exc:
            conn.push(protocol.error(exc.status, exc.message, command.client_id))
            return
        except Exception:
            log.exception("storing a message from socket %s failed", conn.id)
            conn.push(
                protocol.error(
                    500, "The message could not be stored; send it again.", command.client_id
                )
            )
            return
        # The hub marked the message delivered on this socket in seq order (via
        # origin); the ack answers the request and carries the stored message.
        conn.push(protocol.ack(command.client_id or "", message))

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
        found, has_more = await self.services.messages.history(
            conn.widget, conn.user, room_id, frame.get("before_seq"), frame.get("limit", 50)
        )
        conn.push(protocol.history(room_id, found, has_more))

    async def _resume(self, conn: Connection, frame: dict[str, Any]) -> None:
        """Replay, per room, every message after the client's last seen seq that this
        socket has not delivered yet, in order; then ``resumed``. Live messages that
        arrived between ``ready`` and this frame were already delivered: clients
        that need one strict order pass their positions when connecting instead."""
        rooms = frame["rooms"]
        for room_id in rooms:
            conn.hold(room_id)
        try:
            await self._replay_rooms(conn, rooms)
        finally:
            for room_id in rooms:
                conn.release(room_id)

    async def _replay_rooms(self, conn: Connection, positions: dict[int, int]) -> None:
        reached: dict[int, int] = {}
        truncated: list[int] = []
        for room_id, last_seen in positions.items():
            if room_id not in conn.rooms:
                conn.push(protocol.error(403, f"Not a member of room {room_id}.", "resume"))
                continue
            reached[room_id], cut = await self._replay(conn, room_id, last_seen)
            if cut:
                truncated.append(room_id)
        # Replayed frames are self-inflicted volume: let them drain before the held
        # live frames count against the socket's queue again.
        await conn.drained()
        conn.push_replayed(protocol.resumed(reached, truncated))

    async def _replay(self, conn: Connection, room_id: int, last_seen: int) -> tuple[int, bool]:
        """Queue the room's messages after ``last_seen`` that this socket has not
        delivered, page by page, waiting for the socket to drain between pages."""
        low, high = conn.window(room_id)
        after, sent = last_seen, 0
        while sent < MAX_REPLAY_PER_ROOM:
            page = await self.services.messages.replay(
                conn.widget, conn.user, room_id, after, REPLAY_PAGE
            )
            for record in page:
                if not low < record.seq <= high:
                    conn.push_replayed(protocol.message_of(record))
            if page:
                after = page[-1].seq
                sent += len(page)
            if len(page) < REPLAY_PAGE:
                conn.replayed(room_id, last_seen, after)
                return max(after, conn.high(room_id)), False
            await conn.drained()
        conn.replayed(room_id, last_seen, after)
        return after, True

    async def _open_dialog(self, conn: Connection, frame: dict[str, Any]) -> None:
        change = await self.services.rooms.open_dialog(conn.widget, conn.user, frame["user_id"])
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

    async def _opened(self, conn: Connection, room_id: int) -> None:
        """Answer a room request: follow the room and send it as ``room opened``."""
        found = await self.services.rooms.views(conn.user, only={room_id})
        if not found:
            raise NotFound(f"You are not in room {room_id}.", field="room_id")
        [view] = found
        if room_id not in conn.rooms:
            self.hub.follow(conn, room_id, view.room.last_seq)
        online = await self.hub.online_among(view.member_ids())
        conn.push(protocol.room_event("opened", room=protocol.room_item(view, online)))

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

    async def _open_support(self, conn: Connection, frame: dict[str, Any]) -> None:
        change = await self.services.support.open(conn.widget, conn.user)
        await self._opened(conn, change.room.id)

    async def _public_rooms(self, conn: Connection, frame: dict[str, Any]) -> None:
        found = await self.services.rooms.public(conn.widget)
        conn.push(protocol.simple("public_rooms", rooms=[render.room(room) for room in found]))

    async def _search_users(self, conn: Connection, frame: dict[str, Any]) -> None:
        found = await self.services.users.search(conn.widget, conn.user, frame["text"])
        conn.push(protocol.users_found(frame["text"], found))

    async def _edit(self, conn: Connection, frame: dict[str, Any]) -> None:
        await self.services.messages.edit(
            conn.widget, conn.user, frame["message_id"], frame["text"]
        )

    async def _delete(self, conn: Connection, frame: dict[str, Any]) -> None:
        await self.services.messages.delete(conn.widget, conn.user, frame["message_id"])
