"""POST /imbachat/v1/{imba_id}/guests: a visitor who is not logged in becomes a guest.

The widget calls it from the host site's pages (another origin), so answers carry
CORS headers, errors included. No credentials: guests are limited per client
address, and an owner may turn them off (``imbachat widgets set --no-guests``).
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from imbachat import origins
from imbachat.api.deps import path_imba_id, services_of
from imbachat.api.envelopes import error_response, json_response
from imbachat.api.forms import Fields
from imbachat.api.openapi import OPEN, data, obj, operation, text
from imbachat.auth.tokens import GUEST_TOKEN_SECONDS
from imbachat.errors import Forbidden, ImbaError
from imbachat.render import display_name
from imbachat.services.guests import GuestDetails

router = APIRouter(tags=["Guests"])
PATH = "/imbachat/v1/{imba_id}/guests"
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "86400",
}
_GUEST = data(
    obj(
        {
            "token": {"type": "string", "description": "The guest's token (connect with it)."},
            "user_id": {"type": "integer", "description": "The guest's id in chats (negative)."},
            "name": {"type": "string"},
            "expires_in": {"type": "integer", "description": "Seconds the token is good for."},
        }
    )
)


@router.options(PATH, include_in_schema=False)
async def preflight() -> Response:
    return Response(status_code=204, headers=CORS)


@router.post(
    PATH,
    summary="Start (or renew) a guest session for a visitor who is not logged in",
    openapi_extra=operation(
        _GUEST,
        status=201,
        fields={
            "name": text("How the guest wants to be called.", 100),
            "email": text("Where the guest wants replies when they are away.", 254),
            "page": text("The page of the site the guest is on.", 2048),
            "token": text("A guest token from before: renews it, keeping the guest.", 4096),
        },
        errors=(403, 404, 413, 422, 429, 401),
        security=OPEN,
    ),
)
async def start_guest(request: Request, imba_id: str) -> Response:
    services = services_of(request)
    try:
        fields = await Fields.from_request(request)
        widget = await services.widgets.recent(path_imba_id(imba_id))
        if not origins.allows(widget.allowed_origins, request.headers.get("origin")):
            raise Forbidden("This page may not use this chat (allowed host origins).")
        details = GuestDetails(
            name=fields.text("name", max_length=100, raw=True),
            email=fields.text("email", max_length=254),
            page=fields.text("page", max_length=2048),
        )
        old_token = fields.text("token", max_length=4096)
        if old_token:
            guest, token = await services.guests.renew(widget, old_token)
            if details.name or details.email:
                guest = await services.guests.describe(widget, guest, details)
        else:
            address = request.client.host if request.client else ""
            guest, token = await services.guests.start(widget, details, address)
    except ImbaError as exc:
        refused = error_response(exc)
        refused.headers.update(CORS)
        return refused
    answer = {
        "token": token,
        "user_id": guest.remote_user_id,
        "name": display_name(guest),
        "expires_in": GUEST_TOKEN_SECONDS,
    }
    return json_response({"data": answer}, 201, CORS)
