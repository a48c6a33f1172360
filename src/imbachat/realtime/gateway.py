"""The WebSocket endpoint: the handshake, then frames until the socket closes.

The parts, each in its own module: :mod:`handshake` (who the socket is, ``ready``,
replay at connect), :mod:`requests` (what it asks for), :mod:`hub` (routing events
to sockets), :mod:`ordering` (messages in seq order), :mod:`connection` and
:mod:`wire` (writing frames out), :mod:`presence` (who is online).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from fastapi import APIRouter
from starlette.websockets import WebSocket, WebSocketDisconnect

from imbachat import metrics
from imbachat.config import Settings
from imbachat.errors import ImbaError
from imbachat.realtime import frames, protocol
from imbachat.realtime.connection import Connection
from imbachat.realtime.handshake import AuthFailed, Handshake
from imbachat.realtime.hub import Hub
from imbachat.realtime.requests import Requests
from imbachat.services import Services

log = logging.getLogger(__name__)
router = APIRouter()

MAX_BAD_FRAMES = 20
CLOSE_SERVER_ERROR = 1011


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
        self._per_address: dict[str, int] = {}  # sockets open, by client address

    async def serve(self, ws: WebSocket, raw_imba_id: str) -> None:
        await ws.accept()
        address = ws.client.host if ws.client else ""
        conn: Connection | None = None
        self._per_address[address] = self._per_address.get(address, 0) + 1
        try:
            try:
                if self._per_address[address] > self.settings.ws_max_sockets_per_address:
                    raise AuthFailed(protocol.CLOSE_TOO_MANY, "too many sockets from this address")
                conn = await self.handshake.connect(ws, raw_imba_id)
            except AuthFailed as failure:
                await ws.close(failure.code, failure.reason)
                return
            metrics.LIVE.sockets_open += 1
            await self._serve_frames(conn)
        except WebSocketDisconnect:
            pass
        except Exception:
            log.exception("socket %s failed", conn.id if conn else "(connecting)")
            if conn is None:
                with contextlib.suppress(Exception):
                    await ws.close(CLOSE_SERVER_ERROR, "server error: reconnect later")
            else:
                conn.close_soon(CLOSE_SERVER_ERROR, "server error: reconnect and resume")
        finally:
            left = self._per_address.pop(address) - 1
            if left:
                self._per_address[address] = left
            if conn is not None:
                metrics.LIVE.sockets_open -= 1
                await self.hub.detach(conn)
                await conn.stop()

    async def _serve_frames(self, conn: Connection) -> None:
        """Frames in order, each answered or refused; a budget of frames per second
        (token bucket) keeps one socket from taking the server's time from others."""
        settings = self.settings
        rate, burst = settings.ws_frames_per_second, float(settings.ws_frame_burst)
        tokens, refilled = burst, time.monotonic()
        bad_frames = 0
        while not conn.closing:
            message = await conn.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("text") or message.get("bytes") or b""
            frame: dict[str, Any] | None = None
            try:
                now = time.monotonic()
                tokens = min(burst, tokens + (now - refilled) * rate)
                refilled = now
                if tokens < 1 and rate > 0:
                    raise protocol.FrameError(
                        429, f"Too many frames: at most {rate:g} a second; slow down."
                    )
                tokens -= 1
                frame = protocol.parse(data)
                await self.requests.handle(conn, frame)
            except protocol.FrameError as exc:
                bad_frames += 1
                conn.push(frames.error(exc.code, exc.message, exc.ref))
                if bad_frames > MAX_BAD_FRAMES:
                    conn.close_soon(protocol.CLOSE_PROTOCOL, "too many invalid frames")
            except ImbaError as exc:
                conn.push(frames.error(exc.status, exc.message, _ref(frame)))
            except Exception:
                log.exception("a %s frame on socket %s failed", _ref(frame), conn.id)
                conn.push(
                    frames.error(500, "The server could not do that; try again.", _ref(frame))
                )
            metrics.frame_in(frame["type"] if frame else None)
            # Frames that arrived together would otherwise be served in one turn of the
            # event loop: one socket's burst must not hold up every other socket.
            await asyncio.sleep(0)


def _ref(frame: dict[str, Any] | None) -> Any:
    """What an error answers: a send's client_id, else the frame's type."""
    return frame.get("client_id", frame["type"]) if frame else None
