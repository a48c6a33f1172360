"""Server -> client frames, in one place (docs/protocol.md §3): the answers to
requests, and every event as the frame its audience gets.

Frames are encoded here once; the same text goes to every socket that gets it.
:func:`delivery_of` is the translation of events into frames for events that go to
a room or to one user's sockets as they are; the hub routes those, and handles
the few whose audience needs more (new messages in seq order, rooms a socket
starts or stops following, presence across rooms, renamed users).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import singledispatch
from typing import Any

import orjson

from imbachat import render
from imbachat.clock import format_api
from imbachat.domain import Call, Message, Profile, RoomMember, User, Widget
from imbachat.events import (
    AlertsChanged,
    BlockChanged,
    CallSignalled,
    Event,
    MemberRemoved,
    MemberRoleChanged,
    MessageDeleted,
    MessageEdited,
    MessageReacted,
    MessageReported,
    Moderated,
    PinChanged,
    PresenceChanged,
    ReadMarked,
    RoomClosed,
    RoomReopened,
    Typing,
    UserErased,
)
from imbachat.files.kinds import accept, categories_of
from imbachat.services.rooms import RoomView
from imbachat.services.search import SearchPage
from imbachat.states import CallChange, MemberRole, RoomType, UserStatus


def encode(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode()


def simple(kind: str, **fields: Any) -> str:
    """Frames that are only their fields: typing, read, presence, pong, …"""
    return encode({"type": kind, **fields})


def room_event(action: str, **fields: Any) -> str:
    return encode({"type": "room", "action": action, **fields})


def error(code: int, text: str, ref: Any = None) -> str:
    return encode({"type": "error", "code": code, "message": text, "ref": ref})


# ---- people and rooms as the widget lists them ---------------------------------------


def member_item(member: RoomMember, online: set[int], support: bool = False) -> dict[str, Any]:
    """A member as a room list shows them; in a support room (operators and one
    visitor) a guest's item also says what they told: ``guest: {email, page}``."""
    item = {
        "user_id": member.remote_user_id,
        "name": member.name or f"User {member.remote_user_id}",
        "avatar_url": member.avatar_url,
        "status": member.status,
        "role": member.role,
        "online": member.user_id in online,
        "last_read_seq": member.last_read_seq,
        "profile_url": member.profile_url,
    }
    if support and member.status == UserStatus.GUEST:
        told = orjson.loads(member.guest_data) if member.guest_data else {}
        item["guest"] = {key: told.get(key) for key in ("email", "page")}
    return item


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
        "profile_url": user.profile_url,
    }


def newcomer_item(user: User, online: bool) -> dict[str, Any]:
    """A user just added to a room, as ``member_added`` lists them."""
    return {
        "user_id": user.remote_user_id,
        "name": render.display_name(user),
        "avatar_url": user.avatar_url,
        "status": user.status,
        "role": MemberRole.MEMBER,
        "online": online,
        "last_read_seq": None,
        "profile_url": user.profile_url,
    }


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
        "muted": view.member.alerts_muted,
        "count_users": room.member_count,
        "last_seq": room.last_seq,
        "last_read_seq": view.member.last_read_seq,
        "unread": view.unread,
        "mentions": view.mentions,
        "last_message": render.message(view.last_message) if view.last_message else None,
        "last_message_date": format_api(room.last_message_at),
        "members": None
        if view.members is None
        else [
            member_item(member, online, room.type == RoomType.SUPPORT) for member in view.members
        ],
        "pinned": render.message(view.pinned) if view.pinned else None,
    }


# ---- answers to requests ------------------------------------------------------------


def ready(
    user: User,
    views: Iterable[RoomView],
    online: set[int],
    heartbeat: float,
    widget: Widget,
    max_upload_bytes: int,
    blocked: list[int] | None = None,
) -> str:
    """The first frame: the user, their rooms, the heartbeat, how the widget looks,
    which files it takes, whom the user blocked; a guest's also says whether guests
    may write in public rooms."""
    types = categories_of(widget)
    frame = {
        "type": "ready",
        "user": user_item(user),
        "rooms": [room_item(view, online) for view in views],
        "heartbeat": heartbeat,
        "appearance": {"theme": widget.theme, "accent_color": widget.accent_color},
        "files": {
            "max_bytes": max_upload_bytes if types else 0,
            "types": sorted(types),
            "accept": accept(types),
        },
        "alerts": {"email": user.email_notify, "sound": widget.notify_sound},
        "blocked": blocked or [],
    }
    if user.status == UserStatus.GUEST:
        frame["guest"] = {"write_public": widget.guests_write_public}
    return encode(frame)


