"""The WebSocket endpoint: the handshake, then frames until the socket closes.

The parts, each in its own module: :mod:`handshake` (who the socket is, ``ready``,
replay at connect), :mod:`requests` (what it asks for), :mod:`hub` (routing events
to sockets), :mod:`ordering` (messages in seq order), :mod:`connection` and
:mod:`wire` (writing frames out), :mod:`presence` (who is online).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.websockets import WebSocket, WebSocketDisconnect

from imbachat.config import Settings
from imbachat.errors import ImbaError
from imbachat.realtime import frames, protocol
from imbachat.realtime.connection import Connection
from imbachat.realtime.handshake import AuthFailed, Handshake
from imbachat.realtime.hub import Hub
from imbachat.realtime.requests import Requests
from imbachat.services import Services

router = APIRouter()

MAX_BAD_FRAMES = 20


@router.websocket("/imbachat/v1/{imba_id}/ws")
async def websocket_endpoint(ws: WebSocket, imba_id: str) -> None:
    gateway: Gateway = ws.app.state.gateway
    await gateway.serve(ws, imba_id)


class Gateway:
    def __init__(self, services: Services, hub: Hub, settings: Settings) -> None:
        self.services = services
        self.hub = hub
        self.settings = settings
        self.handshake = Handshake(services, hub, settings)
        self.requests = Requests(services, hub)

    async def serve(self, ws: WebSocket, raw_imba_id: str) -> None:
        await ws.accept()
        conn: Connection | None = None
        try:
            try:
                conn = await self.handshake.connect(ws, raw_imba_id)
            except AuthFailed as failure:
                await ws.close(failure.code, failure.reason)
                return
            await self._serve_frames(conn)
        except WebSocketDisconnect:
            pass
        finally:
            if conn is not None:
                await self.hub.detach(conn)
                await conn.stop()

    async def _serve_frames(self, conn: Connection) -> None:
        bad_frames = 0
        while not conn.closing:
            message = await conn.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("text") or message.get("bytes") or b""
            frame: dict[str, Any] | None = None
            try:
                frame = protocol.parse(data)
                await self.requests.handle(conn, frame)
            except protocol.FrameError as exc:
                bad_frames += 1
                conn.push(frames.error(exc.code, exc.message, exc.ref))
                if bad_frames > MAX_BAD_FRAMES:
                    conn.close_soon(protocol.CLOSE_PROTOCOL, "too many invalid frames")
            except ImbaError as exc:
                ref = frame.get("client_id", frame["type"]) if frame else None
                conn.push(frames.error(exc.status, exc.message, ref))
