"""HTTP middleware that guards every answer: oversized request bodies are refused
before anything parses them, and answers are never content-sniffed."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imbachat.api.envelopes import error_response
from imbachat.errors import TooLarge

FORM_ENVELOPE_BYTES = 64 * 1024  # a multipart body's boundaries, headers and fields


class BodySizeLimit:
    """413 when ``Content-Length`` or the streamed body exceeds ``max_bytes``; uploads
    (paths matching ``uploads``) may carry ``upload_bytes`` and a form's envelope,
    and are refused with the CORS header the widget needs to read why."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        uploads: re.Pattern[str] | None = None,
        upload_bytes: int = 0,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.uploads = uploads
        self.upload_bytes = upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        too_large = TooLarge(f"The request body is larger than {self.max_bytes} bytes.")
        if self.uploads is not None and self.uploads.match(scope.get("path", "")):
            limit = self.upload_bytes + FORM_ENVELOPE_BYTES
            too_large = TooLarge(
                f"The file is larger than {self.upload_bytes} bytes.",
                field="file",
                headers={"Access-Control-Allow-Origin": "*"},
            )
        for name, value in scope.get("headers", []):
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                await error_response(too_large)(scope, receive, send)
                return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise too_large
            return message

        await self.app(scope, counting_receive, send)


class NoSniff:
    """Every HTTP answer carries ``X-Content-Type-Options: nosniff``: browsers take
    its content type as given (a JSON answer is never run as a script or a page)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_header)
