"""v2 authentication: HTTP Basic with ``imba_id`` as user and ``secret_key`` as password."""

from __future__ import annotations

import base64
import binascii
import hmac

from imbachat.domain import Widget
from imbachat.errors import NotFound, Unauthorized
from imbachat.services.widgets import WidgetService

CHALLENGE = {"WWW-Authenticate": 'Basic realm="imbachat"'}


def _refuse(message: str) -> Unauthorized:
    return Unauthorized(message, headers=CHALLENGE)


def parse_basic(authorization: str | None) -> tuple[str, str]:
    """``(user, password)`` of a Basic ``Authorization`` header."""
    if not authorization:
        raise _refuse(
            "HTTP Basic authentication required: use imba_id as user, secret_key as password."
        )
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise _refuse("Use HTTP Basic authentication: imba_id as user, secret_key as password.")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _refuse("The Basic credentials are not valid base64.") from None
    user, sep, password = decoded.partition(":")
    if not sep:
        raise _refuse("The Basic credentials must be imba_id:secret_key.")
    return user, password


async def authenticate_basic(
    widgets: WidgetService, imba_id: int, authorization: str | None
) -> Widget:
    """The widget of the path, if the header carries its id and secret key."""
    user, password = parse_basic(authorization)
    if user.strip() != str(imba_id):
        raise _refuse("The Basic user must be the imba_id of the URL.")
    try:
        widget = await widgets.recent(imba_id)
    except NotFound:
        raise _refuse("Wrong imba_id or secret_key.") from None
    if not hmac.compare_digest(widget.secret_key.encode(), password.encode()):
        raise _refuse("Wrong imba_id or secret_key.")
    return widget
