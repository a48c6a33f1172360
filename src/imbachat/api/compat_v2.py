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
from imbachat.api.forms import Fields
from imbachat.api.openapi import (
    BASIC,
    BASIC_OR_JWT,
    PAGE,
    choice,
    flag,
    integer,
    listing,
    moment,
    nullable,
    obj,
    operation,
    ref,
    text,
)
from imbachat.domain import ROOM_TYPE_FIELD, MessageQuery, RoomQuery, UserQuery
from imbachat.numbers import MAX_INT32, MAX_SMALLINT
from imbachat.services.files import MAX_ATTACHMENTS
from imbachat.services.messages import MAX_MENTIONS, MAX_MESSAGE_LENGTH, SendCommand
from imbachat.services.search import DEFAULT_LIMIT, MAX_LIMIT, MAX_TEXT, SearchRequest
from imbachat.states import MemberRole, UserStatus

router = APIRouter(prefix="/imbachat/v2/{imba_id}", tags=["ImbaChat v2"])

_MEMBER_ROLES = {**{role.value: role for role in MemberRole}, "user": MemberRole.MEMBER}
_USER_STATUSES = {status.value: status for status in UserStatus}


@router.post(
    "/get_users",
    summary="List the widget's users, filtered",
    openapi_extra=operation(
        listing("User"),
        fields={
            "imba_id": integer("Widget id; must be the authenticated one.", 1),
            "id": integer("imbachat user id.", 1),
            "user_id": integer("Host site user id (ours).", 1),
            "login": text("User name."),
            "status": choice("The user's site status.", ["user", "admin", "guest"]),
            "last_message_date": moment("When the user last wrote."),
            "banned": flag("1 banned, 0 not banned."),
            **PAGE,
        },
        security=BASIC,
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
    openapi_extra=operation(
        listing("Room"),
        fields={
            "imba_id": integer("Widget id; must be the authenticated one.", 1),
            "room_type": choice("0 dialog, 1 conference, 3 support.", ["0", "1", "3"]),
            "status": integer("Room status (0 open, 1 closed).", 0, MAX_SMALLINT),
            "count_users": integer("Exact number of members.", 0, MAX_INT32),
            "last_message_date": moment("When the room's last message was sent."),
            "banned": flag("1: rooms with a banned member (with JWT: where that user is)."),
            "room_id": integer("Room id (ours).", 1),
            "room_pipe": text("Room pipe (ours)."),
            **PAGE,
        },
        security=BASIC_OR_JWT,
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
    openapi_extra=operation(
        listing("Message"),
        fields={
            "imba_id": integer("Widget id; must be the authenticated one.", 1),
            "date": moment("When the message was sent."),
            "id": integer("Message id.", 1),
            "room_type": choice("0 dialog, 1 conference, 3 support.", ["0", "1", "3"]),
            "user_name": text("Author's name."),
            "user_role": choice("Author's role in the room.", list(_MEMBER_ROLES)),
            "room_id": integer("Room id (ours).", 1),
            "user_id": integer("Author's host user id (ours).", 1),
            **PAGE,
        },
        security=BASIC_OR_JWT,
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
    openapi_extra=operation(
        obj({"success": {"type": "boolean", "enum": [True]}, "message": ref("Message")}),
        fields={
            "imba_id": integer("Widget id; must be the authenticated one.", 1),
            "user_id": integer("Host user id of the author; a member of the room.", 1),
            "room_id": integer("Room id.", 1),
            "message": text(
                "The text; may be empty (or left out) when files are attached.", MAX_MESSAGE_LENGTH
            ),
            "answer_to": integer("Id of the message replied to (ours)."),
            "client_id": text("Idempotency key: sent again, the same message (ours).", 64),
            "attachments": {
                "type": "array",
                "maxItems": MAX_ATTACHMENTS,
                "items": {"type": "integer", "minimum": 1},
                "description": "Ids of files the author uploaded (`attachments[0]=ID`; ours).",
            },
            "mentions": {
                "type": "array",
                "maxItems": MAX_MENTIONS,
                "items": {"type": "integer", "minimum": 1},
                "description": "Host user ids of members the text mentions (`mentions[0]=ID`;"
                " ours): they are told even in rooms they muted.",
            },
        },
        required=("user_id", "room_id", "message"),
        security=BASIC,
    ),
)
async def send_msg(request: Request, imba_id: str) -> Response:
    fields = await Fields.from_request(request)
    widget = await widget_by_basic(request, imba_id)
    require_same_widget(fields, widget)
    author = fields.integer("user_id", required=True, minimum=1)
    room_id = fields.integer("room_id", required=True, minimum=1)
    attachments = tuple(fields.integers("attachments", max_items=MAX_ATTACHMENTS))
    text = fields.text("message", required=not attachments, max_length=MAX_MESSAGE_LENGTH, raw=True)
    assert author is not None and room_id is not None
    command = SendCommand(
        author_remote_id=author,
        room_id=room_id,
        text=text or "",
        answer_to=fields.integer("answer_to") or 0,
        client_id=fields.text("client_id", max_length=64),
        attachments=attachments,
        mentions=tuple(fields.integers("mentions", max_items=MAX_MENTIONS)),
    )
    message = await services_of(request).messages.send(widget, command)
    return envelopes.message_sent(message)


@router.post(
    "/search_messages",
    summary="Search messages by their words, the most relevant first (ours)",
    openapi_extra=operation(
        obj(
            {
                "success": {"type": "string", "enum": ["true"]},
                "data": {"type": "array", "items": ref("Message")},
                "code": {"type": "integer", "enum": [200]},
                "next": nullable(
                    {"type": "string", "description": "Pass as `after` for the next page."}
                ),
            }
        ),
        fields={
            "imba_id": integer("Widget id; must be the authenticated one.", 1),
            "text": text("The words to find, all of them (see docs/search.md).", MAX_TEXT, 1),
            "user_id": integer("Host user id: only messages of that user's rooms.", 1),
            "room_id": integer("Room id: only this room's messages.", 1),
            "date": moment("When the message was sent."),
            "date_from": moment("Sent at or after (inclusive)."),
            "date_to": moment("Sent at or before (inclusive)."),
            "limit": integer(f"Page size, default {DEFAULT_LIMIT}.", 1, MAX_LIMIT),
            "after": text("Cursor: the `next` of the previous page.", 64),
        },
        required=("text",),
        security=BASIC,
    ),
)
async def search_messages(request: Request, imba_id: str) -> Response:
    fields = await Fields.from_request(request)
    widget = await widget_by_basic(request, imba_id)
    require_same_widget(fields, widget)
    words = fields.text("text", required=True, max_length=MAX_TEXT, raw=True)
    assert words is not None
    query = SearchRequest(
        text=words,
        room_id=fields.integer("room_id", minimum=1),
        before=fields.text("after", max_length=64),
        limit=fields.integer("limit", minimum=1, maximum=MAX_LIMIT) or DEFAULT_LIMIT,
        date=fields.time_range("date"),
    )
    remote_user_id = fields.integer("user_id", minimum=1)
    page = await services_of(request).search.search_for_site(widget, remote_user_id, query)
    return envelopes.search_results(page)
