"""Logs: one line per REST request and per socket, readable by default or JSON lines
(``IMBACHAT_LOG_FORMAT=json``), and never a secret.

What is logged is chosen, not copied: a request's line holds its request id, the
route's template (``/imbachat/v2/{imba_id}/get_rooms``, never the path as sent nor
its query string), the ``imba_id`` from the path, the status and the duration. No
header, cookie, query string or body is ever logged. Other libraries' lines (uvicorn's,
httpx's) pass through :class:`Redact`, which blanks what looks like a credential.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import sys
import time
from typing import IO, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ACCESS = logging.getLogger("imbachat.access")
FORMATS = ("text", "json")
# The fields a request's or a socket's line carries, in this order.
FIELDS = ("request_id", "method", "route", "imba_id", "status", "close_code", "duration_ms")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "imbachat_request_id", default=None
)

_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_SECRET_PARAMS = re.compile(
    r"(?i)\b(token|guest|jwt|sig|signature|password|passwd|secret|secret_key|api_key|"
    r"access_token|key|auth|authorization|cookie)=([^&\s\"'<>]*)"
)
_AUTH_HEADER = re.compile(r"(?i)\b(authorization|jwt|cookie|set-cookie)(\s*[:=]\s*)([^\n,;]+)")
_SCHEMES = re.compile(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9+/=._~-]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]*:[^/\s@]*@")
_QUERY_IN_REQUEST_LINE = re.compile(r'("(?:[A-Z]+|WebSocket) [^\s?"]*)\?[^\s"]*')


def redact(text: str) -> str:
    """``text`` with credentials blanked: secret query parameters, auth headers and
    schemes, JWT-shaped strings, passwords in URLs, and request lines' query strings."""
    text = _QUERY_IN_REQUEST_LINE.sub(r"\1?[redacted]", text)
    text = _SECRET_PARAMS.sub(r"\1=[redacted]", text)
    text = _AUTH_HEADER.sub(r"\1\2[redacted]", text)
    text = _SCHEMES.sub(r"\1 [redacted]", text)
    text = _URL_USERINFO.sub(r"\1[redacted]@", text)
    return _JWT.sub("[redacted]", text)


class Redact(logging.Filter):
    """Rewrites a record's message with :func:`redact` (and its traceback's text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class RequestContext(logging.Filter):
    """Adds the current request's id to every record logged while serving it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


def _utc(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


class TextFormatter(logging.Formatter):
    """``2026-11-28T14:50:39.123Z INFO imbachat.access: message key=value ...``"""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_utc(record)} {record.levelname} {record.name}: {record.getMessage()}"
        rid = getattr(record, "request_id", None)
        if rid and record.name != ACCESS.name:
            line += f" request_id={rid}"
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += "\n" + record.exc_text
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the request's fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _utc(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in FIELDS:
            value = getattr(record, field, None)
            if value is not None or (record.name == ACCESS.name and field in ("imba_id",)):
                entry[field] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def make_handler(log_format: str, stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing ``text`` or ``json`` lines, with secrets blanked."""
    if log_format not in FORMATS:
        raise ValueError(f"IMBACHAT_LOG_FORMAT must be one of {FORMATS}, not {log_format!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RequestContext())
    handler.addFilter(Redact())
    return handler


def guard_library_loggers() -> None:
    """uvicorn logs sockets' paths with their query strings (``?token=…``): blank them
    at the source, whichever handler (ours, a test's) then receives the record."""
    for name in ("uvicorn.error", "uvicorn.access", "uvicorn.asgi", "httpx", "httpcore"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, Redact) for f in logger.filters):
            logger.addFilter(Redact())


def configure_logging(log_format: str, level: str) -> None:
    """The process's logging: one handler on the root logger (stderr), at ``level``."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(make_handler(log_format))
    root.setLevel(level.upper())
    # Library chatter at INFO (every outgoing webhook call) stays out unless debugging.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(
            root.level if root.level <= logging.DEBUG else logging.WARNING
        )
    guard_library_loggers()


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            return request_id_from(bytes(value).decode("latin-1"))
    return request_id_from(None)


def request_id_from(header: str | None) -> str:
    """The request's ``X-Request-Id`` when it is a safe one, else a new id."""
    if header is not None and _SAFE_REQUEST_ID.fullmatch(header):
        return header
    return secrets.token_hex(8)


def socket_opened(route: str | None, imba_id: str | None, request_id: str) -> None:
    """The access log's line for a WebSocket accepted."""
    info = {"request_id": request_id, "route": route, "imba_id": imba_id}
    ACCESS.info("socket open %s imba_id=%s request_id=%s", route, imba_id, request_id, extra=info)


def socket_closed(
    route: str | None, imba_id: str | None, request_id: str, close_code: int | None, started: float
) -> None:
    """The access log's line for a WebSocket gone, with its close code (``started``
    is its ``time.perf_counter()`` when it was opened)."""
    duration = round((time.perf_counter() - started) * 1000, 1)
    info = {
        "request_id": request_id,
        "route": route,
        "imba_id": imba_id,
        "close_code": close_code,
        "duration_ms": duration,
    }
    ACCESS.info(
        "socket closed %s imba_id=%s code=%s %.1fms request_id=%s",
        route,
        imba_id,
        close_code,
        duration,
        request_id,
        extra=info,
    )


def _route_of(scope: Scope) -> tuple[str | None, str | None]:
    """The matched route's template and the path's imba_id (None when unmatched)."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    imba_id = scope.get("path_params", {}).get("imba_id")
    return (str(template) if template else None), (str(imba_id) if imba_id else None)


class AccessLog:
    """ASGI middleware: one line per HTTP request (its ``X-Request-Id`` echoed back)
    and two per WebSocket (open, and closed with its code)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        rid = _request_id(scope)
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                headers.append((b"x-request-id", rid.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route, imba_id = _route_of(scope)
            duration = round((time.perf_counter() - started) * 1000, 1)
            method = scope.get("method", "")
            shown = route or "(no route)"
            ACCESS.info(
                "%s %s %d %.1fms%s",
                method,
                shown,
                status,
                duration,
                f" imba_id={imba_id} request_id={rid}" if imba_id else f" request_id={rid}",
                extra={
                    "request_id": rid,
                    "method": method,
                    "route": route,
                    "imba_id": imba_id,
                    "status": status,
                    "duration_ms": duration,
                },
            )
            request_id_var.reset(token)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        rid = _request_id(scope)
        token = request_id_var.set(rid)
        started = time.perf_counter()
        close_code: int | None = None

        async def watching_send(message: Message) -> None:
            nonlocal close_code
            kind = message["type"]
            if kind == "websocket.accept":
                socket_opened(*_route_of(scope), rid)
            elif kind == "websocket.close" and close_code is None:
                close_code = int(message.get("code", 1000))
            await send(message)

        async def watching_receive() -> Message:
            nonlocal close_code
            message = await receive()
            if message["type"] == "websocket.disconnect" and close_code is None:
                close_code = int(message.get("code", 1005))
            return message

        try:
            await self.app(scope, watching_receive, watching_send)
        finally:
            socket_closed(*_route_of(scope), rid, close_code, started)
            request_id_var.reset(token)
