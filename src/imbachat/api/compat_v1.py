"""ImbaChat v1: the widget owner's calls, authenticated by login and password."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from imbachat.api import envelopes
from imbachat.api.deps import services_of
from imbachat.api.forms import Fields
from imbachat.api.openapi import choice, flag, ids, integer, obj, operation, text
from imbachat.domain import ROOM_TYPE_FIELD
from imbachat.services.rooms import DEFAULT_TITLE, RoomSpec
from imbachat.states import RoomType

router = APIRouter(tags=["ImbaChat v1"])

_IMBA_ROOMS_FIELDS = {
    "imba_id": integer("Widget id.", 1),
    "login": text("Widget owner's login."),
    "password": text("Widget owner's password.", 1024),
    "room_title": text(f'Room name, default "{DEFAULT_TITLE}".'),
    "room_pipe": text("String id of the room; an existing pipe adds to that room."),
    "room_id": integer("Id of an existing room to add the users to.", 1),
    "room_is_public": flag("1 public, 0 closed (default)."),
    "room_type": choice("0 dialog (default), 1 conference, 3 technical support.", ["0", "1", "3"]),
    "users_ids": ids("Host user ids of the members; PHP array style users_ids[0]=3 too."),
}
_ROOM_ANSWER = obj(
    {
        "code": {"type": "integer", "enum": [200]},
        "message": {"type": "string"},
        "data": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["success", "room_id"],
                "properties": {
                    "success": {"type": "boolean"},
                    "error": {"type": "boolean"},
                    "roomId": {"type": "integer"},
                    "room_id": {"type": ["integer", "string"]},
                },
            },
        },
    }
)


@router.post(
    "/imbachat/v1/widget/imba_rooms",
    summary="Create a room with members, or add members to an existing room",
    openapi_extra=operation(
        _ROOM_ANSWER, fields=_IMBA_ROOMS_FIELDS, required=("imba_id", "login", "password")
    ),
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