def message(record: Message) -> str:
    """A message as it is delivered live or replayed."""
    return encode({"type": "message", "room_id": record.room_id, "message": render.message(record)})


def ack(client_id: str, record: Message) -> str:
    return encode({"type": "ack", "client_id": client_id, "message": render.message(record)})


def history(
    room_id: int,
    records: list[Message],
    has_more: bool,
    *,
    around_seq: int | None = None,
    has_newer: bool = False,
) -> str:
    """The answer to ``history``; a page around a seq also says whether newer
    messages follow, and echoes the seq (other pages keep their shape)."""
    frame: dict[str, Any] = {
        "type": "history",
        "room_id": room_id,
        "messages": [render.message(r) for r in records],
        "has_more": has_more,
    }
    if around_seq is not None:
        frame["has_newer"] = has_newer
        frame["around_seq"] = around_seq
    return encode(frame)


def search_results(text: str, room_id: int | None, page: SearchPage) -> str:
    """The answer to ``search``: each message with the room it is in."""
    results = [
        {
            "message": render.message(result.message),
            "room": {"id": result.room.id, "name": result.room.name, "type": result.room.type},
        }
        for result in page.results
    ]
    return encode(
        {
            "type": "search_results",
            "text": text,
            "room_id": room_id,
            "results": results,
            "next": page.next,
        }
    )


def resumed(rooms: dict[int, int], truncated: list[int]) -> str:
    return encode(
        {"type": "resumed", "rooms": {str(k): v for k, v in rooms.items()}, "truncated": truncated}
    )


def users_found(text: str, people: Iterable[Profile]) -> str:
    """The answer to ``search_users``."""
    found = [
        {"user_id": p.remote_user_id, "name": p.name, "avatar_url": p.avatar_url} for p in people
    ]
    return encode({"type": "users_found", "text": text, "users": found})


# ---- events whose audience the hub works out -----------------------------------------


def users_updated(people: Iterable[User]) -> str:
    """New names, avatars or statuses of users (the host site answered)."""
    profiles = [
        {
            "user_id": user.remote_user_id,
            "name": render.display_name(user),
            "avatar_url": user.avatar_url,
            "status": user.status,
            "is_bot": user.is_bot,
            "profile_url": user.profile_url,
        }
        for user in people
    ]
    return encode({"type": "users_updated", "users": profiles})


def presence(event: PresenceChanged) -> str:
    return simple("presence", user_id=event.remote_user_id, online=event.online)


def member_removed(event: MemberRemoved) -> str:
    """To the room's other members; the removed user's sockets get :func:`removed`."""
    return room_event("member_removed", room_id=event.room_id, user_id=event.remote_user_id)


def removed(room_id: int) -> str:
    return room_event("removed", room_id=room_id)


def user_erased(event: UserErased) -> str:
    """To the members of the erased user's rooms: their messages there show as deleted
    and they are gone from the members (one frame, however many messages)."""
    return simple(
        "user_erased",
        user_id=event.remote_user_id,
        member_id=event.user_id,
        room_ids=list(event.room_ids),
    )


# ---- events that go to a room, or to one user, as they are ----------------------------


@dataclass(frozen=True, slots=True)
class ToRoom:
    """Every socket following the room (but those of ``skip_user_id``) gets ``text``."""

    room_id: int
    text: str
    skip_user_id: int | None = None


@dataclass(frozen=True, slots=True)
class ToUser:
    """Every socket of the user (imbachat id) gets ``text``."""

    user_id: int
    text: str


@dataclass(frozen=True, slots=True)
class ToUsers:
    """Every socket of each of these users (imbachat ids) gets ``text``."""

    user_ids: tuple[int, ...]
    text: str


@singledispatch
def delivery_of(event: Event) -> ToRoom | ToUser | ToUsers | None:
    """The frame of an event and who gets it; None for events without one here."""
    return None


