"""This node's sockets, by user and by room, and the routing of bus events to them.

The hub only routes: frames come from :mod:`frames` (encoded once, the same text
queued on every socket that gets it), messages are released in seq order by
:mod:`ordering`, presence is :mod:`presence`'s. Most events go to a room or a
user as :func:`frames.delivery_of` says; the hub handles the few whose audience
changes with them (sockets start or stop following a room).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Iterable

from imbachat.bus.base import Bus
from imbachat.clock import unix
from imbachat.errors import NotFound
from imbachat.events import (
    CallAnswered,
    CallEnded,
    CallResumed,
    CallSignalled,
    CallStarted,
    Event,
    MemberRemoved,
    MembersAdded,
    MessageNew,
    PresenceChanged,
    RoomCreated,
    UserErased,
    UsersUpdated,
)
from imbachat.numbers import parse_int
from imbachat.realtime import frames
from imbachat.realtime.connection import Connection
from imbachat.realtime.ordering import RoomOrdering
from imbachat.realtime.presence import OnlineStatus
from imbachat.realtime.protocol import CLOSE_CREDENTIALS_EXPIRED
from imbachat.services import Services

log = logging.getLogger(__name__)


class Hub:
    def __init__(self, services: Services, bus: Bus, online: OnlineStatus) -> None:
        self.node_id = secrets.token_hex(4)
        self._services = services
        self.online = online
        self._by_user: dict[int, set[Connection]] = {}
        self._by_room: dict[int, set[Connection]] = {}
        self.ordering = RoomOrdering(self._release, services.messages.between)
        self._watcher: asyncio.Task[None] | None = None
        # This node's sockets in a call ("node:socket" -> call id): kept in their calls
        # while open (see realtime.calls); a socket that closes is dropped at once.
        self.call_sockets: dict[str, int] = {}
        bus.subscribe(self.on_event)

    # ---- sockets ------------------------------------------------------------

    def socket_key(self, conn: Connection) -> str:
        return f"{self.node_id}:{conn.id}"

    @property
    def connections(self) -> int:
        return sum(len(conns) for conns in self._by_user.values())

    def connections_of(self, user_id: int) -> list[Connection]:
        """This node's sockets of a user (by imbachat user id)."""
        return list(self._by_user.get(user_id, ()))

    async def attach(self, conn: Connection, room_ids: Iterable[int]) -> None:
        """Route the user's events and their rooms' messages to the socket; the rooms
        stay held until the caller starts their windows."""
        self._by_user.setdefault(conn.user.id, set()).add(conn)
        for room_id in room_ids:
            self.follow(conn, room_id, None)
        await self.online.opened(self.socket_key(conn), conn.user, conn.rooms)

    async def detach(self, conn: Connection) -> None:
        self.call_sockets.pop(self.socket_key(conn), None)
        rooms = set(conn.rooms)
        user_conns = self._by_user.get(conn.user.id, set())
        user_conns.discard(conn)
        if not user_conns:
            self._by_user.pop(conn.user.id, None)
        for room_id in rooms:
            self.unfollow(conn, room_id)
        last_here = conn.user.id not in self._by_user
        await self.online.closed(self.socket_key(conn), conn.user, rooms, last_here)

    def follow(self, conn: Connection, room_id: int, last_seq: int | None) -> None:
        conn.know_room(room_id, last_seq)
        self._by_room.setdefault(room_id, set()).add(conn)
        if last_seq is not None:
            self.ordering.start(room_id, last_seq)

    def unfollow(self, conn: Connection, room_id: int) -> None:
        conn.forget_room(room_id)
        followers = self._by_room.get(room_id)
        if followers is not None:
            followers.discard(conn)
            if not followers:
                del self._by_room[room_id]
                self.ordering.forget(room_id)

    def start_window(self, conn: Connection, room_id: int, last_seq: int) -> None:
        """The socket's live stream of the room starts after ``last_seq``."""
        conn.start_window(room_id, last_seq)
        self.ordering.start(room_id, last_seq)

    def followed(self, room_id: int) -> bool:
        return room_id in self._by_room

    def close_all(self, code: int, reason: str) -> None:
        for conns in list(self._by_user.values()):
            for conn in list(conns):
                conn.close_soon(code, reason)

    def watch_credentials(self, every_seconds: float) -> None:
        """Close, every so often, sockets whose credentials no longer hold."""

        async def watch() -> None:
            while True:
                await asyncio.sleep(every_seconds)
                try:
                    await self.check_credentials()
                except Exception:
                    log.exception("checking the sockets' credentials failed")

        self._watcher = asyncio.create_task(watch(), name="credentials-watch")

    async def check_credentials(self) -> int:
        """Close (4003) the sockets whose token expired, or whose widget's secret key
        changed since they authenticated (rotated here, on another node or by the
        CLI); returns how many. The widget reads the host page for a new token."""
        now = unix(self._services.clock.now())
        by_widget: dict[int, list[Connection]] = {}
        closed = 0
        for user_conns in self._by_user.values():
            for conn in user_conns:
                if conn.closing:
                    continue
                if conn.expires_at <= now:
                    conn.close_soon(CLOSE_CREDENTIALS_EXPIRED, "token expired: get a new one")
                    closed += 1
                else:
                    by_widget.setdefault(conn.widget.imba_id, []).append(conn)
        for imba_id, widget_conns in by_widget.items():
            try:
                secret = (await self._services.widgets.recent(imba_id)).secret_key
            except NotFound:
                secret = None
            for conn in widget_conns:
                if conn.widget.secret_key != secret:
                    conn.close_soon(CLOSE_CREDENTIALS_EXPIRED, "secret changed: get a new token")
                    closed += 1
        return closed

    async def resync(self) -> None:
        """The bus was interrupted: catch every followed room up from the database."""
        await self.ordering.resync(self.followed)

    # ---- routing -------------------------------------------------------------

    async def on_event(self, event: Event) -> None:
        match event:
            case MessageNew():
                if event.room_id in self._by_room:
                    text = frames.message(event.message)
                    self.ordering.sequence(event.room_id, event.message.seq, text, event.origin)
            case RoomCreated():
                await self._join_local(event.room_id, event.member_ids, "created")
            case MembersAdded():
                await self._members_added(event)
            case MemberRemoved():
                self._member_removed(event)
            case PresenceChanged():
                self._presence(event)
            case CallStarted() | CallAnswered() | CallResumed() | CallEnded():
                self._call_changed(event)
            case CallSignalled():
                self._call_signal(event)
            case UserErased():
                self._user_erased(event)
            case UsersUpdated():
                await self._users_updated(event)
            case _:
                delivery = frames.delivery_of(event)
                if isinstance(delivery, frames.ToRoom):
                    self.push_to_room(delivery.room_id, delivery.text, delivery.skip_user_id)
                elif isinstance(delivery, frames.ToUser):
                    for conn in self._by_user.get(delivery.user_id, ()):
                        conn.push(delivery.text)
                elif isinstance(delivery, frames.ToUsers):
                    for user_id in delivery.user_ids:
                        for conn in self._by_user.get(user_id, ()):
                            conn.push(delivery.text)

    def push_to_room(self, room_id: int, text: str, skip_user_id: int | None = None) -> None:
        """Queue one encoded frame on every socket following the room."""
        for conn in self._by_room.get(room_id, ()):
            if conn.user.id != skip_user_id:
                conn.push(text)

    def _release(self, room_id: int, seq: int, text: str, origin: str | None) -> None:
        """A message in order: to every socket following the room; the one that sent
        it only marks it delivered (its ack answers it)."""
        own_id = self._local_socket_id(origin)
        for conn in self._by_room.get(room_id, ()):
            conn.deliver(room_id, seq, None if conn.id == own_id else text)

    def _local_socket_id(self, origin: str | None) -> int | None:
        """The id of this node's socket named by ``origin`` (None if on another node)."""
        if origin is None:
            return None
        node, _, socket_id = origin.partition(":")
        return parse_int(socket_id) if node == self.node_id else None

    async def _members_added(self, event: MembersAdded) -> None:
        newcomers = {user.id for user in event.users}
        if event.room_id in self._by_room:
            online = await self.online.online_among(newcomers)
            people = [frames.newcomer_item(user, user.id in online) for user in event.users]
            text = frames.room_event("member_added", room_id=event.room_id, users=people)
            for conn in self._by_room[event.room_id]:
                if conn.user.id not in newcomers:
                    conn.push(text)
        await self._join_local(event.room_id, [user.id for user in event.users], "joined")

    async def _join_local(self, room_id: int, user_ids: Iterable[int], action: str) -> None:
        """Sockets of users who are new in the room start following it."""
        for user_id in user_ids:
            conns = [c for c in self._by_user.get(user_id, ()) if room_id not in c.rooms]
            if not conns:
                continue
            [view] = await self._services.rooms.views(conns[0].user, only={room_id})
            online = await self.online.online_among(view.member_ids())
            text = frames.room_event(action, room=frames.room_item(view, online))
            for conn in conns:
                self.follow(conn, room_id, view.room.last_seq)
                conn.push(text)

    def _member_removed(self, event: MemberRemoved) -> None:
        self.push_to_room(event.room_id, frames.member_removed(event), skip_user_id=event.user_id)
        for conn in self.connections_of(event.user_id):
            if event.room_id in conn.rooms:
                self.unfollow(conn, event.room_id)
                conn.push(frames.removed(event.room_id))

    def _call_changed(self, event: CallStarted | CallAnswered | CallResumed | CallEnded) -> None:
        """Every socket of both parties gets the call's state; the socket in the call
        is told so (``here``), and is kept in it here while it stays open."""
        call = event.call
        change = event.change
        inside = {call.caller_socket, call.callee_socket} - {None}
        texts = {here: frames.call(call, change, here=here) for here in (False, True)}
        for user_id in call.party_ids():
            for conn in self._by_user.get(user_id, ()):
                key = self.socket_key(conn)
                here = key in inside
                if here and not isinstance(event, CallEnded):
                    self.call_sockets[key] = call.id
                elif self.call_sockets.get(key) == call.id:
                    del self.call_sockets[key]
                conn.push(texts[here])

    def _call_signal(self, event: CallSignalled) -> None:
        """Only to the socket in the call it is meant for, if it is on this node."""
        socket_id = self._local_socket_id(event.to_socket)
        for conn in self._by_user.get(event.to_user_id, ()):
            if conn.id == socket_id:
                conn.push(frames.call_signal(event))

    def _presence(self, event: PresenceChanged) -> None:
        """To every socket sharing a room with the user, once, never the user's own."""
        text = frames.presence(event)
        told: set[int] = set()
        for room_id in event.room_ids:
            for conn in self._by_room.get(room_id, ()):
                if conn.id not in told and conn.user.id != event.user_id:
                    told.add(conn.id)
                    conn.push(text)

    def _user_erased(self, event: UserErased) -> None:
        """Every socket sharing a room with the erased user is told once; the user's
        own sockets are closed (signed in as someone who no longer exists, they
        would go on writing about them: blocks, presence). The page signs in again,
        as a new user."""
        text = frames.user_erased(event)
        told: set[int] = set()
        for room_id in event.room_ids:
            for conn in list(self._by_room.get(room_id, ())):
                if conn.user.id != event.user_id and conn.id not in told:
                    told.add(conn.id)
                    conn.push(text)
        for conn in list(self._by_user.get(event.user_id, ())):
            conn.close_soon(CLOSE_CREDENTIALS_EXPIRED, "this user was erased: sign in again")

    async def _users_updated(self, event: UsersUpdated) -> None:
        """Tell each socket about the updated users it shares a room with (and about
        its own user): one frame per socket, with only those users."""
        people = {user.id: user for user in event.users}
        if not self._by_room and not any(user_id in self._by_user for user_id in people):
            return
        rooms_of = await self._services.rooms.room_ids_of_users(list(people))
        told: dict[Connection, list[int]] = {}
        for user_id in people:
            audience = set(self._by_user.get(user_id, ()))
            for room_id in rooms_of.get(user_id, ()):
                audience.update(self._by_room.get(room_id, ()))
            for conn in audience:
                told.setdefault(conn, []).append(user_id)
        texts: dict[tuple[int, ...], str] = {}
        for conn, user_ids in told.items():
            key = tuple(user_ids)
            if key not in texts:
                texts[key] = frames.users_updated([people[u] for u in user_ids])
            conn.push(texts[key])

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
        self.ordering.close()
        await self.online.close()
