"""The owner's privacy requests (HTTP Basic ``imba_id:secret_key``): everything held
about a user as a zip, and the user's erasure (services/privacy.py)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import anyio
import anyio.to_thread
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from imbachat.api.deps import UserIdPath, services_of, widget_by_basic
from imbachat.api.envelopes import json_response
from imbachat.api.openapi import BASIC, data, obj, operation

router = APIRouter(prefix="/api/v1/{imba_id}", tags=["Privacy"])

ACTOR = "api"  # the audit log's name for a call with the widget's secret key
CHUNK = 256 * 1024

_ERASURE = data(
    obj(
        {
            "user_id": {"type": "integer", "description": "The host id the user had."},
            "member_id": {"type": "integer"},
            "erased_at": {"type": "string"},
            "messages": {"type": "integer", "description": "Messages emptied."},
            "files": {"type": "integer", "description": "Files removed."},
            "rooms": {"type": "integer", "description": "Rooms they were taken out of."},
            "deliveries_redacted": {"type": "integer"},
            "compacted": {
                "type": "boolean",
                "description": "The database keeps no readable copy (SQLite) or was vacuumed.",
            },
        }
    )
)


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get(
    "/users/{user_id}/export",
    summary="Everything held about a user: a zip of user.json and their files",
    openapi_extra=operation(
        {"type": "string", "format": "binary"}, media_type="application/zip", security=BASIC
    ),
)
async def export_user(request: Request, imba_id: str, user_id: UserIdPath) -> Response:
    widget = await widget_by_basic(request, imba_id)
    handle, name = await anyio.to_thread.run_sync(
        lambda: tempfile.mkstemp(prefix="imbachat-export-", suffix=".zip")
    )
    os.close(handle)
    target = Path(name)
    try:
        size = await services_of(request).privacy.export(
            widget, user_id, target, actor=ACTOR, address=_address(request)
        )
    except BaseException:
        await anyio.to_thread.run_sync(partial(target.unlink, missing_ok=True))
        raise
    filename = f"imbachat-{widget.imba_id}-user-{user_id}.zip"
    return TemporaryFileResponse(
        target,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Length": str(size),
        },
    )


class TemporaryFileResponse(StreamingResponse):
    """A file sent in chunks, then removed: once sent, or once the client went away,
    even before the first byte (when the chunks' generator never starts)."""

    def __init__(self, path: Path, *, media_type: str, headers: dict[str, str]) -> None:
        super().__init__(_chunks(path), media_type=media_type, headers=headers)
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(partial(self.path.unlink, missing_ok=True))


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as file:
        while chunk := await file.read(CHUNK):
            yield chunk


@router.post(
    "/users/{user_id}/erase",
    summary="Erase a user: their messages' text and files, memberships, profile",
    openapi_extra=operation(_ERASURE, security=BASIC),
)
async def erase_user(request: Request, imba_id: str, user_id: UserIdPath) -> Response:
    widget = await widget_by_basic(request, imba_id)
    erasure = await services_of(request).privacy.erase(
        widget, user_id, actor=ACTOR, address=_address(request)
    )
    return json_response({"data": erasure.as_json()})
