"""Client -> server frames and close codes (docs/protocol.md §2 and §5).

JSON text frames, each with a ``type``. Incoming frames are checked here and turned
into plain dicts with typed values; what the server sends is in :mod:`frames`.
"""

from __future__ import annotations

from typing import Any

import orjson

from imbachat.numbers import MIN_GUEST_ID, as_id
from imbachat.states import EmailChoice, RoomType

# Close codes (4000-4999 are the application's).
CLOSE_GOING_AWAY = 1001
GOING_AWAY_REASON = "server shutting down: reconnect and resume"
CLOSE_UNAUTHORIZED = 4001
CLOSE_AUTH_TIMEOUT = 4002
CLOSE_CREDENTIALS_EXPIRED = 4003  # the token expired or the widget's secret changed
CLOSE_NOT_FOUND = 4004
CLOSE_ORIGIN_REFUSED = 4010  # the page is not among the widget's allowed host origins
CLOSE_TOO_SLOW = 4008  # the client fell behind: reconnect and resume
CLOSE_PROTOCOL = 4009  # frames that are not this protocol
CLOSE_TOO_MANY = 4029  # too many sockets for this user or address


class HostUserId(int):
    """A field that names a user as chats show them: a host site's user id, or a
    guest's (negative) one; only staff actions take guests as targets."""


class FrameError(Exception):
    """A frame the server cannot act on; answered with an ``error`` frame."""

    def __init__(self, code: int, message: str, ref: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


# ---- client -> server -------------------------------------------------------

_FIELDS: dict[str, dict[str, tuple[type, bool]]] = {
    # name -> (type, required)
    "auth": {"token": (str, True), "resume": (dict, False), "guest": (str, False)},
    "send": {
        "room_id": (int, True),
        "text": (str, True),
        "client_id": (str, True),
        "answer_to": (int, False),
        "attachments": (list, False),
        "mentions": (list, False),
    },
    "read": {"room_id": (int, True), "seq": (int, True)},
    "typing": {"room_id": (int, True)},
    "history": {
        "room_id": (int, True),
        "before_seq": (int, False),
        "around_seq": (int, False),
        "limit": (int, False),
    },
    "resume": {"rooms": (dict, True)},
    "open_dialog": {"user_id": (int, True), "token": (str, False)},
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
        "user_id": (HostUserId, True),
        "seconds": (int, False),
    },
    "set_role": {"room_id": (int, True), "user_id": (HostUserId, True), "role": (str, True)},
    "close_room": {"room_id": (int, True)},
    "open_support": {"name": (str, False), "email": (str, False)},
    "public_rooms": {},
    "search_users": {"text": (str, True)},
    "alerts": {"email": (str, False), "room_id": (int, False), "muted": (bool, False)},
    "react": {"message_id": (int, True), "emoji": (str, True), "remove": (bool, False)},
    "block_user": {"user_id": (HostUserId, True)},
    "unblock_user": {"user_id": (HostUserId, True)},
    "blocked_users": {"after": (int, False)},
    "report": {"message_id": (int, True), "reason": (str, True)},
    "reports": {"room_id": (int, False), "after": (int, False)},
    "pin": {"room_id": (int, True), "message_id": (int, True)},
    "search": {
        "text": (str, True),
        "room_id": (int, False),
        "before": (str, False),
        "limit": (int, False),
    },
    "unpin": {"room_id": (int, True)},
    # Calls (realtime.calls checks what these carry).
    "call_invite": {"room_id": (int, True), "kind": (str, False)},
    "call_accept": {"call_id": (int, True)},
    "call_decline": {"call_id": (int, True)},
    "call_signal": {"call_id": (int, True), "signal": (dict, True)},
    "call_end": {"call_id": (int, True), "reason": (str, False)},
    "call_resume": {"call_id": (int, True)},
    "ping": {},
}
MAX_ROOM_USERS = 100
MAX_POSITIONS = 1_000  # rooms in one resume
MAX_CLIENT_ID = 64
MAX_ATTACHMENTS = 10  # files in one message (as services.files)
MAX_MENTIONS = 50  # members one message mentions (as services.messages)


