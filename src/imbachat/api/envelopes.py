"""The exact response shapes of SPEC.md, and our error envelope; nowhere else."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from imbachat.clock import format_api, unix
from imbachat.domain import Message, Room, Slice, User
from imbachat.errors import ImbaError

NEXT_CURSOR_HEADER = "X-Next-After-Id"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def error_body(error: ImbaError) -> dict[str, Any]:
    return {"code": error.status, "message": error.message, "errors": error.errors}


def error_response(error: ImbaError) -> Response:
    return json_response(error_body(error), error.status, error.headers)


def room_created(room: Room) -> Response:
    """Documented answer of imba_rooms when it created the room."""
    body = {
        "code": 200,
        "message": "Success",
        "data": [{"success": True, "roomId": room.id, "room_id": room.id}],
    }
    return json_response(body)


def room_joined(room: Room) -> Response:
    """Documented answer of imba_rooms when it added users to an existing room."""
    body = {
        "code": 200,
        "message": "Success",
        "data": [{"error": False, "success": True, "room_id": str(room.id)}],
    }
    return json_response(body)


def listing(found: Slice[Any], render: Any) -> Response:
    """Documented list envelope; the next page's cursor travels in a header."""
    body = {"success": "true", "data": [render(item) for item in found.items], "code": 200}
    headers = {}
    if found.next_after_id is not None:
        headers[NEXT_CURSOR_HEADER] = str(found.next_after_id)
    return json_response(body, headers=headers)


def user(record: User) -> dict[str, Any]:
    return {
        "id": record.id,
        "deleted_at": format_api(record.deleted_at),
        "created_at": format_api(record.created_at),
        "updated_at": format_api(record.updated_at),
        "remote_user_id": str(record.remote_user_id),
        "user_data": orjson.loads(record.user_data) if record.user_data else None,
        "imba_id": record.imba_id,
        "login": record.name if record.name is not None else "NULL",
        "password": "NULL",
        "status": record.status,
        "avatar_url": record.avatar_url,
        # Ours, after the documented fields:
        "name": display_name(record),
        "banned": int(record.is_banned),
        "last_message_date": format_api(record.last_message_at),
    }


def display_name(record: User) -> str:
    return record.name or f"User {record.remote_user_id}"


def room(record: Room) -> dict[str, Any]:
    return {
        "id": record.id,
        "pipe": record.pipe,
        "name": record.name,
        "admin_id": record.admin_id,
        "type": record.type,
        "tab": record.tab,
        "is_public": record.is_public,
        "created_at": format_api(record.created_at),
        "updated_at": format_api(record.updated_at),
        "deleted_at": format_api(record.deleted_at),
        "status": record.status,
        "imba_id": record.imba_id,
        # Ours, after the documented fields:
        "count_users": record.member_count,
        "last_seq": record.last_seq,
        "last_message_date": format_api(record.last_message_at),
    }


def message(record: Message) -> dict[str, Any]:
    return {
        "id": record.id,
        "uuid": record.uuid,
        "message": record.body,
        "time": str(unix(record.created_at)),
        "answer_to": record.answer_to,
        "liked": str(record.liked),
        # Author and room fields:
        "seq": record.seq,
        "user_id": record.author_remote_id,
        "author_id": record.author_id,
        "user_name": record.author_name or f"User {record.author_remote_id}",
        "room_id": record.room_id,
        "room_type": record.room_type,
        "imba_id": record.imba_id,
        "client_id": record.client_id,
        "created_at": format_api(record.created_at),
        "edited_at": format_api(record.edited_at),
    }


def message_sent(record: Message) -> Response:
    """Documented answer of send_msg: ``success`` is a real boolean here."""
    return json_response({"success": True, "message": message(record)})
