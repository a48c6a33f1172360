"""Files over HTTP: the upload (a user's token, or the site's backend acting for a
user) and the download by signed link, with ranges.

Both answer browsers on other origins (the widget runs inside the host site's
pages), errors included. What a browser could run is only ever a download.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import APIRouter
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from imbachat import render
from imbachat.api.deps import (
    JWT_HEADER,
    PathId,
    path_imba_id,
    services_of,
    widget_and_viewer,
)
from imbachat.api.envelopes import error_response, json_response
from imbachat.api.openapi import BASIC_OR_JWT, data, integer, operation, ref
from imbachat.domain import StoredFile
from imbachat.errors import ImbaError, Invalid
from imbachat.files.kinds import ACTIVE_TYPES
from imbachat.files.links import Variant
from imbachat.numbers import as_id
from imbachat.services.files import Upload, coalesced

router = APIRouter(tags=["Files"])
UPLOAD_PATH = "/imbachat/v1/{imba_id}/files"
UPLOAD_PATTERN = re.compile(r"^/imbachat/v1/[^/]+/files/?$")
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, POST, OPTIONS",
    "Access-Control-Allow-Headers": f"Content-Type, Authorization, {JWT_HEADER}, Range",
    "Access-Control-Expose-Headers": "Content-Range, Content-Length, Retry-After",
    "Access-Control-Max-Age": "86400",
}
# Shown in the page rather than downloaded: cleaned images, sound and video.
_INLINE = ("image/jpeg", "image/png", "image/gif", "image/webp", "audio/", "video/")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@router.options(UPLOAD_PATH, include_in_schema=False)
@router.options(UPLOAD_PATH + "/{file_id}/{variant}", include_in_schema=False)
async def preflight() -> Response:
    return Response(status_code=204, headers=CORS)


@router.post(
    UPLOAD_PATH,
    summary="Upload a file, to attach to a message (send_msg or the socket's send)",
    openapi_extra={
        **operation(
            data(ref("File")),
            status=201,
            errors=(401, 403, 404, 413, 415, 422, 429),
            security=BASIC_OR_JWT,
        ),
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "user_id": integer(
                                "With Basic auth: the host user id of the uploader.", 1
                            ),
                        },
                        "required": ["file"],
                    }
                }
            },
        },
    },
)
async def upload(request: Request, imba_id: str) -> Response:
    try:
        return await _upload(request, imba_id)
    except ImbaError as exc:
        refused = error_response(exc)
        refused.headers.update(CORS)
        return refused


async def _upload(request: Request, imba_id: str) -> Response:
    services = services_of(request)
    widget, user = await widget_and_viewer(request, imba_id)  # before the body is read
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise Invalid("Send the file as multipart/form-data in a field named file.", field="file")
    body = coalesced(request.stream(), services.files.bandwidth)
    parser = MultiPartParser(request.headers, body, max_files=1, max_fields=10, max_part_size=1024)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise Invalid(f"The upload could not be read: {exc.message}", field="file") from None
    try:
        part = form.get("file")
        if not isinstance(part, UploadFile):
            raise Invalid("Send the file in a field named file.", field="file")
        if user is None:
            raw = request.query_params.get("user_id") or form.get("user_id")
            remote_id = as_id(raw) if isinstance(raw, str) else None
            if remote_id is None:
                raise Invalid(
                    "user_id (the uploader) is required with Basic auth.", field="user_id"
                )
            user = await services.users.get(widget, remote_id)
        size = part.size if part.size is not None else 0
        given = Upload(part.file, part.filename or "", size)
        stored = await services.files.upload(widget, user, given)
    finally:
        await form.close()
    shown = render.attachment(services.files.described(widget, stored))
    return json_response({"data": shown}, 201, CORS)


@router.head(UPLOAD_PATH + "/{file_id}/{variant}", include_in_schema=False)
@router.get(
    UPLOAD_PATH + "/{file_id}/{variant}",
    summary="Fetch a file (its signed link from a message or an upload)",
    description="`expires` and `signature` come with the link. Without them: the `JWT` "
    "header of a member of the file's room (or its uploader), or Basic auth. One byte "
    "`Range` is honoured (206).",
    openapi_extra=operation(
        {"type": "string", "format": "binary"},
        media_type="*/*",
        errors=(401, 403, 404, 416, 422),
        security=[*BASIC_OR_JWT, {}],
    ),
)
async def download(request: Request, imba_id: str, file_id: PathId, variant: Variant) -> Response:
    services = services_of(request)
    query = request.query_params
    try:
        signed = "signature" in query or "expires" in query
        widget, viewer = (
            (await services.widgets.recent(path_imba_id(imba_id)), None)
            if signed
            else await widget_and_viewer(request, imba_id)
        )
        stored = await services.files.for_download(
            widget,
            file_id,
            variant,
            expires=as_id(query.get("expires", ""), minimum=0) if signed else None,
            signature=query.get("signature", "")[:64] if signed else None,
            viewer=viewer,
            owner=not signed and viewer is None,
        )
        return _serve(request, stored, variant)
    except ImbaError as exc:
        refused = error_response(exc)
        refused.headers.update({"Access-Control-Allow-Origin": "*"})
        return refused


def _serve(request: Request, stored: StoredFile, variant: Variant) -> Response:
    files = services_of(request).files
    if variant == Variant.THUMBNAIL:
        content_type, size = stored.thumbnail_type or "image/jpeg", None
    else:
        content_type, size = stored.content_type, stored.size
    headers = {
        "Content-Disposition": _disposition(stored.name, content_type),
        "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'; media-src 'self'",
        "Cross-Origin-Resource-Policy": "cross-origin",
        "Access-Control-Allow-Origin": "*",
        "Cache-Control": "private, max-age=86400, immutable",
        "ETag": f'"{stored.id}-{variant.value}"',
        "Accept-Ranges": "bytes" if size is not None else "none",
    }
    if content_type in ACTIVE_TYPES:
        content_type = "application/octet-stream"  # a download, whatever the browser thinks
    elif content_type.startswith("text/"):
        content_type += "; charset=utf-8"
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    start, end, status = 0, None, 200
    wanted = request.headers.get("range")
    if wanted and size is not None:
        start, end = _range(wanted, size, headers)
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    if size is not None:
        headers["Content-Length"] = str((end if end is not None else size - 1) - start + 1)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=content_type)
    body = files.read(stored, variant, start, end)
    return StreamingResponse(body, status, headers, media_type=content_type)


def _range(wanted: str, size: int, headers: dict[str, str]) -> tuple[int, int]:
    """One byte range (``a-b``, ``a-``, ``-n``); 416 when it is not within the file."""
    match = _RANGE.match(wanted.strip())
    first, last = (match.group(1), match.group(2)) if match else ("", "")
    if match and first:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    elif match and last:
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = size, -1
    if start > end or start >= size:
        raise _Unsatisfiable(size)
    return start, end


class _Unsatisfiable(ImbaError):
    status = 416

    def __init__(self, size: int) -> None:
        super().__init__(
            f"The range is not within the file ({size} bytes).",
            field="range",
            headers={"Content-Range": f"bytes */{size}"},
        )


def _disposition(name: str, content_type: str) -> str:
    kind = "inline" if content_type.startswith(_INLINE) else "attachment"
    plain = name.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    return f"{kind}; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"
