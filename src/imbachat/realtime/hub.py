"""This node's sockets and the routing of bus events to them.

Every event is encoded once here and the same text is queued on each socket
that should see it. Messages of a room are released in ``seq`` order: an event
that arrives ahead of a missing one (possible when several nodes publish) is
held briefly, and the gap is filled from the database if it does not arrive.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Iterable
from typing import Any

from imbachat import events
from imbachat.bus.base import Bus, Event
from imbachat.domain import User
from imbachat.realtime import protocol
from imbachat.realtime.connection import Connection
from imbachat.realtime.presence import Presence
from imbachat.services import Services

log = logging.getLogger(__name__)

GAP_WAIT_SECONDS = 0.25
RESYNC_PAGE = 500  # messages of one room read at a time after a bus outage


class _RoomOrder:
    __slots__ = ("filling", "next_seq", "pending")

    def __init__(self, next_seq: int) -> None:
        self.next_seq = next_seq
        self.pending: dict[int, tuple[str, str | None]] = {}
        self.filling = False


class Hub:
    def __init__(
        self, services: Services, bus: Bus, presence: Presence, offline_grace: float
    ) -> None:
        self.node_id = secrets.token_hex(4)
        self._services = services
        self._bus = bus
        self._presence = presence
        self._offline_grace = offline_grace
        self._by_user: dict[int, set[Connection]] = {}
        self._by_room: dict[int, set[Connection]] = {}
        self._order: dict[int, _RoomOrder] = {}
        self._going_offline: dict[int, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.resync_page = RESYNC_PAGE
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
        leaving = self._going_offline.pop(conn.user.id, None)
        came_online = await self._presence.join(self.socket_key(conn), conn.user.id)
        if leaving is not None:
            leaving.cancel()  # back within the grace period: nobody saw them leave
        elif came_online:
            await self._announce_presence(conn.widget.imba_id, conn.user, True, conn.rooms)

    async def detach(self, conn: Connection) -> None:
        rooms = set(conn.rooms)
        user_conns = self._by_user.get(conn.user.id, set())
        user_conns.discard(conn)
        if not user_conns:
            self._by_user.pop(conn.user.id, None)
        for room_id in rooms:
            self.unfollow(conn, room_id)
        await self._presence.leave(self.socket_key(conn), conn.user.id)
        if conn.user.id not in self._by_user:
            task = asyncio.create_task(self._offline_later(conn, rooms))
            self._going_offline[conn.user.id] = task

    async def _offline_later(self, conn: Connection, rooms: set[int]) -> None:
        await asyncio.sleep(self._offline_grace)
        self._going_offline.pop(conn.user.id, None)
        if not await self._presence.online_among([conn.user.id]):
            await self._announce_presence(conn.widget.imba_id, conn.user, False, rooms)

    async def _announce_presence(
        self, imba_id: int, user: User, online: bool, rooms: Iterable[int]
    ) -> None:
        event = events.presence(imba_id, user.id, user.remote_user_id, online, rooms)
        await self._bus.publish(event)

    def follow(self, conn: Connection, room_id: int, last_seq: int | None) -> None:
        conn.know_room(room_id, last_seq)
        self._by_room.setdefault(room_id, set()).add(conn)
        if last_seq is not None and room_id not in self._order:
            self._order[room_id] = _RoomOrder(last_seq + 1)

    def unfollow(self, conn: Connection, room_id: int) -> None:
        conn.forget_room(room_id)
        followers = self._by_room.get(room_id)
        if followers is not None:
            followers.discard(conn)
            if not followers:
                del self._by_room[room_id]
                self._order.pop(room_id, None)

    def started_window(self, room_id: int, last_seq: int) -> None:
        self._order.setdefault(room_id, _RoomOrder(last_seq + 1))

    async def online_among(self, user_ids: Iterable[int]) -> set[int]:
        return await self._presence.online_among(user_ids)

    def close_all(self, code: int, reason: str) -> None:
        for conns in list(self._by_user.values()):
            for conn in list(conns):
                conn.close_soon(code, reason)

    # ---- events -------------------------------------------------------------

    async def on_event(self, event: Event) -> None:
        handler = _HANDLERS.get(event.type)
        if handler is not None:
            await handler(self, event)

    async def _on_message(self, event: Event) -> None:
        room_id = event.room_id
        assert room_id is not None
        if room_id not in self._by_room:
            return
        message: dict[str, Any] = event.payload["message"]
        text = protocol.message(room_id, message)
        self._sequence(room_id, message["seq"], text, event.payload.get("origin"))

    def _sequence(self, room_id: int, seq: int, text: str, origin: str | None) -> None:
        order = self._order.get(room_id)
        if order is None:
            order = self._order[room_id] = _RoomOrder(seq)
        if seq > order.next_seq:
            order.pending[seq] = (text, origin)
            if not order.filling:
                order.filling = True
                self._spawn(self._fill_gap(room_id, order))
            return
        self._fan_out_message(room_id, seq, text, origin)
        if seq == order.next_seq:
            order.next_seq += 1
            while order.next_seq in order.pending:
                pending_text, pending_origin = order.pending.pop(order.next_seq)
                self._fan_out_message(room_id, order.next_seq, pending_text, pending_origin)
                order.next_seq += 1

    async def _fill_gap(self, room_id: int, order: _RoomOrder) -> None:
        """A later message arrived first: wait for the missing ones briefly, then
        read them from the database and release everything in order."""
        try:
            await asyncio.sleep(GAP_WAIT_SECONDS)
            while order.pending and self._order.get(room_id) is order:
                first_pending = min(order.pending)
                if first_pending > order.next_seq:
                    missing = await self._services.messages.between(
                        room_id, order.next_seq - 1, first_pending - 1
                    )
                    for record in missing:
                        if record.seq >= order.next_seq:
                            self._fan_out_message(
                                room_id, record.seq, protocol.message_of(record), None
                            )
                    order.next_seq = first_pending
                while order.next_seq in order.pending:
                    text, origin = order.pending.pop(order.next_seq)
                    self._fan_out_message(room_id, order.next_seq, text, origin)
                    order.next_seq += 1
        finally:
            order.filling = False

    def _fan_out_message(self, room_id: int, seq: int, text: str, origin: str | None) -> None:
        own_id = self._local_socket_id(origin)
        for conn in self._by_room.get(room_id, ()):
            conn.deliver(room_id, seq, None if conn.id == own_id else text)

    def _local_socket_id(self, origin: str | None) -> int | None:
        """The id of this node's socket named by ``origin`` (None if on another node)."""
        if origin is None:
            return None
        node, _, socket_id = origin.partition(":")
        return int(socket_id) if node == self.node_id and socket_id.isdigit() else None

    def push_to_room(self, room_id: int | None, text: str, skip_user: int | None = None) -> None:
        """Queue one encoded frame on every socket following the room."""
        self._to_room(room_id, text, skip_user)

    def _to_room(self, room_id: int | None, text: str, skip_user: int | None = None) -> None:
        for conn in self._by_room.get(room_id or 0, ()):
            if conn.user.id != skip_user:
                conn.push(text)

    async def _on_edited(self, event: Event) -> None:
        text = protocol.simple(
            "message_edited", room_id=event.room_id, message=event.payload["message"]
        )
        self._to_room(event.room_id, text)

    async def _on_deleted(self, event: Event) -> None:
        text = protocol.simple("message_deleted", **event.payload)
        self._to_room(event.room_id, text)

    async def _on_typing(self, event: Event) -> None:
        text = protocol.simple("typing", room_id=event.room_id, user_id=event.payload["user_id"])
        self._to_room(event.room_id, text, skip_user=event.payload["member_id"])

    async def _on_read(self, event: Event) -> None:
        payload = event.payload
        text = protocol.simple(
            "read", room_id=event.room_id, user_id=payload["user_id"], seq=payload["seq"]
        )
        self._to_room(event.room_id, text)

    async def _on_presence(self, event: Event) -> None:
        payload = event.payload
        text = protocol.simple("presence", user_id=payload["user_id"], online=payload["online"])
        told: set[int] = set()
        for room_id in payload["room_ids"]:
            for conn in self._by_room.get(room_id, ()):
                if conn.id not in told and conn.user.id != payload["member_id"]:
                    told.add(conn.id)
                    conn.push(text)

    async def _on_users_updated(self, event: Event) -> None:
        """Tell each socket about the updated users it shares a room with (and about
        its own user): one frame per socket, with only those users."""
        people = {person["id"]: person for person in event.payload["users"]}
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
        frames: dict[tuple[int, ...], str] = {}
        for conn, user_ids in told.items():
            key = tuple(user_ids)
            if key not in frames:
                frames[key] = protocol.users_updated([people[u] for u in user_ids])
            conn.push(frames[key])

    async def _on_room_created(self, event: Event) -> None:
        await self._join_local(event, "created")

    async def _on_member_added(self, event: Event) -> None:
        payload = event.payload
        newcomers = set(payload["member_ids"])
        if event.room_id in self._by_room:
            online = await self._presence.online_among(newcomers)
            people = [
                protocol.member_of_rendered(person, person["id"] in online)
                for person in payload["users"]
            ]
            text = protocol.room_event("member_added", room_id=event.room_id, users=people)
            for conn in self._by_room[event.room_id]:
                if conn.user.id not in newcomers:
                    conn.push(text)
        await self._join_local(event, "joined")

    async def _join_local(self, event: Event, action: str) -> None:
        """Sockets of users who are new in the room start following it."""
        room_id = event.room_id
        assert room_id is not None
        for member_id in event.payload["member_ids"]:
            conns = [c for c in self._by_user.get(member_id, ()) if room_id not in c.rooms]
            if not conns:
                continue
            [view] = await self._services.rooms.views(conns[0].user, only={room_id})
            online = await self._presence.online_among(view.member_ids())
            text = protocol.room_event(action, room=protocol.room_item(view, online))
            for conn in conns:
                self.follow(conn, room_id, view.room.last_seq)
                conn.push(text)

    async def resync(self) -> None:
        """The bus was interrupted: catch every followed room up from the database,
        a page at a time, so a long outage is neither read into memory in one go nor
        holds the event loop (a socket that cannot keep up is closed as too slow and
        resumes by replay)."""
        for room_id, order in list(self._order.items()):
            while room_id in self._by_room and self._order.get(room_id) is order:
                after = order.next_seq - 1
                missed = await self._services.messages.between(
                    room_id, after, after + self.resync_page
                )
                for record in missed:
                    self._sequence(room_id, record.seq, protocol.message_of(record), None)
                if len(missed) < self.resync_page or order.next_seq - 1 == after:
                    break
                await asyncio.sleep(0)  # let the sockets drain between pages

    def _spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in [*self._tasks, *self._going_offline.values()]:
            task.cancel()
        self._tasks.clear()
        self._going_offline.clear()


