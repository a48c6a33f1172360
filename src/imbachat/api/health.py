"""Liveness and readiness probes."""

from __future__ import annotations

import logging
import os

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from imbachat.api.deps import services_of
from imbachat.api.envelopes import json_response
from imbachat.api.openapi import OPEN, deep_merge, obj, operation

router = APIRouter(tags=["Operations"])
log = logging.getLogger(__name__)


_UP = obj({"status": {"type": "string"}, "pid": {"type": "integer"}})


@router.get(
    "/healthz",
    summary="The process is up",
    description="`pid`: the process that answered (with `serve --workers`, which worker).",
    openapi_extra=operation(_UP, errors=(), security=OPEN),
)
async def healthz() -> Response:
    return json_response({"status": "ok", "pid": os.getpid()})


_READY = obj({"status": {"type": "string"}, "database": {"type": "string"}})


@router.get(
    "/readyz",
    summary="The database is reachable",
    openapi_extra=deep_merge(
        operation(_READY, errors=(), security=OPEN),
        {
            "responses": {
                "503": {
                    "description": "The database is not reachable.",
                    "content": {"application/json": {"schema": _READY}},
                }
            }
        },
    ),
)
async def readyz(request: Request) -> Response:
    try:
        await services_of(request).db.ping()
    except Exception as exc:
        log.warning("readiness check failed: %s", exc)
        return json_response({"status": "unavailable", "database": "unreachable"}, 503)
    return json_response({"status": "ok", "database": "ok"})
