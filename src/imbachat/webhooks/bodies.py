"""Events as webhook bodies: ``{"event", "imba_id", "data"}``, the one place they
are shaped (docs/webhooks.md §3 documents each ``data``).

``WEBHOOK_EVENTS`` lists the events a webhook can subscribe to, in the documented
order; :func:`data_of` translates each (and gives None for any other event).
"""

from __future__ import annotations

from functools import singledispatch
from typing import Any

import orjson

from imbachat import render
from imbachat.clock import format_api
from imbachat.events import (
    CallEnded,
    CallStarted,
    Event,
    GuestConverted,
    GuestCreated,
    MemberMuted,
    MemberRemoved,
    MemberRoleChanged,
    MembersAdded,
    MessageDeleted,
    MessageEdited,
    MessageNew,
    MessageReacted,
    MessageReported,
    MessagesUnread,
    Moderated,
    RoomClosed,
    RoomCreated,
    RoomReopened,
    UserBanned,
    UserErased,
    UserUnbanned,
)

WEBHOOK_EVENTS: tuple[type[Event], ...] = (
    MessageNew,
    MessageEdited,
    MessageDeleted,
    RoomCreated,
    MembersAdded,
    MemberRemoved,
    UserBanned,
    UserUnbanned,
    MemberMuted,
    RoomClosed,
    RoomReopened,
    MemberRoleChanged,
    GuestCreated,
    GuestConverted,
    MessagesUnread,
    MessageReacted,
    MessageReported,
    UserErased,
    CallStarted,
    CallEnded,
)
WEBHOOK_EVENT_NAMES = tuple(kind.name for kind in WEBHOOK_EVENTS)


@singledispatch
def data_of(event: Event) -> dict[str, Any] | None:
    """The body's ``data`` for a webhook event; None for events webhooks never get."""
    return None


@data_of.register(MessageNew)
@data_of.register(MessageEdited)
def _message(event: MessageNew | MessageEdited) -> dict[str, Any]:
    return {"message": render.message(event.message)}


@data_of.register
def _message_reacted(event: MessageReacted) -> dict[str, Any]:
    return {
        "message": render.message(event.message),
        "user_id": event.remote_user_id,
        "member_id": event.user_id,
        "emoji": event.emoji,
        "removed": event.removed,
    }


@data_of.register
def _message_reported(event: MessageReported) -> dict[str, Any]:
    return {"report": render.report(event.report)}


@data_of.register
def _messages_unread(event: MessagesUnread) -> dict[str, Any]:
    return {
        "user_id": event.user.remote_user_id,
        "email": event.user.email_notify,
        "unread_count": event.unread_count,
        "mention_count": event.mention_count,
        "messages": [render.message(message) for message in event.messages],
    }


@data_of.register
def _message_deleted(event: MessageDeleted) -> dict[str, Any]:
    return {
        "message_id": event.message_id,
        "seq": event.seq,
        "room_id": event.room_id,
        "author_id": event.author_id,
    }


@data_of.register
def _room_created(event: RoomCreated) -> dict[str, Any]:
    return {"room": render.room(event.room), "member_ids": list(event.member_ids)}


@data_of.register
def _members_added(event: MembersAdded) -> dict[str, Any]:
    return {
        "room": render.room(event.room),
        "member_ids": [user.id for user in event.users],
        "users": [render.user(user) for user in event.users],
    }


@data_of.register
def _member_removed(event: MemberRemoved) -> dict[str, Any]:
    return {"room_id": event.room_id, "user_id": event.remote_user_id, "member_id": event.user_id}


@data_of.register
def _moderated(event: Moderated) -> dict[str, Any]:
    """user.banned, user.unbanned and member.muted."""
    return {
        "user_id": event.remote_user_id,
        "member_id": event.user_id,
        "room_id": event.room_id,
        "until": format_api(event.until),
    }


@data_of.register(RoomClosed)
@data_of.register(RoomReopened)
def _room(event: RoomClosed | RoomReopened) -> dict[str, Any]:
    return {"room": render.room(event.room)}


@data_of.register
def _member_role(event: MemberRoleChanged) -> dict[str, Any]:
    return {
        "room_id": event.room_id,
        "user_id": event.remote_user_id,
        "member_id": event.user_id,
        "role": event.role,
    }


@data_of.register
def _guest_created(event: GuestCreated) -> dict[str, Any]:
    return {"user": render.user(event.user)}


@data_of.register
def _guest_converted(event: GuestConverted) -> dict[str, Any]:
    return {"guest": render.user(event.guest), "user": render.user(event.user)}


@data_of.register
def _user_erased(event: UserErased) -> dict[str, Any]:
    return {
        "user_id": event.remote_user_id,
        "member_id": event.user_id,
        "erased_at": format_api(event.erased_at),
        "messages": event.messages,
        "room_ids": list(event.room_ids),
    }


@data_of.register(CallStarted)
@data_of.register(CallEnded)
def _call(event: CallStarted | CallEnded) -> dict[str, Any]:
    """A call placed, and how it ended (``outcome``, ``duration`` in seconds)."""
    return {"call": render.call(event.call)}


def body_of(event: Event) -> bytes:
    """The request body of a webhook event (compact JSON, stored as sent)."""
    return orjson.dumps({"event": event.name, "imba_id": event.imba_id, "data": data_of(event)})


def author_of(event: Event) -> int | None:
    """The imbachat id of who wrote the message an event is about (or reacted to
    it): a bot's webhook never gets its own messages or reactions."""
    if isinstance(event, MessageReacted):
        return event.user_id
    if isinstance(event, MessageNew | MessageEdited):
        return event.message.author_id
    if isinstance(event, MessageDeleted):
        return event.author_id
    return None
