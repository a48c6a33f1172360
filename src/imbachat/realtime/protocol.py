"""The WebSocket wire format, in one place (documented in docs/protocol.md).

JSON text frames, each with a ``type``. Incoming frames are checked here and turned
into plain dicts with typed values; outgoing frames are built here and encoded
once, so the same text goes to every socket that gets it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from imbachat import render
from imbachat.clock import format_api
from imbachat.domain import Message, Profile, RoomMember, User
from imbachat.services.rooms import RoomView
from imbachat.states import MemberRole, RoomType

MAX_ID = 2**63 - 1

# Close codes (4000-4999 are the application's).
CLOSE_GOING_AWAY = 1001
CLOSE_UNAUTHORIZED = 4001
CLOSE_AUTH_TIMEOUT = 4002
CLOSE_NOT_FOUND = 4004
CLOSE_TOO_SLOW = 4008  # the client fell behind: reconnect and resume
CLOSE_PROTOCOL = 4009  # frames that are not this protocol


class FrameError(Exception):
    """A frame the server cannot act on; answered with an ``error`` frame."""

    def __init__(self, code: int, message: str, ref: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


def encode(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode()


# ---- client -> server -------------------------------------------------------

_FIELDS: dict[str, dict[str, tuple[type, bool]]] = {
    # name -> (type, required)
    "auth": {"token": (str, True), "resume": (dict, False)},
    "send": {
        "room_id": (int, True),
        "text": (str, True),
        "client_id": (str, True),
        "answer_to": (int, False),
    },
    "read": {"room_id": (int, True), "seq": (int, True)},
    "typing": {"room_id": (int, True)},
    "history": {"room_id": (int, True), "before_seq": (int, False), "limit": (int, False)},
    "resume": {"rooms": (dict, True)},
    "open_dialog": {"user_id": (int, True)},
    "edit": {"message_id": (int, True), "text": (str, True)},
    "delete": {"message_id": (int, True)},
    "join_room": {
        "pipe": (str, True),
        "title": (str, False),
        "is_public": (int, False),
        "room_type": (int, False),
        "users_ids": (list, False),
    },
    "create_room": {
        "title": (str, True),
        "room_type": (int, False),
        "is_public": (int, False),
        "users_ids": (list, False),
    },
    "moderate": {
        "action": (str, True),
        "room_id": (int, True),
        "user_id": (int, True),
        "seconds": (int, False),
    },
    "set_role": {"room_id": (int, True), "user_id": (int, True), "role": (str, True)},
    "close_room": {"room_id": (int, True)},
    "open_support": {},
    "public_rooms": {},
    "search_users": {"text": (str, True)},
    "ping": {},
}
MAX_ROOM_USERS = 100


def parse(text: str | bytes) -> dict[str, Any]:
    """A checked client frame; integers may arrive as digit strings."""
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise FrameError(400, "Frames must be JSON objects.") from None
    if not isinstance(frame, dict):
        raise FrameError(400, "Frames must be JSON objects.")
    kind = frame.get("type")
    if kind not in _FIELDS:
        raise FrameError(400, f"Unknown frame type {kind!r}; known: {', '.join(sorted(_FIELDS))}.")
    ref = frame.get("client_id") if kind == "send" else kind
    checked: dict[str, Any] = {"type": kind}
    for name, (wanted, required) in _FIELDS[kind].items():
        value = frame.get(name)
        if value is None:
            if required:
                raise FrameError(422, f"{kind}: {name} is required.", ref)
            continue
        checked[name] = _typed(kind, name, value, wanted, ref)
    if kind == "send" and len(checked["client_id"]) > 64:
        raise FrameError(422, "send: client_id is at most 64 characters.", ref)
    if kind == "resume":
        checked["rooms"] = positions(checked["rooms"])
    if kind == "auth" and "resume" in checked:
        checked["resume"] = positions(checked["resume"])
    if kind in ("join_room", "create_room"):
        _check_room_fields(kind, checked)
    return checked


def _check_room_fields(kind: str, checked: dict[str, Any]) -> None:
    """Room frames as the plugins' ``addToRoom`` sends them: ``users_ids`` holds ids
    or ``{"user_id": id}`` objects."""
    for name in ("title", "pipe"):
        if len(checked.get(name, "")) > 255:
            raise FrameError(413, f"{kind}: {name} is at most 255 characters.", kind)
    try:
        checked["room_type"] = RoomType(checked.get("room_type", RoomType.CONFERENCE))
    except ValueError:
        raise FrameError(422, f"{kind}: room_type must be 0, 1 or 3.", kind) from None
    if checked.get("is_public", 0) not in (0, 1):
        raise FrameError(422, f"{kind}: is_public must be 0 or 1.", kind)
    people = checked.get("users_ids", [])
    if len(people) > MAX_ROOM_USERS:
        raise FrameError(413, f"{kind}: at most {MAX_ROOM_USERS} users_ids.", kind)
    checked["users_ids"] = [
        _typed(kind, "users_ids", p.get("user_id") if isinstance(p, dict) else p, int, kind)
        for p in people
    ]
    if 0 in checked["users_ids"]:
        raise FrameError(422, f"{kind}: users_ids are positive host user ids.", kind)


def positions(value: dict[str, Any] | str) -> dict[int, int]:
    """Last seen seq per room: ``{"12": 40}`` or the query form ``12:40,13:7``."""
    if isinstance(value, str):
        pairs = [part.split(":", 1) for part in value.split(",") if part.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise FrameError(422, "resume must look like room:seq,room:seq.", "resume")
        value = dict(pairs)
    return {
        _typed("resume", "room", room, int, "resume"): _typed("resume", "seq", seq, int, "resume")
        for room, seq in value.items()
    }


def _typed(kind: str, name: str, value: Any, wanted: type, ref: Any) -> Any:
    if wanted is int:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
            raise FrameError(422, f"{kind}: {name} must be a non-negative integer.", ref)
    elif not isinstance(value, wanted):
        raise FrameError(422, f"{kind}: {name} must be a {wanted.__name__}.", ref)
    elif isinstance(value, str) and "\x00" in value:
        raise FrameError(422, f"{kind}: {name} must not contain NUL characters.", ref)
    return value


# ---- server -> client -------------------------------------------------------


def member_item(member: RoomMember, online: set[int]) -> dict[str, Any]:
    return {
        "user_id": member.remote_user_id,
        "name": member.name or f"User {member.remote_user_id}",
        "avatar_url": member.avatar_url,
        "status": member.status,
        "role": member.role,
        "online": member.user_id in online,
        "last_read_seq": member.last_read_seq,
    }


def user_item(user: User) -> dict[str, Any]:
    """The connected user as ``ready`` shows them."""
    return {
        "user_id": user.remote_user_id,
        "name": render.display_name(user),
        "avatar_url": user.avatar_url,
        "status": user.status,
        "role": None,
        "online": True,
        "last_read_seq": None,
    }


def member_of_rendered(user: dict[str, Any], online: bool) -> dict[str, Any]:
    """A member item from a user as :func:`imbachat.render.user` shapes it."""
    return {
        "user_id": int(user["remote_user_id"]),
        "name": user["name"],
        "avatar_url": user["avatar_url"],
        "status": user["status"],
        "role": MemberRole.MEMBER,
        "online": online,
        "last_read_seq": None,
    }


def users_found(text: str, people: Iterable[Profile]) -> str:
    """The answer to ``search_users``."""
    found = [
        {"user_id": p.remote_user_id, "name": p.name, "avatar_url": p.avatar_url} for p in people
    ]
    return encode({"type": "users_found", "text": text, "users": found})


def users_updated(people: list[dict[str, Any]]) -> str:
    """New names, avatars or statuses of users (the host site answered), from users
    as :func:`imbachat.render.user` shapes them."""
    profiles = [
        {
            "user_id": int(user["remote_user_id"]),
            "name": user["name"],
            "avatar_url": user["avatar_url"],
            "status": user["status"],
            "is_bot": bool(user["is_bot"]),
        }
        for user in people
    ]
    return encode({"type": "users_updated", "users": profiles})


def room_item(view: RoomView, online: set[int]) -> dict[str, Any]:
    """A room as the room list shows it to one member."""
    room = view.room
    return {
        "id": room.id,
        "pipe": room.pipe,
        "name": room.name,
        "type": room.type,
        "is_public": room.is_public,
        "status": room.status,
        "role": view.member.role,
        "count_users": room.member_count,
        "last_seq": room.last_seq,
        "last_read_seq": view.member.last_read_seq,
        "unread": view.unread,
        "last_message": render.message(view.last_message) if view.last_message else None,
        "last_message_date": format_api(room.last_message_at),
        "members": None
        if view.members is None
        else [member_item(member, online) for member in view.members],
    }


def ready(user: User, views: Iterable[RoomView], online: set[int], heartbeat: float) -> str:
    return encode(
        {
            "type": "ready",
            "user": user_item(user),
            "rooms": [room_item(view, online) for view in views],
            "heartbeat": heartbeat,
        }
    )


def message(room_id: int, rendered: dict[str, Any]) -> str:
    return encode({"type": "message", "room_id": room_id, "message": rendered})


def message_of(record: Message) -> str:
    return message(record.room_id, render.message(record))


def ack(client_id: str, record: Message) -> str:
    return encode({"type": "ack", "client_id": client_id, "message": render.message(record)})


def history(room_id: int, records: list[Message], has_more: bool) -> str:
    return encode(
        {
            "type": "history",
            "room_id": room_id,
            "messages": [render.message(r) for r in records],
            "has_more": has_more,
        }
    )


def resumed(rooms: dict[int, int], truncated: list[int]) -> str:
    return encode(
        {"type": "resumed", "rooms": {str(k): v for k, v in rooms.items()}, "truncated": truncated}
    )


def room_event(action: str, **fields: Any) -> str:
    return encode({"type": "room", "action": action, **fields})


def error(code: int, text: str, ref: Any = None) -> str:
    return encode({"type": "error", "code": code, "message": text, "ref": ref})


def simple(kind: str, **fields: Any) -> str:
    """Frames that are only their fields: typing, read, presence, pong, …"""
    return encode({"type": kind, **fields})
