"""What every handler needs: the services, and who the caller is."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BeforeValidator
from starlette.requests import Request

from imbachat.api.forms import Fields
from imbachat.auth.basic import authenticate_basic
from imbachat.auth.tokens import verify_user_token
from imbachat.domain import User, Widget
from imbachat.errors import Forbidden, NotFound, Unauthorized
from imbachat.numbers import MAX_ID, MIN_GUEST_ID, as_id, parse_int
from imbachat.services import Services

JWT_HEADER = "JWT"


def _path_id(value: object) -> int:
    number = as_id(value)
    if number is None:
        raise ValueError(f"must be an integer from 1 to {MAX_ID}")
    return number


# An id in a path (room, user, message, webhook, delivery): parsed by the one integer
# parser (ASCII digits, within the BIGINT column), 422 otherwise.
PathId = Annotated[int, BeforeValidator(_path_id), Path(ge=1, le=MAX_ID)]


def _user_id(value: object) -> int:
    number = as_id(value, minimum=MIN_GUEST_ID)
    if number is None or number == 0:
        raise ValueError("must be a host user id, or a guest's (negative)")
    return number


# A user in a moderation path: a host user id, or a guest's negative one.
UserIdPath = Annotated[int, BeforeValidator(_user_id), Path(ge=MIN_GUEST_ID, le=MAX_ID)]


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def path_imba_id(raw: str) -> int:
    """The imba_id of a URL; anything but a positive integer names no widget."""
    imba_id = parse_int(raw, minimum=1)
    if imba_id is None:
        raise NotFound(f"No widget with imba_id {raw[:40]!r}.")
    return imba_id


async def widget_by_basic(request: Request, raw_imba_id: str) -> Widget:
    imba_id = path_imba_id(raw_imba_id)
    authorization = request.headers.get("authorization")
    return await authenticate_basic(services_of(request).widgets, imba_id, authorization)


async def widget_and_viewer(request: Request, raw_imba_id: str) -> tuple[Widget, User | None]:
    """With a ``JWT`` header: the widget and the user the token names (who then sees
    only their own rooms and messages). Without: the widget by Basic auth."""
    token = request.headers.get(JWT_HEADER)
    if token is None:
        return await widget_by_basic(request, raw_imba_id), None
    imba_id = path_imba_id(raw_imba_id)
    services = services_of(request)
    try:
        widget = await services.widgets.get(imba_id)
    except NotFound:
        raise Unauthorized("The user token does not belong to this widget.") from None
    verified = verify_user_token(widget.secret_key, token, services.settings.token_leeway_seconds)
    viewer = await services.users.of_token(widget, verified)
    return widget, viewer


def require_same_widget(fields: Fields, widget: Widget) -> None:
    """The documented ``imba_id`` filter may only name the authenticated widget."""
    asked = fields.integer("imba_id")
    if asked is not None and asked != widget.imba_id:
        raise Forbidden(
            "The imba_id parameter must be the widget you authenticated as.", field="imba_id"
        )
