"""The chat socket served through ASGI, for servers other than imbachat's own
(under ``imbachat serve`` the socket layer in :mod:`sockets` serves it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import cast

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from imbachat import logs
from imbachat.realtime.sockets import Disconnected


class AsgiSocket:
    """The chat socket served through ASGI (a server other than ours under uvicorn):
    the same surface as :class:`ChatSocket`, over Starlette's WebSocket."""

    writes_directly = False

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.query = dict(ws.query_params)
        self.origin = ws.headers.get("origin")
        self.client_host = ws.client.host if ws.client else ""
        self.request_id = logs.request_id_var.get() or ""

    def forget_request(self) -> None:
        pass

    async def first_message(self, within_seconds: float) -> str | bytes:
        message = await asyncio.wait_for(self.ws.receive(), within_seconds)
        if message["type"] == "websocket.disconnect":
            raise Disconnected
        return cast(str | bytes, message.get("text") or message.get("bytes") or b"")

    async def frames(self) -> AsyncIterator[str | bytes]:
        """Each frame until the peer closes."""
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            yield message.get("text") or message.get("bytes") or b""

    @property
    def open(self) -> bool:
        return self.ws.application_state == WebSocketState.CONNECTED

    def write_now(self, texts: Sequence[str]) -> bool:
        return False  # through ASGI every frame is an await: the writer task sends

    async def write(self, texts: Sequence[str]) -> None:
        try:
            for text in texts:
                await self.ws.send_text(text)
        except WebSocketDisconnect as exc:
            raise ConnectionError("the socket closed") from exc

    async def close(self, code: int, reason: str) -> None:
        if self.ws.application_state != WebSocketState.DISCONNECTED:
            await asyncio.wait_for(self.ws.close(code, reason), timeout=5)

    def cut_off(self, after_seconds: float = 1.0) -> None:
        pass