async def _on_member_removed(hub: Hub, event: Event) -> None:
    room_id = event.room_id
    assert room_id is not None
    removed = event.payload["member_id"]
    hub.push_to_room(
        room_id,
        protocol.room_event("member_removed", room_id=room_id, user_id=event.payload["user_id"]),
        skip_user=removed,
    )
    for conn in hub.connections_of(removed):
        if room_id in conn.rooms:
            hub.unfollow(conn, room_id)
            conn.push(protocol.room_event("removed", room_id=room_id))


async def _on_room_closed(hub: Hub, event: Event) -> None:
    hub.push_to_room(event.room_id, protocol.room_event("closed", room=event.payload["room"]))


async def _on_room_reopened(hub: Hub, event: Event) -> None:
    hub.push_to_room(event.room_id, protocol.room_event("reopened", room=event.payload["room"]))


async def _on_member_role(hub: Hub, event: Event) -> None:
    payload = event.payload
    text = protocol.room_event(
        "member_role", room_id=event.room_id, user_id=payload["user_id"], role=payload["role"]
    )
    hub.push_to_room(event.room_id, text)


async def _on_moderation(hub: Hub, event: Event) -> None:
    """Bans and mutes in a room: its members see them (the widget shows who can talk)."""
    if event.room_id is None:
        for conn in hub.connections_of(event.payload["member_id"]):
            conn.push(protocol.simple("moderation", action=event.type, **event.payload))
        return
    hub.push_to_room(
        event.room_id, protocol.simple("moderation", action=event.type, **event.payload)
    )


_HANDLERS = {
    events.MESSAGE_NEW: Hub._on_message,
    events.MESSAGE_EDITED: Hub._on_edited,
    events.MESSAGE_DELETED: Hub._on_deleted,
    events.TYPING: Hub._on_typing,
    events.READ: Hub._on_read,
    events.PRESENCE: Hub._on_presence,
    events.USER_UPDATED: Hub._on_users_updated,
    events.ROOM_CREATED: Hub._on_room_created,
    events.MEMBER_ADDED: Hub._on_member_added,
    events.MEMBER_REMOVED: _on_member_removed,
    events.ROOM_CLOSED: _on_room_closed,
    events.ROOM_REOPENED: _on_room_reopened,
    events.MEMBER_ROLE: _on_member_role,
    events.USER_BANNED: _on_moderation,
    events.USER_UNBANNED: _on_moderation,
    events.MEMBER_MUTED: _on_moderation,
}
