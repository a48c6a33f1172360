"""The demo host site of ``imbachat demo``: a page per user that embeds the widget
exactly as a real site does (script tag, 50 ms polling, a JWT signed server-side),
and a visitor's page (``?user=0``: not logged in, the chat starts as a guest)."""

from __future__ import annotations

import html
import json
from pathlib import Path

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from imbachat.api.deps import services_of
from imbachat.auth.tokens import issue_user_token
from imbachat.demo.seed import DEMO_IMBA_ID, DEMO_USERS

router = APIRouter(include_in_schema=False)
PAGE = Path(__file__).resolve().parent / "page.html"


@router.get("/")
async def demo_page(request: Request, user: int = 1) -> Response:
    if user not in DEMO_USERS and user != 0:
        user = 1
    widget = await services_of(request).widgets.get(DEMO_IMBA_ID)
    name = DEMO_USERS[user][0] if user else "a visitor (not logged in)"
    others = "\n".join(
        f'<li class="profile"><span class="avatar">{html.escape(other[0])}</span>'
        f"<b>{html.escape(other)}</b> <small>user {uid}</small> "
        f'<button type="button" onclick="window.imbaChat.openDialog(\'{uid}\')">'
        "Write a message</button></li>"
        for uid, (other, _) in DEMO_USERS.items()
        if uid != user
    )
    people = [*((uid, n) for uid, (n, _) in DEMO_USERS.items()), (0, "Visitor")]
    switch = " · ".join(
        f'<a href="/?user={uid}"{" aria-current=page" if uid == user else ""}>{html.escape(n)}</a>'
        for uid, n in people
    )
    params: dict[str, str] = {"lang": request.query_params.get("lang", "en")}
    if user:
        params |= {"user_id": str(user), "token": issue_user_token(widget.secret_key, user)}
    page = (
        PAGE.read_text(encoding="utf-8")
        .replace("{{name}}", html.escape(name))
        .replace("{{switch}}", switch)
        .replace("{{profiles}}", others)
        .replace("{{imba_id}}", str(widget.imba_id))
        .replace("{{params}}", json.dumps(params).replace("</", "<\\/"))
    )
    return HTMLResponse(page)