@delivery_of.register
def _message_edited(event: MessageEdited) -> ToRoom:
    rendered = render.message(event.message)
    return ToRoom(event.room_id, simple("message_edited", room_id=event.room_id, message=rendered))


@delivery_of.register
def _message_reacted(event: MessageReacted) -> ToRoom:
    text = simple(
        "reaction",
        room_id=event.room_id,
        message_id=event.message.id,
        user_id=event.remote_user_id,
        emoji=event.emoji,
        removed=event.removed,
        reactions=[render.reaction(r) for r in event.message.reactions],
    )
    return ToRoom(event.room_id, text)


@delivery_of.register
def _message_reported(event: MessageReported) -> ToUsers:
    """To the room's admins and moderators; the reporter gets ``reported``."""
    return ToUsers(event.staff_ids, simple("report", report=render.report(event.report)))


@delivery_of.register
def _message_deleted(event: MessageDeleted) -> ToRoom:
    text = simple(
        "message_deleted",
        message_id=event.message_id,
        seq=event.seq,
        room_id=event.room_id,
        author_id=event.author_id,
    )
    return ToRoom(event.room_id, text)


@delivery_of.register
def _typing(event: Typing) -> ToRoom:
    text = simple("typing", room_id=event.room_id, user_id=event.remote_user_id)
    return ToRoom(event.room_id, text, skip_user_id=event.user_id)


@delivery_of.register
def _read(event: ReadMarked) -> ToRoom:
    text = simple("read", room_id=event.room_id, user_id=event.remote_user_id, seq=event.seq)
    return ToRoom(event.room_id, text)


@delivery_of.register
def _room_closed(event: RoomClosed) -> ToRoom:
    return ToRoom(event.room_id, room_event("closed", room=render.room(event.room)))


@delivery_of.register
def _room_reopened(event: RoomReopened) -> ToRoom:
    return ToRoom(event.room_id, room_event("reopened", room=render.room(event.room)))


@delivery_of.register
def _pin_changed(event: PinChanged) -> ToRoom:
    shown = render.message(event.message) if event.message else None
    return ToRoom(event.room_id, room_event("pinned", room_id=event.room_id, message=shown))


@delivery_of.register
def _member_role(event: MemberRoleChanged) -> ToRoom:
    text = room_event(
        "member_role", room_id=event.room_id, user_id=event.remote_user_id, role=event.role
    )
    return ToRoom(event.room_id, text)


@delivery_of.register
def _alerts(event: AlertsChanged) -> ToUser:
    fields: dict[str, Any] = {"email": event.email}
    if event.room_id is not None:
        fields.update(room_id=event.room_id, muted=event.muted)
    return ToUser(event.user_id, simple("alerts", **fields))


@delivery_of.register
def _block_changed(event: BlockChanged) -> ToUser:
    text = simple("blocked", user_id=event.blocked_remote_user_id, blocked=event.blocked)
    return ToUser(event.user_id, text)


@delivery_of.register
def _moderated(event: Moderated) -> ToRoom | ToUser:
    """Bans and mutes in a room go to its members (the widget shows who can talk); a
    widget-wide ban or unban only to the user's own sockets."""
    text = simple(
        "moderation",
        action=event.name,
        user_id=event.remote_user_id,
        member_id=event.user_id,
        room_id=event.room_id,
        until=format_api(event.until),
    )
    if event.room_id is None:
        return ToUser(event.user_id, text)
    return ToRoom(event.room_id, text)


# ---- calls (the hub routes them: a call's frames go to its parties' sockets) ---------


def call(
    record: Call, change: CallChange, *, here: bool, ice_servers: list[dict[str, Any]] | None = None
) -> str:
    """A call's state: to every socket of both parties, ``here`` true on the socket in
    the call; the answers to ``call_invite``, ``call_accept`` and ``call_resume`` also
    carry the ICE servers for that user's browser."""
    frame: dict[str, Any] = {
        "type": "call",
        "change": change,
        "call": render.call(record),
        "here": here,
    }
    if ice_servers is not None:
        frame["ice_servers"] = ice_servers
    return encode(frame)


def call_signal(event: CallSignalled) -> str:
    return simple(
        "call_signal",
        call_id=event.call_id,
        user_id=event.from_remote_user_id,
        signal=event.signal,
    )
