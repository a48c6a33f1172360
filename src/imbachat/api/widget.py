"""GET /imbachat/v1/{imba_id}/widget: the embeddable chat, one script with its CSS.

Served from package data with no build step, encoded once per process, cached by
browsers and revalidated with an ETag.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from imbachat.api.deps import path_imba_id, services_of
from imbachat.api.openapi import OPEN, deep_merge, operation
from imbachat.errors import NotFound

router = APIRouter(tags=["Widget"])
WIDGET_DIR = Path(__file__).resolve().parent.parent / "widget"
CSS_SLOT = '/*__CSS__*/""'
JAVASCRIPT = "application/javascript; charset=utf-8"


@functools.cache
def widget_bundle() -> tuple[bytes, str]:
    """The script with its stylesheet inlined, and the ETag of that exact text."""
    script = (WIDGET_DIR / "widget.js").read_text(encoding="utf-8")
    styles = (WIDGET_DIR / "widget.css").read_text(encoding="utf-8")
    body = script.replace(CSS_SLOT, json.dumps(styles), 1).encode()
    return body, f'"{hashlib.sha256(body).hexdigest()[:32]}"'


@router.get(
    "/imbachat/v1/{imba_id}/widget",
    summary="The chat widget's JavaScript",
    openapi_extra=deep_merge(
        operation(
            {"type": "string"}, media_type="application/javascript", errors=(), security=OPEN
        ),
        {
            "responses": {
                "304": {"description": "Not modified since the ETag given."},
                "404": {
                    "description": "No such widget: a script that says so in the console.",
                    "content": {"application/javascript": {"schema": {"type": "string"}}},
                },
            }
        },
    ),
)
async def widget_script(request: Request, imba_id: str) -> Response:
    try:
        await services_of(request).widgets.get(path_imba_id(imba_id))
    except NotFound:
        message = f"imbachat: there is no widget {imba_id!r} on this server; check the imba_id."
        return Response(f"console.error({json.dumps(message)});", 404, media_type=JAVASCRIPT)
    body, etag = widget_bundle()
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300, must-revalidate"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=JAVASCRIPT, headers=headers)
