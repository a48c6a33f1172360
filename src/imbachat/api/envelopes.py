"""The exact response shapes of SPEC.md, and our error envelope; nowhere else."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from imbachat import render
from imbachat.domain import Message, Room, Slice
from imbachat.errors import ImbaError
from imbachat.services.search import SearchPage

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


def search_results(page: SearchPage) -> Response:
    """search_messages: the list envelope, and the next page's cursor in the body
    (``null`` on the last page): it is not an id, so not the X-Next-After-Id header."""
    body = {
        "success": "true",
        "data": [render.message(result.message) for result in page.results],
        "code": 200,
        "next": page.next,
    }
    return json_response(body)


def message_sent(record: Message) -> Response:
    """Documented answer of send_msg: ``success`` is a real boolean here."""
    return json_response({"success": True, "message": render.message(record)})
