"""The widget's settings, its secret key, the embed snippet, and the audit log."""

from __future__ import annotations

import json

from fastapi import APIRouter
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from imbachat.dashboard.web import (
    PREFIX,
    DashboardRoute,
    audit,
    checked_form,
    cursor,
    int_field,
    owner_of,
    page_size,
    redirect,
    render,
    services_of,
    text_field,
)
from imbachat.errors import Invalid
from imbachat.mail.digest import LANGUAGES
from imbachat.services.widgets import THEMES, WidgetSettings

router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)
POSITIONS = ("right", "left")
FLAGS = ("guests_enabled", "guests_write_public", "notify_sound")


def snippet(server: str, imba_id: int, lang: str, position: str, title: str) -> str:
    """What the owner pastes into their site's pages: the widget for the signed-in
    user whose token the site signs (a visitor without one chats as a guest)."""
    params = {"token": "<JWT your server signs for the user>", "lang": lang, "position": position}
    if title:
        params["title"] = title
    options = json.dumps(params, ensure_ascii=False).replace("</", "<\\/")
    return (
        f'<script src="{server}/imbachat/v1/{imba_id}/widget"></script>\n'
        "<script>\n"
        "  (function init() {\n"
        "    if (!window.ImbaChat) { return setTimeout(init, 50); }\n"
        f"    window.ImbaChat.load({options});\n"
        "  })();\n"
        "</script>"
    )


@router.get("/{imba_id}/settings")
async def settings(request: Request, imba_id: str) -> Response:
    owner = await owner_of(request, imba_id)
    services = services_of(request)
    widget = await services.widgets.get(owner.imba_id)  # as stored now, not cached
    query = request.query_params
    lang = query.get("snippet_lang", widget.language)
    lang = lang if lang in LANGUAGES else "en"
    position = query.get("position", "right")
    position = position if position in POSITIONS else "right"
    title = query.get("title", "")[:60]
    server = services.settings.public_url or str(request.base_url).rstrip("/")
    return render(
        request,
        "settings.html",
        owner=owner,
        active="settings",
        widget=widget,
        themes=THEMES,
        languages_all=LANGUAGES,
        positions=POSITIONS,
        snippet=snippet(server, widget.imba_id, lang, position, title),
        server=server,
        snippet_lang=lang,
        position=position,
        title=title,
        done=query.get("done", ""),
    )


def _settings_of(form: FormData) -> WidgetSettings:
    accent = text_field(form, "accent_color")
    return WidgetSettings(
        users_info_url=text_field(form, "users_info_url"),
        users_search_url=text_field(form, "users_search_url"),
        api_login=text_field(form, "api_login"),
        # An empty password field keeps the password (it is never shown back).
        api_password=(
            ""
            if text_field(form, "clear_api_password") == "1"
            else (text_field(form, "api_password") or None)
        ),
        theme=text_field(form, "theme") or None,
        accent_color=accent,
        language=text_field(form, "language") or None,
        allowed_origins=text_field(form, "allowed_origins") or "",
        guests_enabled=text_field(form, "guests_enabled") == "1",
        guests_write_public=text_field(form, "guests_write_public") == "1",
        notify_sound=text_field(form, "notify_sound") == "1",
        retention_days=_retention_days(form),
    )


def _retention_days(form: FormData) -> int:
    """Days to keep messages; an empty field keeps them for ever (0)."""
    if not text_field(form, "retention_days"):
        return 0
    days = int_field(form, "retention_days")
    if days is None or days < 0:
        raise Invalid("retention_days is a number of days.", field="retention_days")
    return days


@router.post("/{imba_id}/settings")
async def save(request: Request, imba_id: str) -> Response:
    owner = await owner_of(request, imba_id)
    form = await checked_form(request, owner)
    services = services_of(request)
    before = await services.widgets.get(owner.imba_id)
    after = await services.widgets.update(owner.imba_id, _settings_of(form))
    changed = [
        name
        for name in (
            "users_info_url",
            "users_search_url",
            "api_login",
            "api_password",
            "theme",
            "accent_color",
            "language",
            "allowed_origins",
            "retention_days",
            *FLAGS,
        )
        if getattr(before, name) != getattr(after, name)
    ]
    if changed:
        # Names only: a password or a URL's credentials never land in the log.
        await audit(request, owner, "settings changed", "widget", ", ".join(changed))
    return redirect(f"{owner.base}/settings", done="saved")


@router.post("/{imba_id}/settings/rotate-secret")
async def rotate(request: Request, imba_id: str) -> Response:
    owner = await owner_of(request, imba_id)
    form = await checked_form(request, owner)
    if text_field(form, "confirm") != "yes":
        raise Invalid(
            "Tick the box to confirm: every user token signed with the old key stops working."
        )
    await services_of(request).widgets.rotate_secret(owner.imba_id)
    await audit(request, owner, "secret key rotated", "widget")
    return redirect(f"{owner.base}/settings", done="rotated")


@router.get("/{imba_id}/audit")
async def audit_log(request: Request, imba_id: str) -> Response:
    owner = await owner_of(request, imba_id)
    found = await services_of(request).audit.page(
        owner.imba_id, cursor(request, "before"), page_size(request)
    )
    return render(request, "audit.html", owner=owner, active="audit", found=found)
