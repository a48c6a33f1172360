"""The events services announce on the bus, built in one place.

Payloads embed the shapes of :mod:`imbachat.render` plus the internal ids the
gateway needs to route them (``*_ids`` are imbachat ids, ``user_id`` host ids).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from imbachat import render
from imbachat.bus.base import Event
from imbachat.clock import format_api
from imbachat.domain import Message, Room, User

MESSAGE_NEW = "message.new"
MESSAGE_EDITED = "message.edited"
MESSAGE_DELETED = "message.deleted"
ROOM_CREATED = "room.created"
MEMBER_ADDED = "member.added"
MEMBER_REMOVED = "member.removed"
READ = "read"
TYPING = "typing"
PRESENCE = "presence"
USER_UPDATED = "user.updated"
USER_BANNED = "user.banned"
USER_UNBANNED = "user.unbanned"
MEMBER_MUTED = "member.muted"
ROOM_CLOSED = "room.closed"
ROOM_REOPENED = "room.reopened"
MEMBER_ROLE = "member.role"


def message_new(message: Message, origin: str | None = None) -> Event:
    """``origin`` names the socket that sent it: that one gets an ack instead."""
    payload = {"message": render.message(message), "origin": origin}
    return Event(MESSAGE_NEW, message.imba_id, message.room_id, payload)


def message_edited(message: Message) -> Event:
    return Event(
        MESSAGE_EDITED, message.imba_id, message.room_id, {"message": render.message(message)}
    )


def message_deleted(message: Message) -> Event:
    payload = {
        "message_id": message.id,
        "seq": message.seq,
        "room_id": message.room_id,
        "author_id": message.author_id,
    }
    return Event(MESSAGE_DELETED, message.imba_id, message.room_id, payload)


def room_created(room: Room, member_ids: Iterable[int]) -> Event:
    payload = {"room": render.room(room), "member_ids": list(member_ids)}
    return Event(ROOM_CREATED, room.imba_id, room.id, payload)


def member_added(room: Room, added: Iterable[User]) -> Event:
    people = list(added)
    payload = {
        "room": render.room(room),
        "member_ids": [user.id for user in people],
        "users": [render.user(user) for user in people],
    }
    return Event(MEMBER_ADDED, room.imba_id, room.id, payload)


def read(room: Room, user: User, seq: int) -> Event:
    payload = {"user_id": user.remote_user_id, "member_id": user.id, "seq": seq}
    return Event(READ, room.imba_id, room.id, payload)


def typing(room: Room, user: User) -> Event:
    payload = {"user_id": user.remote_user_id, "member_id": user.id}
    return Event(TYPING, room.imba_id, room.id, payload)


def presence(
    imba_id: int, member_id: int, remote_id: int, online: bool, room_ids: Iterable[int]
) -> Event:
    payload = {
        "user_id": remote_id,
        "member_id": member_id,
        "online": online,
        "room_ids": sorted(room_ids),
    }
    return Event(PRESENCE, imba_id, None, payload)


def users_updated(imba_id: int, people: Iterable[User]) -> Event:
    return Event(USER_UPDATED, imba_id, None, {"users": [render.user(user) for user in people]})


def moderation(
    kind: str, imba_id: int, room: Room | None, user: User, until: datetime | None
) -> Event:
    """A ban, unban or mute; ``room`` None means the whole widget."""
    payload = {
        "user_id": user.remote_user_id,
        "member_id": user.id,
        "room_id": room.id if room else None,
        "until": format_api(until),
    }
    return Event(kind, imba_id, room.id if room else None, payload)


def member_removed(room: Room, user: User) -> Event:
    payload = {"room_id": room.id, "user_id": user.remote_user_id, "member_id": user.id}
    return Event(MEMBER_REMOVED, room.imba_id, room.id, payload)


def room_closed(room: Room) -> Event:
    return Event(ROOM_CLOSED, room.imba_id, room.id, {"room": render.room(room)})


def room_reopened(room: Room) -> Event:
    return Event(ROOM_REOPENED, room.imba_id, room.id, {"room": render.room(room)})


def member_role(room: Room, user: User, role: str) -> Event:
    payload = {
        "room_id": room.id,
        "user_id": user.remote_user_id,
        "member_id": user.id,
        "role": role,
    }
    return Event(MEMBER_ROLE, room.imba_id, room.id, payload)
