"""A socket's first moments: who it is (the token, in the URL or an ``auth`` frame),
then ``ready`` and the replay of what it missed (docs/protocol.md §1)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from imbachat import origins
from imbachat.api.deps import path_imba_id
from imbachat.auth.tokens import verify_user_token
from imbachat.config import Settings
from imbachat.domain import User, Widget
from imbachat.errors import ImbaError, NotFound
from imbachat.realtime import frames, protocol
from imbachat.realtime.connection import Connection, Flusher, Socket
from imbachat.realtime.hub import Hub
from imbachat.realtime.replay import replay_rooms
from imbachat.services import Services
from imbachat.states import UserStatus

log = logging.getLogger(__name__)


class AuthFailed(Exception):
    """The socket is refused: closed with ``code`` and a short reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason[:120]  # a close reason must fit in 123 bytes


class Handshake:
    def __init__(self, services: Services, hub: Hub, settings: Settings) -> None:
        self._services = services
        self._hub = hub
        self._settings = settings
        # A reconnect storm let in all at once would have every socket wait for a
        # database connection at the same time, long enough for the pool to time out
        # and the work done for them to be lost; let in by turns, they all get in,
        # as fast as the database allows.
        self._welcoming = asyncio.Semaphore(settings.ws_concurrent_welcomes)
        self._flusher = Flusher()

    async def connect(self, socket: Socket, raw_imba_id: str) -> Connection:
        """The authenticated socket, ``ready`` sent and its replay queued; raises
        AuthFailed for a refused one."""
        try:
            imba_id = path_imba_id(raw_imba_id)
        except NotFound as exc:
            raise AuthFailed(protocol.CLOSE_NOT_FOUND, exc.message) from None
        token, resume_from, guest_token = await self._credentials(socket)
        settings = self._settings
        async with self._welcoming:
            widget, user, expires_at = await self._identify(imba_id, token)
            if not origins.allows(widget.allowed_origins, socket.origin):
                raise AuthFailed(
                    protocol.CLOSE_ORIGIN_REFUSED, "this page's origin may not use this widget"
                )
            if guest_token and user.status != UserStatus.GUEST:
                await self._adopt_guest(widget, user, guest_token)
            if len(self._hub.connections_of(user.id)) >= settings.ws_max_sockets_per_user:
                raise AuthFailed(
                    protocol.CLOSE_TOO_MANY,
                    f"at most {settings.ws_max_sockets_per_user} sockets per user: close one",
                )
            conn = Connection(
                socket,
                widget,
                user,
                self._flusher,
                settings.ws_max_queue,
                settings.ws_max_queue_bytes,
            )
            conn.expires_at = expires_at
            await self._welcome(conn, resume_from)
        return conn

    async def _credentials(self, socket: Socket) -> tuple[str, dict[int, int], str | None]:
        """The token, the positions to resume from (query ``resume=room:seq,…`` or the
        auth frame's ``resume``) and the token of the guest this browser was before
        logging in (``guest``); no database work, so waiting costs nothing."""
        query = socket.query
        token = query.get("token")
        guest = query.get("guest")
        try:
            resume_from = protocol.positions(query.get("resume", ""))
        except protocol.FrameError as exc:
            raise AuthFailed(protocol.CLOSE_PROTOCOL, exc.message) from None
        if token is None:
            frame = await self._auth_frame(socket)
            token, guest = frame["token"], frame.get("guest")
            resume_from = frame.get("resume") or resume_from
        return token, resume_from, guest

    async def _adopt_guest(self, widget: Widget, user: User, guest_token: str) -> None:
        """The browser was a guest before its user logged in: the guest's support
        conversation (and any public room) becomes the user's. A guest token that no
        longer holds is ignored: logging in never fails for it."""
        try:
            named = verify_user_token(widget.secret_key, guest_token)
            if named.guest_id is None:
                return
            guest = await self._services.guests.get(widget, named.guest_id)
            await self._services.guests.convert(widget, guest, user)
        except ImbaError as exc:
            log.info("guest token not adopted by user %s: %s", user.id, exc.message)

    async def _identify(self, imba_id: int, token: str) -> tuple[Widget, User, float]:
        """The widget, the user the token names, and when the token expires."""
        try:
            widget = await self._services.widgets.recent(imba_id)
        except NotFound:
            raise AuthFailed(protocol.CLOSE_NOT_FOUND, f"no widget {imba_id}") from None
        try:
            verified = verify_user_token(
                widget.secret_key, token, self._settings.token_leeway_seconds
            )
        except ImbaError as exc:
            raise AuthFailed(protocol.CLOSE_UNAUTHORIZED, exc.message) from None
        try:
            user = await self._services.users.of_token(widget, verified)
        except ImbaError as exc:
            raise AuthFailed(protocol.CLOSE_UNAUTHORIZED, exc.message) from None
        return widget, user, verified.expires_at

    async def _auth_frame(self, socket: Socket) -> dict[str, Any]:
        try:
            text = await socket.first_message(self._settings.ws_auth_timeout_seconds)
        except TimeoutError:
            raise AuthFailed(protocol.CLOSE_AUTH_TIMEOUT, "send an auth frame first") from None
        if isinstance(text, bytes):
            raise AuthFailed(protocol.CLOSE_UNAUTHORIZED, "the first frame must be auth")
        try:
            frame = protocol.parse(text)
        except protocol.FrameError as exc:
            raise AuthFailed(protocol.CLOSE_UNAUTHORIZED, exc.message) from None
        if frame["type"] != "auth":
            raise AuthFailed(protocol.CLOSE_UNAUTHORIZED, "the first frame must be auth")
        return frame

    async def _welcome(self, conn: Connection, resume_from: dict[int, int]) -> None:
        """Follow the rooms (held), read the room list, send ``ready`` first, replay
        what the client missed (when it said where it was), then release whatever
        arrived meanwhile: the client sees ready, replay, ``resumed``, then live."""
        rooms = self._services.rooms
        room_ids = await rooms.room_ids(conn.user)
        await self._hub.attach(conn, room_ids)
        views, blocked = await asyncio.gather(
            rooms.views(conn.user), self._services.blocks.blocked_ids(conn.user)
        )
        people = {user_id for view in views for user_id in view.member_ids()}
        online = await self._hub.online.online_among(people | {conn.user.id})
        # Frames routed here meanwhile wait in the queue; the writer starts only now,
        # so ``ready`` is always the first frame.
        heartbeat = self._settings.ws_ping_interval_seconds
        conn.push_front(
            frames.ready(
                conn.user,
                views,
                online,
                heartbeat,
                conn.widget,
                self._settings.max_upload_bytes,
                blocked,
            )
        )
        conn.start()
        for view in views:
            self._hub.start_window(conn, view.room.id, view.room.last_seq)
        if resume_from:
            await replay_rooms(self._services.messages, conn, resume_from)
        for room_id in room_ids:
            conn.release(room_id)