def parse(text: str | bytes) -> dict[str, Any]:
    """A checked client frame; integers may arrive as digit strings."""
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise FrameError(400, "Frames must be JSON objects.") from None
    if not isinstance(frame, dict):
        raise FrameError(400, "Frames must be JSON objects.")
    kind = frame.get("type")
    if not isinstance(kind, str) or kind not in _FIELDS:
        shown = repr(kind)[:40]
        raise FrameError(400, f"Unknown frame type {shown}; known: {', '.join(sorted(_FIELDS))}.")
    client_id = frame.get("client_id")
    # The ref echoes the send's client_id only when it could be one.
    usable_id = isinstance(client_id, str) and len(client_id) <= MAX_CLIENT_ID
    ref = (client_id if usable_id else None) if kind == "send" else kind
    checked: dict[str, Any] = {"type": kind}
    for name, (wanted, required) in _FIELDS[kind].items():
        value = frame.get(name)
        if value is None:
            if required:
                raise FrameError(422, f"{kind}: {name} is required.", ref)
            continue
        checked[name] = _typed(kind, name, value, wanted, ref)
    if kind == "send" and len(checked["client_id"]) > MAX_CLIENT_ID:
        raise FrameError(422, f"send: client_id is at most {MAX_CLIENT_ID} characters.", ref)
    if kind == "send" and "attachments" in checked:
        checked["attachments"] = _file_ids(checked["attachments"], ref)
    if kind == "send" and "mentions" in checked:
        checked["mentions"] = _mentioned(checked["mentions"], ref)
    if kind == "resume":
        checked["rooms"] = positions(checked["rooms"])
    if kind == "auth" and "resume" in checked:
        checked["resume"] = positions(checked["resume"])
    if kind in ("join_room", "create_room"):
        _check_room_fields(kind, checked)
    if kind == "alerts":
        _check_alerts(checked)
    if kind == "history" and "before_seq" in checked and "around_seq" in checked:
        raise FrameError(422, "history: give before_seq or around_seq, not both.", kind)
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


def _check_alerts(checked: dict[str, Any]) -> None:
    """``email``: all, mentions or never; ``muted`` goes with a ``room_id``."""
    if "email" in checked:
        try:
            checked["email"] = EmailChoice(checked["email"])
        except ValueError:
            raise FrameError(422, "alerts: email is all, mentions or never.", "alerts") from None
    if ("room_id" in checked) != ("muted" in checked):
        raise FrameError(422, "alerts: room_id and muted go together.", "alerts")
    if len(checked) == 1:
        raise FrameError(422, "alerts: give email, or room_id with muted.", "alerts")


def _file_ids(value: list[Any], ref: Any) -> tuple[int, ...]:
    if len(value) > MAX_ATTACHMENTS:
        raise FrameError(413, f"send: at most {MAX_ATTACHMENTS} attachments.", ref)
    ids = tuple(_typed("send", "attachments", item, int, ref) for item in value)
    if 0 in ids:
        raise FrameError(422, "send: attachments are ids of uploaded files.", ref)
    return ids


def _mentioned(value: list[Any], ref: Any) -> tuple[int, ...]:
    if len(value) > MAX_MENTIONS:
        raise FrameError(413, f"send: at most {MAX_MENTIONS} mentions.", ref)
    return tuple(_typed("send", "mentions", item, HostUserId, ref) for item in value)


def positions(value: dict[str, Any] | str) -> dict[int, int]:
    """Last seen seq per room: ``{"12": 40}`` or the query form ``12:40,13:7``."""
    if isinstance(value, str):
        pairs = [part.split(":", 1) for part in value.split(",") if part.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise FrameError(422, "resume must look like room:seq,room:seq.", "resume")
        value = dict(pairs)
    if len(value) > MAX_POSITIONS:
        raise FrameError(413, f"resume: at most {MAX_POSITIONS} rooms at once.", "resume")
    return {
        _typed("resume", "room", room, int, "resume"): _typed("resume", "seq", seq, int, "resume")
        for room, seq in value.items()
    }


def _typed(kind: str, name: str, value: Any, wanted: type, ref: Any) -> Any:
    if wanted is HostUserId:
        number = as_id(value, minimum=MIN_GUEST_ID)
        if number is None or number == 0:
            raise FrameError(422, f"{kind}: {name} must be a user id.", ref)
        return number
    if wanted is int:
        number = as_id(value, minimum=0)
        if number is None:
            raise FrameError(422, f"{kind}: {name} must be a non-negative integer.", ref)
        return number
    elif not isinstance(value, wanted):
        raise FrameError(422, f"{kind}: {name} must be a {wanted.__name__}.", ref)
    elif isinstance(value, str) and "\x00" in value:
        raise FrameError(422, f"{kind}: {name} must not contain NUL characters.", ref)
    return value
