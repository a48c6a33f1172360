"""The owner's dashboard at /dashboard/: server-rendered pages (Jinja2), a little
progressive JavaScript (htmx, vendored), all served by this process."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from imbachat.dashboard import hooks, moderation, pages, settings, signin, support
from imbachat.dashboard.web import PREFIX, DashboardRoute, error_page

STATIC = {
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": "application/javascript; charset=utf-8",
    "htmx.min.js": "application/javascript; charset=utf-8",
}


@cache
def static_file(name: str) -> tuple[bytes, str]:
    body = resources.files("imbachat.dashboard").joinpath(f"static/{name}").read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


_static = APIRouter(prefix=PREFIX, include_in_schema=False)


@_static.get("/static/{name}")
async def static(request: Request, name: str) -> Response:
    if name not in STATIC:
        return error_page(request, 404, "No such file.")
    body, etag = static_file(name)
    headers = {
        "ETag": etag,
        "Cache-Control": "public, max-age=3600",
        "X-Content-Type-Options": "nosniff",
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=STATIC[name], headers=headers)


_fallback = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)


@_fallback.api_route("/{rest:path}", methods=["GET", "POST"])
async def not_found(request: Request, rest: str) -> Response:
    """Any other dashboard address: a page that says so, not the API's JSON."""
    return error_page(request, 404, "There is no such page.")


router = APIRouter()
for part in (
    _static,
    signin.router,
    pages.router,
    support.router,
    moderation.router,
    hooks.router,
    settings.router,
    _fallback,
):
    router.include_router(part)
