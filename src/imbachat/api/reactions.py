"""Reactions for the host site's backend and bots (HTTP Basic ``imba_id:secret_key``),
beside the ImbaChat v2 calls: a user reacts to a message, or takes it back."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from imbachat import render
from imbachat.api.deps import require_same_widget, services_of, widget_by_basic
from imbachat.api.envelopes import json_response
from imbachat.api.forms import Fields
from imbachat.api.openapi import BASIC, flag, integer, obj, operation, ref, text

router = APIRouter(prefix="/imbachat/v2/{imba_id}", tags=["ImbaChat v2"])


@router.post(
    "/react",
    summary="React to a message as a user, or take the reaction back (ours)",
    openapi_extra=operation(
        obj({"success": {"type": "boolean", "enum": [True]}, "message": ref("Message")}),
        fields={
            "imba_id": integer("Widget id; must be the authenticated one.", 1),
            "user_id": integer("Host user id of who reacts; a member of the room.", 1),
            "message_id": integer("The message.", 1),
            "emoji": text("One emoji.", 16, 1),
            "remove": flag("1: take this reaction back."),
        },
        required=("user_id", "message_id", "emoji"),
        security=BASIC,
    ),
)
async def react(request: Request, imba_id: str) -> Response:
    fields = await Fields.from_request(request)
    widget = await widget_by_basic(request, imba_id)
    require_same_widget(fields, widget)
    user_id = fields.integer("user_id", required=True, minimum=1)
    message_id = fields.integer("message_id", required=True, minimum=1)
    emoji = fields.text("emoji", required=True, max_length=16, raw=True)
    assert user_id is not None and message_id is not None and emoji is not None
    message = await services_of(request).reactions.react(
        widget, user_id, message_id, emoji, remove=bool(fields.flag("remove"))
    )
    return json_response({"success": True, "message": render.message(message)})
