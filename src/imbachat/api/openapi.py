"""The OpenAPI description at ``/openapi.json`` (shown at ``/docs``): every field
of every operation with its type and limits, every answer with its shape, so
generated clients and fuzzers work from it. Routes describe themselves with
:func:`operation`; :func:`describe` adds the shared shapes and the ways to
authenticate."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from imbachat.numbers import MAX_ID

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


# ---- field types --------------------------------------------------------------------


def integer(description: str, minimum: int = 0, maximum: int = MAX_ID) -> Schema:
    return {"type": "integer", "minimum": minimum, "maximum": maximum, "description": description}


def text(description: str, max_length: int = 255, min_length: int = 0) -> Schema:
    schema: Schema = {"type": "string", "maxLength": max_length, "description": description}
    if min_length:
        schema["minLength"] = min_length
    return schema


def choice(description: str, values: list[str]) -> Schema:
    return {"type": "string", "enum": values, "description": description}


def flag(description: str) -> Schema:
    return {"type": "integer", "enum": [0, 1], "description": description}


def ids(description: str, max_items: int = 500) -> Schema:
    return {
        "type": "array",
        "items": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        "maxItems": max_items,
        "description": description,
    }


def moment(description: str) -> Schema:
    return {
        "type": "string",
        "maxLength": 32,
        "description": description + " A date (YYYY-MM-DD), a time (YYYY-MM-DD HH:MM:SS) "
        "or unix seconds.",
    }


PAGE = {
    "limit": integer("Page size, default 50.", 1, 500),
    "after_id": integer("Cursor: only ids after this one (see the X-Next-After-Id header)."),
    "offset": integer("Rows to skip after the cursor.", 0, 1_000_000),
    "order": choice("By id, ascending (default) or descending.", ["asc", "desc"]),
}


# ---- the shapes answers have ----------------------------------------------------------

_STAMP = nullable({"type": "string", "description": "YYYY-MM-DD HH:MM:SS, UTC"})
_INT = {"type": "integer"}
_STR = {"type": "string"}


def obj(properties: dict[str, Schema], *, closed: bool = True) -> Schema:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": not closed,
    }


SCHEMAS: dict[str, Schema] = {
    "Error": obj(
        {
            "code": _INT,
            "message": _STR,
            "errors": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": _STR},
                "description": "The parameters at fault, each with its reasons.",
            },
        }
    ),
    "User": obj(
        {
            "id": _INT,
            "deleted_at": _STAMP,
            "created_at": _STAMP,
            "updated_at": _STAMP,
            "remote_user_id": {"type": "string", "description": "The host site's user id."},
            "user_data": {"description": "What the host site said about the user (JSON)."},
            "imba_id": _INT,
            "login": _STR,
            "password": {"type": "string", "enum": ["NULL"]},
            "status": {"type": "string", "enum": ["user", "admin", "guest"]},
            "avatar_url": nullable(_STR),
            "name": _STR,
            "banned": {"type": "integer", "enum": [0, 1]},
            "is_bot": {"type": "integer", "enum": [0, 1]},
            "last_message_date": _STAMP,
        }
    ),
    "Room": obj(
        {
            "id": _INT,
            "pipe": _STR,
            "name": _STR,
            "admin_id": nullable(_INT),
            "type": {"type": "integer", "enum": [0, 1, 3]},
            "tab": _INT,
            "is_public": {"type": "integer", "enum": [0, 1]},
            "created_at": _STAMP,
            "updated_at": _STAMP,
            "deleted_at": _STAMP,
            "status": {"type": "integer", "enum": [0, 1]},
            "imba_id": _INT,
            "count_users": _INT,
            "last_seq": _INT,
            "last_message_date": _STAMP,
        }
    ),
    "Message": obj(
        {
            "id": _INT,
            "uuid": _STR,
            "message": _STR,
            "time": {"type": "string", "description": "Unix seconds."},
            "answer_to": _INT,
            "liked": _STR,
            "seq": _INT,
            "user_id": {"type": "integer", "description": "The author's host user id."},
            "author_id": _INT,
            "user_name": _STR,
            "is_bot": {"type": "boolean"},
            "room_id": _INT,
            "room_type": {"type": "integer", "enum": [0, 1, 3]},
            "imba_id": _INT,
            "client_id": nullable(_STR),
            "created_at": _STAMP,
            "edited_at": _STAMP,
            "deleted_at": _STAMP,
            "attachments": {"type": "array", "items": ref("File")},
            "reactions": {"type": "array", "items": ref("Reaction")},
            "mentions": {
                "type": "array",
                "items": _INT,
                "description": "Host user ids of the members the message mentions.",
            },
            "call": nullable(ref("CallRecord")),
        }
    ),
    "CallRecord": obj(
        {
            "kind": {"type": "string", "enum": ["audio", "video"]},
            "outcome": {
                "type": "string",
                "enum": ["completed", "missed", "declined", "busy", "failed", "cancelled"],
            },
            "duration": {"type": "integer", "description": "Seconds talked."},
        }
    )
    | {"description": "A call's record in its dialog (docs/calls.md); null on other messages."},
    "Reaction": obj(
        {
            "emoji": _STR,
            "count": _INT,
            "user_ids": {
                "type": "array",
                "items": _INT,
                "description": "Host user ids of the first 50 who reacted.",
            },
        }
    ),
    "Report": obj(
        {
            "id": _INT,
            "room_id": _INT,
            "message": ref("Message"),
            "reporter": obj({"user_id": _INT, "name": _STR}),
            "reason": _STR,
            "status": {"type": "string", "enum": ["open", "resolved", "dismissed"]},
            "outcome": nullable(
                {"type": "string", "enum": ["nothing", "message_deleted", "author_banned"]}
            ),
            "created_at": _STAMP,
            "resolved_at": _STAMP,
        }
    ),
    "File": obj(
        {
            "id": _INT,
            "name": _STR,
            "size": {"type": "integer", "description": "Bytes (of the cleaned image)."},
            "content_type": {"type": "string", "description": "Decided from the content."},
            "url": {"type": "string", "description": "Signed link, good for a day."},
            "thumbnail_url": nullable(
                {"type": "string", "description": "Images: a small copy (or the image)."}
            ),
            "width": nullable(_INT),
            "height": nullable(_INT),
        }
    ),
    "Webhook": obj(
        {
            "id": _INT,
            "imba_id": _INT,
            "url": _STR,
            "secret": _STR,
            "events": {"type": "array", "items": _STR},
            "bot_user_id": nullable(_INT),
            "active": {"type": "boolean"},
            "created_at": _STR,
        }
    ),
    "Delivery": obj(
        {
            "id": _INT,
            "webhook_id": _INT,
            "delivery_id": _STR,
            "event": _STR,
            "status": {"type": "string", "enum": ["pending", "delivered", "failed"]},
            "attempts": _INT,
            "last_status_code": nullable(_INT),
            "last_error": nullable(_STR),
            "created_at": _STR,
            "delivered_at": nullable(_STR),
        }
    ),
}


def listing(item: str) -> Schema:
    """The documented list envelope: ``{"success": "true", "data": [...], "code": 200}``."""
    return obj(
        {
            "success": {"type": "string", "enum": ["true"]},
            "data": {"type": "array", "items": ref(item)},
            "code": {"type": "integer", "enum": [200]},
        }
    )


def data(schema: Schema) -> Schema:
    """Our own answers: ``{"data": ...}``."""
    return obj({"data": schema})


# ---- operations -----------------------------------------------------------------------

ERRORS = (401, 403, 404, 409, 413, 422, 429)
_REASONS = {
    401: "Missing or wrong credentials.",
    403: "Not allowed (banned, not a member, another widget).",
    404: "Unknown widget, room, user, message or webhook.",
    409: "Clashes with what exists (a client_id used in another room).",
    413: "A field, the body or the file is too large (or the storage is full).",
    415: "A file of a type this widget does not take.",
    416: "The byte range asked for is not within the file.",
    422: "A parameter is missing or invalid: `errors` names it.",
    429: "Too many requests or wrong passwords: retry after `Retry-After` seconds.",
}


def operation(
    answer: Schema | None = None,
    *,
    fields: dict[str, Schema] | None = None,
    required: tuple[str, ...] = (),
    status: int = 200,
    media_type: str = "application/json",
    errors: tuple[int, ...] = ERRORS,
    security: list[dict[str, list[str]]] | None = None,
) -> dict[str, Any]:
    """``openapi_extra`` of a route: its fields (as a form, multipart or JSON), its
    answer on success and the errors it may give (all in the error envelope)."""
    extra: dict[str, Any] = {"responses": {}}
    if fields is not None:
        body = {"type": "object", "properties": fields, "required": list(required)}
        extra["requestBody"] = {
            "required": bool(required),
            "content": {
                kind: {"schema": body}
                for kind in (
                    "application/x-www-form-urlencoded",
                    "multipart/form-data",
                    "application/json",
                )
            },
        }
    success: dict[str, Any] = {"description": "Done."}
    if answer is not None:
        success["content"] = {media_type: {"schema": answer}}
    extra["responses"][str(status)] = success
    for code in errors:
        extra["responses"][str(code)] = {
            "description": _REASONS[code],
            "content": {"application/json": {"schema": ref("Error")}},
        }
    if security is not None:
        extra["security"] = security
    return extra


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


BASIC: list[dict[str, list[str]]] = [{"basic": []}]
BASIC_OR_JWT: list[dict[str, list[str]]] = [{"basic": []}, {"jwt": []}]
OPEN: list[dict[str, list[str]]] = []


def describe(app: FastAPI) -> dict[str, Any]:
    """The whole description, built once: the routes' own parts, the shared shapes,
    the ways to authenticate, and ``imba_id`` typed as the positive integer it is."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = schema.setdefault("components", {})
    shapes = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        shapes.pop(unused, None)
    shapes.update(SCHEMAS)
    components["securitySchemes"] = {
        "basic": {
            "type": "http",
            "scheme": "basic",
            "description": "imba_id as the user, the widget's secret_key as the password.",
        },
        "jwt": {
            "type": "apiKey",
            "in": "header",
            "name": "JWT",
            "description": "A user's token (HS256, signed with the widget's secret_key).",
        },
    }
    for operations in schema.get("paths", {}).values():
        for op in operations.values():
            for parameter in op.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] == "imba_id":
                    parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
                bounds = parameter.get("schema", {})
                for keyword, json_schema in (("ge", "minimum"), ("le", "maximum")):
                    if keyword in bounds:  # from the ids' Path(ge=..., le=...)
                        bounds[json_schema] = bounds.pop(keyword)
    app.openapi_schema = schema
    return schema
