"""ImbaChat v1: the widget owner's calls, authenticated by login and password."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from imbachat.api import envelopes
from imbachat.api.deps import services_of
from imbachat.api.forms import Fields, form_body
from imbachat.domain import ROOM_TYPE_FIELD
from imbachat.services.rooms import DEFAULT_TITLE, RoomSpec
from imbachat.states import RoomType

router = APIRouter(tags=["ImbaChat v1"])

_IMBA_ROOMS_FIELDS = {
    "imba_id": "Widget id (required).",
    "login": "Widget owner's login (required).",
    "password": "Widget owner's password (required).",
    "room_title": f'Room name, default "{DEFAULT_TITLE}".',
    "room_pipe": "String id of the room; an existing pipe adds to that room.",
    "room_id": "Id of an existing room to add the users to.",
    "room_is_public": "1 public, 0 closed (default).",
    "room_type": "0 dialog (default), 1 conference, 3 technical support.",
    "users_ids[]": "Host user ids of the members, PHP array style: users_ids[0]=3.",
}


@router.post(
    "/imbachat/v1/widget/imba_rooms",
    summary="Create a room with members, or add members to an existing room",
    openapi_extra=form_body(_IMBA_ROOMS_FIELDS, required=("imba_id", "login", "password")),
)
async def imba_rooms(request: Request) -> Response:
    fields = await Fields.from_request(request)
    imba_id = fields.integer("imba_id", required=True, minimum=1)
    login = fields.text("login", required=True)
    password = fields.text("password", required=True, max_length=1024)
    assert imba_id is not None and login is not None and password is not None
    spec = RoomSpec(
        title=fields.text("room_title") or DEFAULT_TITLE,
        pipe=fields.text("room_pipe"),
        room_id=fields.integer("room_id", minimum=1),
        is_public=int(fields.flag("room_is_public") or False),
        type=fields.choice("room_type", ROOM_TYPE_FIELD) or RoomType.DIALOG,
        remote_user_ids=fields.integers("users_ids"),
    )
    services = services_of(request)
    address = request.client.host if request.client else ""
    widget = await services.owners.authenticate(imba_id, login, password, address)
    change = await services.rooms.create_or_join(widget, spec)
    return (
        envelopes.room_created(change.room)
        if change.created
        else envelopes.room_joined(change.room)
    )
