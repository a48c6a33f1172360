"""The widget owner's moderation API (HTTP Basic ``imba_id:secret_key``): bans,
mutes, removals, roles, closing rooms, deleting messages, the word blocklist, bots."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from imbachat import render
from imbachat.api.deps import PathId, UserIdPath, services_of, widget_by_basic
from imbachat.api.envelopes import json_response
from imbachat.api.forms import Fields
from imbachat.api.openapi import BASIC, choice, data, flag, integer, obj, operation, ref
from imbachat.errors import missing
from imbachat.services.moderation import MAX_MUTE_SECONDS

router = APIRouter(prefix="/api/v1/{imba_id}", tags=["Moderation"])


_ACTED = data(
    obj(
        {
            "action": {"type": "string"},
            "user_id": {"type": "integer"},
            "room_id": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        }
    )
)
_IN_ROOM = {"room_id": integer("In this room only; without it, in the whole widget.", 1)}
_ACT = operation(_ACTED, fields=_IN_ROOM, security=BASIC)
_ACT_IN_ROOM = operation(_ACTED, fields={}, security=BASIC)
_ROOM = operation(data(ref("Room")), security=BASIC)
_WORDS = data(obj({"words": {"type": "array", "items": {"type": "string"}}}))


async def _act(
    request: Request, imba_id: str, action: str, user_id: int, room_id: int | None
) -> Response:
    fields = await Fields.from_request(request)
    widget = await widget_by_basic(request, imba_id)
    room = room_id if room_id is not None else fields.integer("room_id", minimum=1)
    seconds = fields.integer("seconds", minimum=1, maximum=MAX_MUTE_SECONDS)
    await services_of(request).moderation.act(
        widget, action, user_id, room_id=room, seconds=seconds
    )
    return json_response({"data": {"action": action, "user_id": user_id, "room_id": room}})


@router.post(
    "/users/{user_id}/ban", summary="Ban a user in the widget, or in room_id", openapi_extra=_ACT
)
async def ban(request: Request, imba_id: str, user_id: UserIdPath) -> Response:
    return await _act(request, imba_id, "ban", user_id, None)


@router.post(
    "/users/{user_id}/unban",
    summary="Lift a ban in the widget, or in room_id",
    openapi_extra=_ACT,
)
async def unban(request: Request, imba_id: str, user_id: UserIdPath) -> Response:
    return await _act(request, imba_id, "unban", user_id, None)


@router.post(
    "/rooms/{room_id}/members/{user_id}/mute",
    summary="Mute a member for `seconds`",
    openapi_extra=operation(
        _ACTED,
        fields={"seconds": integer("How long.", 1, MAX_MUTE_SECONDS)},
        required=("seconds",),
        security=BASIC,
    ),
)
async def mute(request: Request, imba_id: str, room_id: PathId, user_id: UserIdPath) -> Response:
    return await _act(request, imba_id, "mute", user_id, room_id)


@router.delete(
    "/rooms/{room_id}/members/{user_id}/mute",
    summary="Lift a member's mute early",
    openapi_extra=_ACT_IN_ROOM,
)
async def unmute(request: Request, imba_id: str, room_id: PathId, user_id: UserIdPath) -> Response:
    return await _act(request, imba_id, "unmute", user_id, room_id)


@router.delete(
    "/rooms/{room_id}/members/{user_id}",
    summary="Remove a member from a room",
    openapi_extra=_ACT_IN_ROOM,
)
async def remove(request: Request, imba_id: str, room_id: PathId, user_id: UserIdPath) -> Response:
    return await _act(request, imba_id, "remove", user_id, room_id)


@router.put(
    "/rooms/{room_id}/members/{user_id}/role",
    summary="Set a member's role",
    openapi_extra=operation(
        data(
            obj(
                {
                    "room_id": {"type": "integer"},
                    "user_id": {"type": "integer"},
                    "role": {"type": "string"},
                }
            )
        ),
        fields={"role": choice("The new role.", ["admin", "moderator", "member"])},
        required=("role",),
        security=BASIC,
    ),
)
async def set_role(
    request: Request, imba_id: str, room_id: PathId, user_id: UserIdPath
) -> Response:
    fields = await Fields.from_request(request)
    widget = await widget_by_basic(request, imba_id)
    role = fields.text("role", required=True, max_length=16)
    assert role is not None
    await services_of(request).moderation.set_role(widget, room_id, user_id, role, None)
    return json_response({"data": {"room_id": room_id, "user_id": user_id, "role": role}})


@router.post(
    "/rooms/{room_id}/close",
    summary="Close a room (e.g. a solved support request)",
    openapi_extra=_ROOM,
)
async def close_room(request: Request, imba_id: str, room_id: PathId) -> Response:
    widget = await widget_by_basic(request, imba_id)
    room = await services_of(request).moderation.close_room(widget, room_id, None)
    return json_response({"data": render.room(room)})


@router.delete(
    "/messages/{message_id}",
    summary="Delete any message",
    openapi_extra=operation(data(ref("Message")), security=BASIC),
)
async def delete_message(request: Request, imba_id: str, message_id: PathId) -> Response:
    widget = await widget_by_basic(request, imba_id)
    message = await services_of(request).messages.delete(widget, None, message_id)
    return json_response({"data": render.message(message)})


@router.put(
    "/rooms/{room_id}/pin",
    summary="Pin a message above a conference's history",
    openapi_extra=operation(
        data(ref("Message")),
        fields={"message_id": integer("A message of the room.", 1)},
        required=("message_id",),
        security=BASIC,
    ),
)
async def pin(request: Request, imba_id: str, room_id: PathId) -> Response:
    fields = await Fields.from_request(request)
    widget = await widget_by_basic(request, imba_id)
    message_id = fields.integer("message_id", required=True, minimum=1)
    message = await services_of(request).pins.pin(widget, None, room_id, message_id)
    assert message is not None
    return json_response({"data": render.message(message)})


@router.delete(
    "/rooms/{room_id}/pin",
    summary="Unpin a conference's pinned message",
    openapi_extra=operation(data(obj({"room_id": {"type": "integer"}})), security=BASIC),
)
async def unpin(request: Request, imba_id: str, room_id: PathId) -> Response:
    widget = await widget_by_basic(request, imba_id)
    await services_of(request).pins.pin(widget, None, room_id, None)
    return json_response({"data": {"room_id": room_id}})


@router.get(
    "/blocklist",
    summary="Words messages may not contain",
    openapi_extra=operation(_WORDS, security=BASIC),
)
async def get_blocklist(request: Request, imba_id: str) -> Response:
    widget = await widget_by_basic(request, imba_id)
    stored = await services_of(request).widgets.get(widget.imba_id)  # not a cached copy
    words = [w for w in (stored.blocked_words or "").splitlines() if w]
    return json_response({"data": {"words": words}})


@router.put(
    "/blocklist",
    summary="Replace the blocked words (`words`: a list or one per line)",
    openapi_extra=operation(
        _WORDS,
        fields={
            "words": {
                "type": "array",
                "items": {"type": "string", "maxLength": 100},
                "maxItems": 1000,
                "description": "The words; in a form, one per line also works.",
            }
        },
        security=BASIC,
    ),
)
async def put_blocklist(request: Request, imba_id: str) -> Response:
    fields = await Fields.from_request(request)
    widget = await widget_by_basic(request, imba_id)
    listed = fields.texts("words")
    words = await services_of(request).moderation.set_blocked_words(widget, listed)
    return json_response({"data": {"words": words}})


@router.put(
    "/users/{user_id}/bot",
    summary="Mark a user as a bot (is_bot=1) or not",
    openapi_extra=operation(
        data(obj({"user_id": {"type": "integer"}, "is_bot": {"type": "integer"}})),
        fields={"is_bot": flag("1 a bot, 0 not.")},
        required=("is_bot",),
        security=BASIC,
    ),
)
async def set_bot(request: Request, imba_id: str, user_id: UserIdPath) -> Response:
    fields = await Fields.from_request(request)
    widget = await widget_by_basic(request, imba_id)
    is_bot = fields.flag("is_bot")
    if is_bot is None:
        raise missing("is_bot")
    await services_of(request).moderation.set_bot(widget, user_id, is_bot)
    return json_response({"data": {"user_id": user_id, "is_bot": int(bool(is_bot))}})


@router.get(
    "/rooms/public",
    summary="Public conferences anyone may join",
    openapi_extra=operation(data({"type": "array", "items": ref("Room")}), security=BASIC),
)
async def public_rooms(request: Request, imba_id: str) -> Response:
    widget = await widget_by_basic(request, imba_id)
    found = await services_of(request).rooms.public(widget)
    return json_response({"data": [render.room(room) for room in found]})
