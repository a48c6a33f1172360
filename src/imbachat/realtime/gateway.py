"""What happens on a chat socket: let in, each frame answered, let go.

The parts, each in its own module: :mod:`sockets` (the WebSocket layer, frames in
and out), :mod:`handshake` (who the socket is, ``ready``, replay at connect),
:mod:`requests` (what it asks for), :mod:`hub` (routing events to sockets),
:mod:`ordering` (messages in seq order), :mod:`connection` (writing frames out),
:mod:`presence` (who is online).
"""

from __future__ import annotations

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
from imbachat.realtime.asgi_socket import AsgiSocket
from imbachat.realtime.connection import Connection, Socket
from imbachat.realtime.handshake import AuthFailed, Handshake
from imbachat.realtime.hub import Hub
from imbachat.realtime.requests import Requests
from imbachat.realtime.sockets import ROUTE, ChatSocket, Disconnected, Keepalive
from imbachat.services import Services

log = logging.getLogger(__name__)
router = APIRouter()

MAX_BAD_FRAMES = 20
CLOSE_SERVER_ERROR = 1011


@router.websocket(ROUTE)
async def websocket_endpoint(ws: WebSocket, imba_id: str) -> None:
    """The chat socket through ASGI: under imbachat's own server the socket layer
    (:mod:`sockets`) serves this path before the app sees it; other servers get here."""
    gateway: Gateway = ws.app.state.gateway
    await ws.accept()
    socket = AsgiSocket(ws)
    conn = await gateway.open(socket, imba_id)
    if conn is None:
        return
    try:
        async for data in socket.frames():
            await gateway.frame(conn, data)
            if conn.closing:
                break
    except WebSocketDisconnect:
        pass
    finally:
        await gateway.closed(conn)


class Gateway:
    """What happens on a chat socket: :meth:`open` lets it in (or closes it with the
    reason), :meth:`frame` answers each frame it sends, :meth:`closed` lets go of it."""

    def __init__(self, services: Services, hub: Hub, settings: Settings) -> None:
        self.services = services
        self.hub = hub
        self.settings = settings
        self.handshake = Handshake(services, hub, settings)
        self.requests = Requests(services, hub)
        self.keepalive = Keepalive(
            settings.ws_ping_interval_seconds, settings.ws_ping_timeout_seconds
        )
        self.max_frame_bytes = settings.ws_max_frame_bytes
        self._per_address: dict[str, int] = {}  # sockets open, by client address

    async def open(self, socket: Socket, raw_imba_id: str) -> Connection | None:
        """The socket's connection once it is let in and welcomed; None when it was
        refused (and closed with the reason) or went away meanwhile. A socket of our
        own server layer is from then on served by it (frames, then :meth:`closed`)."""
        address = socket.client_host
        self._per_address[address] = self._per_address.get(address, 0) + 1
        conn: Connection | None = None
        try:
            if self._per_address[address] > self.settings.ws_max_sockets_per_address:
                raise AuthFailed(protocol.CLOSE_TOO_MANY, "too many sockets from this address")
            conn = await self.handshake.connect(socket, raw_imba_id)
        except AuthFailed as failure:
            with contextlib.suppress(Exception):
                await socket.close(failure.code, failure.reason)
        except (Disconnected, WebSocketDisconnect):
            pass
        except Exception:
            log.exception("socket failed while connecting")
            with contextlib.suppress(Exception):
                await socket.close(CLOSE_SERVER_ERROR, "server error: reconnect later")
        finally:
            socket.forget_request()
        if conn is None:
            self._left(address)
            return None
        metrics.LIVE.sockets_open += 1
        if isinstance(socket, ChatSocket):
            socket.serve(conn)
        return conn

    async def frame(self, conn: Connection, data: str | bytes) -> None:
        """One frame, answered or refused; a budget of frames per second (token
        bucket) keeps one socket from taking the server's time from others."""
        if conn.closing:
            return
        settings = self.settings
        frame: dict[str, Any] | None = None
        try:
            rate = settings.ws_frames_per_second
            now = time.monotonic()
            conn.frame_tokens = min(
                float(settings.ws_frame_burst),
                conn.frame_tokens + (now - conn.frames_refilled) * rate,
            )
            conn.frames_refilled = now
            if conn.frame_tokens < 1 and rate > 0:
                raise protocol.FrameError(
                    429, f"Too many frames: at most {rate:g} a second; slow down."
                )
            conn.frame_tokens -= 1
            frame = protocol.parse(data)
            await self.requests.handle(conn, frame)
        except protocol.FrameError as exc:
            conn.bad_frames += 1
            conn.push(frames.error(exc.code, exc.message, exc.ref))
            if conn.bad_frames > MAX_BAD_FRAMES:
                conn.close_soon(protocol.CLOSE_PROTOCOL, "too many invalid frames")
        except ImbaError as exc:
            conn.push(frames.error(exc.status, exc.message, _ref(frame)))
        except Exception:
            log.exception("a %s frame on socket %s failed", _ref(frame), conn.id)
            conn.push(frames.error(500, "The server could not do that; try again.", _ref(frame)))
        metrics.frame_in(frame["type"] if frame else None)

    async def closed(self, conn: Connection) -> None:
        """The socket is gone: it leaves its rooms (and maybe goes offline)."""
        self._left(conn.socket.client_host)
        metrics.LIVE.sockets_open -= 1
        await self.hub.detach(conn)
        await conn.stop()

    def _left(self, address: str) -> None:
        left = self._per_address.pop(address) - 1
        if left:
            self._per_address[address] = left


def _ref(frame: dict[str, Any] | None) -> Any:
    """What an error answers: a send's client_id, else the frame's type."""
    return frame.get("client_id", frame["type"]) if frame else None
