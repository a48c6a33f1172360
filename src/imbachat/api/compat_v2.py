"""ImbaChat v2: server-to-server calls, HTTP Basic ``imba_id:secret_key``
(get_rooms and get_messages also take a user's ``JWT`` header)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from imbachat import render
from imbachat.api import envelopes
from imbachat.api.deps import (
    require_same_widget,
    services_of,
    widget_and_viewer,
    widget_by_basic,
)
from imbachat.api.forms import Fields, form_body
from imbachat.domain import ROOM_TYPE_FIELD, MessageQuery, RoomQuery, UserQuery
from imbachat.services.messages import MAX_MESSAGE_LENGTH, SendCommand
from imbachat.states import MemberRole, UserStatus

router = APIRouter(prefix="/imbachat/v2/{imba_id}", tags=["ImbaChat v2"])

_PAGE_FIELDS = {
    "limit": "Page size, 1 to 500, default 50.",
    "after_id": "Cursor: only ids after this one (see the X-Next-After-Id header).",
    "offset": "Rows to skip after the cursor.",
    "order": "asc (default) or desc by id.",
}
_MEMBER_ROLES = {**{role.value: role for role in MemberRole}, "user": MemberRole.MEMBER}
_USER_STATUSES = {status.value: status for status in UserStatus}


@router.post(
    "/get_users",
    summary="List the widget's users, filtered",
    openapi_extra=form_body(
        {
            "imba_id": "Widget id; must be the authenticated one.",
            "id": "imbachat user id.",
            "user_id": "Host site user id (ours).",
            "login": "User name.",
            "status": "user or admin.",
            "last_message_date": "Date (YYYY-MM-DD), time or unix seconds of the last message.",
            "banned": "1 banned, 0 not banned.",
            **_PAGE_FIELDS,
        }
    ),
)
async def get_users(request: Request, imba_id: str) -> Response:
    fields = await Fields.from_request(request)
    widget = await widget_by_basic(request, imba_id)
    require_same_widget(fields, widget)
    query = UserQuery(
        id=fields.integer("id", minimum=1),
        remote_user_id=fields.integer("user_id", minimum=1),
        login=fields.text("login"),
        status=fields.choice("status", _USER_STATUSES),
        banned=fields.flag("banned"),
        last_message=fields.time_range("last_message_date"),
    )
    found = await services_of(request).users.find(widget, query, fields.page())
    return envelopes.listing(found, render.user)


@router.post(
    "/get_rooms",
    summary="List rooms, filtered; with a JWT header, only that user's rooms",
    openapi_extra=form_body(
        {
            "imba_id": "Widget id; must be the authenticated one.",
            "room_type": "0 dialog, 1 conference, 3 support.",
            "status": "Room status (0 open).",
            "count_users": "Exact number of members.",
            "last_message_date": "Date (YYYY-MM-DD), time or unix seconds of the last message.",
            "banned": "1: rooms with a banned member (with JWT: where that user is banned).",
            "room_id": "Room id (ours).",
            "room_pipe": "Room pipe (ours).",
            **_PAGE_FIELDS,
        }
    ),
)
async def get_rooms(request: Request, imba_id: str) -> Response:
    fields = await Fields.from_request(request)
    widget, viewer = await widget_and_viewer(request, imba_id)
    require_same_widget(fields, widget)
    query = RoomQuery(
        id=fields.integer("room_id", minimum=1),
        pipe=fields.text("room_pipe"),
        type=fields.choice("room_type", ROOM_TYPE_FIELD),
        status=fields.integer("status", maximum=32767),
        count_users=fields.integer("count_users", maximum=2**31 - 1),
        banned=fields.flag("banned"),
        last_message=fields.time_range("last_message_date"),
    )
    found = await services_of(request).rooms.find(widget, query, fields.page(), viewer)
    return envelopes.listing(found, render.room)


@router.post(
    "/get_messages",
    summary="List messages, filtered; with a JWT header, only that user's rooms",
    openapi_extra=form_body(
        {
            "date": "Date (YYYY-MM-DD), time or unix seconds the message was sent.",
            "id": "Message id.",
            "room_type": "0 dialog, 1 conference, 3 support.",
            "user_name": "Author's name.",
            "user_role": "Author's role in the room: admin, moderator or member.",
            "room_id": "Room id (ours).",
            "user_id": "Author's host user id (ours).",
            **_PAGE_FIELDS,
        }
    ),
)
async def get_messages(request: Request, imba_id: str) -> Response:
    fields = await Fields.from_request(request)
    widget, viewer = await widget_and_viewer(request, imba_id)
    require_same_widget(fields, widget)
    query = MessageQuery(
        id=fields.integer("id", minimum=1),
        room_id=fields.integer("room_id", minimum=1),
        room_type=fields.choice("room_type", ROOM_TYPE_FIELD),
        user_name=fields.text("user_name"),
        user_role=fields.choice("user_role", _MEMBER_ROLES),
        author_remote_id=fields.integer("user_id", minimum=1),
        date=fields.time_range("date"),
    )
    found = await services_of(request).messages.find(widget, query, fields.page(), viewer)
    return envelopes.listing(found, render.message)


@router.post(
    "/send_msg",
    summary="Send a message as a user (the chatbot API)",
    openapi_extra=form_body(
        {
            "user_id": "Host user id of the author (required); must be a member of the room.",
            "room_id": "Room id (required).",
            "message": f"Text, at most {MAX_MESSAGE_LENGTH} characters (required).",
            "answer_to": "Id of the message replied to (ours).",
            "client_id": "Idempotency key: re-sending it returns the same message (ours).",
        },
        required=("user_id", "room_id", "message"),
    ),
)
async def send_msg(request: Request, imba_id: str) -> Response:
    fields = await Fields.from_request(request)
    widget = await widget_by_basic(request, imba_id)
    require_same_widget(fields, widget)
    author = fields.integer("user_id", required=True, minimum=1)
    room_id = fields.integer("room_id", required=True, minimum=1)
    text = fields.text("message", required=True, max_length=MAX_MESSAGE_LENGTH, raw=True)
    assert author is not None and room_id is not None and text is not None
    command = SendCommand(
        author_remote_id=author,
        room_id=room_id,
        text=text,
        answer_to=fields.integer("answer_to") or 0,
        client_id=fields.text("client_id", max_length=64),
    )
    message = await services_of(request).messages.send(widget, command)
    return envelopes.message_sent(message)
