"""The link at the foot of every digest e-mail: it stops them without logging in
(signed with the widget's secret). GET shows a button; POST (the button, or a mail
client's one-click List-Unsubscribe) does it."""

from __future__ import annotations

import hmac
from html import escape

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from imbachat.api.deps import path_imba_id, services_of
from imbachat.domain import User, Widget
from imbachat.errors import Forbidden, ImbaError
from imbachat.mail.digest import unsubscribe_page, unsubscribe_signature
from imbachat.numbers import as_id
from imbachat.states import EmailChoice

router = APIRouter(tags=["Alerts"])
PATH = "/imbachat/v1/{imba_id}/unsubscribe"
_HTML = {"text/html": {"schema": {"type": "string"}}}
_PAGES = {
    "responses": {
        "200": {"description": "The page (a button, or done).", "content": _HTML},
        "403": {"description": "The link is not valid.", "content": _HTML},
        "404": {"description": "No such widget or user.", "content": _HTML},
    },
    "parameters": [
        {"name": "user_id", "in": "query", "required": True, "schema": {"type": "integer"}},
        {"name": "signature", "in": "query", "required": True, "schema": {"type": "string"}},
    ],
}


async def _signed_user(request: Request, imba_id: str) -> tuple[Widget, User]:
    services = services_of(request)
    widget = await services.widgets.recent(path_imba_id(imba_id))
    remote_id = as_id(request.query_params.get("user_id", ""))
    given = request.query_params.get("signature", "")[:64]
    expected = unsubscribe_signature(widget.secret_key, widget.imba_id, remote_id or 0)
    if remote_id is None or not hmac.compare_digest(expected.encode(), given.encode()):
        raise Forbidden("This unsubscribe link is not valid.")
    return widget, await services.users.get(widget, remote_id)


def _page(widget: Widget | None, done: bool, status: int = 200) -> Response:
    return HTMLResponse(unsubscribe_page(widget.language if widget else "en", done), status)


@router.get(PATH, summary="The page of an e-mail's unsubscribe link", openapi_extra=_PAGES)
async def ask(request: Request, imba_id: str) -> Response:
    try:
        widget, _ = await _signed_user(request, imba_id)
    except ImbaError as exc:
        return HTMLResponse(f"<!doctype html><p>{escape(exc.message)}</p>", exc.status)
    return _page(widget, done=False)


@router.post(
    PATH, summary="Stop the digest e-mails (the link's button, or one click)", openapi_extra=_PAGES
)
async def unsubscribe(request: Request, imba_id: str) -> Response:
    try:
        widget, user = await _signed_user(request, imba_id)
    except ImbaError as exc:
        return HTMLResponse(f"<!doctype html><p>{escape(exc.message)}</p>", exc.status)
    await services_of(request).alerts.choose(widget, user, email=EmailChoice.NEVER)
    return _page(widget, done=True)
