"""Our JSON API beyond the ImbaChat surface (HTTP Basic ``imba_id:secret_key``):
webhooks and their delivery log, the widget's settings. Fields may be JSON, a form
or the query string."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from imbachat import render
from imbachat.api.deps import PathId, services_of, widget_by_basic
from imbachat.api.envelopes import json_response
from imbachat.api.forms import Fields
from imbachat.api.openapi import (
    BASIC,
    choice,
    data,
    deep_merge,
    flag,
    integer,
    obj,
    operation,
    ref,
    text,
)
from imbachat.services.widgets import MAX_RETENTION_DAYS, WidgetSettings

router = APIRouter(prefix="/api/v1/{imba_id}", tags=["Webhooks"])


@router.post(
    "/webhooks",
    summary="Register a webhook endpoint (optionally a bot's)",
    openapi_extra=operation(
        data(ref("Webhook")),
        status=201,
        fields={
            "url": text("http(s) URL that receives the events.", 2048, 1),
            "secret": text("Signing secret, 16-255 characters; default: random.", 255),
            "events": text("Comma-separated event names; default: all.", 1000),
            "bot_user_id": integer("Host user id of a bot: only its rooms' events.", 1),
        },
        required=("url",),
        security=BASIC,
    ),
)
async def add_webhook(request: Request, imba_id: str) -> Response:
    fields = await Fields.from_request(request)
    widget = await widget_by_basic(request, imba_id)
    url = fields.text("url", required=True, max_length=2048)
    assert url is not None
    events = fields.text("events", max_length=1000)
    hook = await services_of(request).webhooks.add(
        widget,
        url,
        secret=fields.text("secret"),
        events=events.split(",") if events else None,
        bot_user_id=fields.integer("bot_user_id", minimum=1),
    )
    return json_response({"data": hook}, 201)


@router.get(
    "/webhooks",
    summary="List webhook endpoints",
    openapi_extra=operation(data({"type": "array", "items": ref("Webhook")}), security=BASIC),
)
async def list_webhooks(request: Request, imba_id: str) -> Response:
    widget = await widget_by_basic(request, imba_id)
    return json_response({"data": await services_of(request).webhooks.endpoints(widget)})


@router.delete(
    "/webhooks/{webhook_id}",
    summary="Stop sending to a webhook endpoint",
    openapi_extra=operation(
        data(obj({"id": {"type": "integer"}, "active": {"type": "boolean"}})), security=BASIC
    ),
)
async def remove_webhook(request: Request, imba_id: str, webhook_id: PathId) -> Response:
    widget = await widget_by_basic(request, imba_id)
    await services_of(request).webhooks.remove(widget, webhook_id)
    return json_response({"data": {"id": webhook_id, "active": False}})


@router.get(
    "/webhooks/deliveries",
    summary="The delivery log, newest first",
    openapi_extra=deep_merge(
        operation(data({"type": "array", "items": ref("Delivery")}), security=BASIC),
        {
            "parameters": [
                {"name": "webhook_id", "in": "query", "schema": integer("Only this webhook's.", 1)},
                {
                    "name": "status",
                    "in": "query",
                    "schema": choice("Only these.", ["pending", "delivered", "failed"]),
                },
                {"name": "limit", "in": "query", "schema": integer("At most, default 50.", 1, 500)},
            ]
        },
    ),
)
async def list_deliveries(request: Request, imba_id: str) -> Response:
    fields = await Fields.from_request(request)
    widget = await widget_by_basic(request, imba_id)
    found = await services_of(request).webhooks.deliveries(
        widget,
        webhook_id=fields.integer("webhook_id", minimum=1),
        status=fields.text("status"),
        limit=fields.integer("limit", minimum=1, maximum=500) or 50,
    )
    return json_response({"data": found})


@router.post(
    "/webhooks/deliveries/{delivery_id}/replay",
    summary="Send a delivery again",
    openapi_extra=operation(
        data(obj({"id": {"type": "integer"}, "status": {"type": "string"}})), security=BASIC
    ),
)
async def replay_delivery(request: Request, imba_id: str, delivery_id: PathId) -> Response:
    widget = await widget_by_basic(request, imba_id)
    await services_of(request).webhooks.replay(widget, delivery_id)
    return json_response({"data": {"id": delivery_id, "status": "pending"}})


_SETTINGS = data(
    obj(
        {
            "users_info_url": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "users_search_url": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "api_login": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "guests": {"type": "boolean"},
            "guests_write_public": {"type": "boolean"},
            "theme": {"type": "string", "enum": ["auto", "light", "dark"]},
            "accent_color": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "file_types": {"type": "array", "items": {"type": "string"}},
            "files_quota_bytes": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
            "files_bytes": {"type": "integer", "description": "What the files take now."},
            "notify_sound": {"type": "boolean"},
            "away_notify_seconds": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
            "email_link_url": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "language": {"type": "string", "enum": ["en", "es", "ru", "fr", "it", "ar"]},
            "allowed_origins": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Pages the widget may be used from; [] for any.",
            },
            "retention_days": {
                "anyOf": [{"type": "integer"}, {"type": "null"}],
                "description": "Messages older than this many days are deleted; null: kept.",
            },
        }
    )
)


@router.get(
    "/settings",
    summary="The widget's settings (host site URLs, guests)",
    tags=["Settings"],
    openapi_extra=operation(_SETTINGS, security=BASIC),
)
async def get_settings(request: Request, imba_id: str) -> Response:
    widget = await widget_by_basic(request, imba_id)
    stored = await services_of(request).widgets.get(widget.imba_id)  # not a cached copy
    return json_response({"data": render.widget_settings(stored)})


@router.put(
    "/settings",
    summary="Change some of the widget's settings (those given)",
    tags=["Settings"],
    openapi_extra=operation(
        _SETTINGS,
        fields={
            "users_info_url": text('Host site URL answering user names ("" clears it).', 2048),
            "users_search_url": text('Host site URL answering a name search ("" clears).', 2048),
            "api_login": text("Basic auth login on those URLs (lowercase).", 255),
            "api_password": text("Basic auth password on those URLs.", 255),
            "guests": flag("1: visitors who are not logged in may chat with support."),
            "guests_write_public": flag("1: guests may write in public rooms too."),
            "theme": choice(
                "auto (the visitor's preference), light or dark.", ["auto", "light", "dark"]
            ),
            "accent_color": text('The widget\'s colour, #rrggbb ("" for the default).', 7),
            "file_types": text(
                "Files taken: image,pdf,office,text,archive,audio,video,other; none; "
                '"" for the default (all but other).',
                200,
            ),
            "files_quota_bytes": integer("Storage for the widget's files; 0: the default."),
            "notify_sound": flag("0: the widget plays no sound for new messages."),
            "away_notify_seconds": integer(
                "Seconds a message waits unread before an away member is told; 0: default.", 0
            ),
            "email_link_url": text(
                'Where e-mails lead, {room_id} filled in ("" for the page the widget was on).',
                2048,
            ),
            "language": choice(
                "The language of the widget's e-mails.", ["en", "es", "ru", "fr", "it", "ar"]
            ),
            "allowed_origins": text(
                "Pages the widget may be used from: origins such as https://shop.example or "
                'https://*.shop.example, by lines or commas ("" for any page).',
                5000,
            ),
            "retention_days": integer(
                "Delete messages (and their files) older than this many days; 0: keep them.",
                0,
                MAX_RETENTION_DAYS,
            ),
        },
        security=BASIC,
    ),
)
async def put_settings(request: Request, imba_id: str) -> Response:
    fields = await Fields.from_request(request)
    widget = await widget_by_basic(request, imba_id)

    def url(name: str) -> str | None:
        given = fields.value(name)
        return "" if name in fields and given is None else given

    settings = WidgetSettings(
        users_info_url=url("users_info_url"),
        users_search_url=url("users_search_url"),
        api_login=fields.text("api_login"),
        api_password=fields.text("api_password"),
        guests_enabled=fields.flag("guests"),
        guests_write_public=fields.flag("guests_write_public"),
        theme=fields.text("theme", max_length=8),
        accent_color=url("accent_color"),
        file_types=url("file_types"),
        files_quota_bytes=fields.integer("files_quota_bytes", minimum=0),
        notify_sound=fields.flag("notify_sound"),
        away_notify_seconds=fields.integer("away_notify_seconds", minimum=0),
        email_link_url=url("email_link_url"),
        language=fields.text("language", max_length=8),
        allowed_origins=url("allowed_origins"),
        retention_days=fields.integer("retention_days", minimum=0, maximum=MAX_RETENTION_DAYS),
    )
    updated = await services_of(request).widgets.update(widget.imba_id, settings)
    return json_response({"data": render.widget_settings(updated)})
