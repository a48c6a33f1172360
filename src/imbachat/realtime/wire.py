"""Outgoing frames straight to the socket, encoded once for all recipients.

A server's WebSocket frames are not masked, so a message's frame is the same bytes
for every recipient. Going through ASGI costs a chain of coroutines and a frame
serialisation per recipient; instead, when the server is uvicorn's websockets
(sans-I/O) protocol, ready frames are written to its transport directly, several
queued frames in one write. Control frames (ping, pong, close) stay with uvicorn:
they and these writes are whole frames on the same transport, so they interleave
safely. Anything else (another server, a closing socket) uses plain ASGI sends.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

from imbachat.realtime.protocol import CLOSE_GOING_AWAY, GOING_AWAY_REASON

_TEXT_FIN = 0x81  # FIN bit and the text opcode
SHUTDOWN_CLOSE_SECONDS = 1.0  # how long a stopping server waits for close echoes
_SCOPE_KEY = "imbachat.ws_protocol"
_last: tuple[str | None, bytes] = (None, b"")  # a fan-out writes one text to many sockets


_sized: tuple[str | None, int] = (None, 0)


def size_of(text: str) -> int:
    """The UTF-8 size of a frame's text (a fan-out sizes one text for many sockets)."""
    global _sized
    if text.isascii():
        return len(text)
    if text is not _sized[0]:
        _sized = (text, len(text.encode()))
    return _sized[1]


def text_frame(text: str) -> bytes:
    """The wire bytes of one unmasked text frame."""
    global _last
    if text is _last[0]:
        return _last[1]
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = bytes((_TEXT_FIN, size))
    elif size < 65_536:
        header = struct.pack("!BBH", _TEXT_FIN, 126, size)
    else:
        header = struct.pack("!BBQ", _TEXT_FIN, 127, size)
    frame = header + payload
    _last = (text, frame)
    return frame


class DirectWriter:
    """Writes ready frames to a uvicorn WebSocket's transport."""

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol

    @classmethod
    def of(cls, ws: WebSocket) -> DirectWriter | None:
        """A writer for the socket, or None when it is not served by uvicorn's
        sans-I/O protocol (then frames go through ASGI)."""
        protocol = ws.scope.get(_SCOPE_KEY)
        if isinstance(protocol, WebSocketsSansIOProtocol):
            return cls(protocol)
        return None

    @property
    def open(self) -> bool:
        protocol = self._protocol
        return (
            protocol.handshake_complete
            and not protocol.close_sent
            and protocol.conn.state is State.OPEN
            and not protocol.transport.is_closing()
        )

    def write_now(self, texts: Sequence[str]) -> bool:
        """Write the frames in one go if the socket is open and not pushing back
        (uvicorn pauses writing while the transport's buffer is full); else False.

        This runs once per recipient of every frame, so it checks only what can
        change once the handshake is done: uvicorn marks ``close_sent`` or closes the
        transport whenever the connection leaves the OPEN state (a close either way,
        a failed ping, a protocol error)."""
        protocol = self._protocol
        transport = protocol.transport
        if protocol.close_sent or transport.is_closing() or not protocol.writable.is_set():
            return False
        if len(texts) == 1:
            transport.write(text_frame(texts[0]))
        else:
            transport.write(b"".join([text_frame(text) for text in texts]))
        return True

    def cut_off(self, after_seconds: float = 1.0) -> None:
        """After the close frame went out: read nothing more from the peer (whatever
        it sends would only be parsed to be thrown away) and drop the connection
        ``after_seconds`` later instead of waiting out the close handshake."""
        protocol, transport = self._protocol, self._protocol.transport
        if transport.is_closing():
            return
        transport.pause_reading()
        if protocol.close_timer is not None:
            protocol.close_timer.cancel()
        protocol.close_timer = asyncio.get_running_loop().call_later(after_seconds, transport.close)

    async def write(self, texts: list[str]) -> None:
        """Write the frames in one go, after waiting while the peer reads too slowly
        (uvicorn pauses writing when the transport's buffer is full)."""
        await self._protocol.writable.wait()
        if not self.open:
            raise ConnectionError("the socket closed while its frames waited")
        self._protocol.transport.write(b"".join([text_frame(text) for text in texts]))


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol, answering handshakes it cannot parse,
    saying "going away" when the server stops, and keeping less of each socket.

    For a request websockets refuses before it is a request (a request line over
    8 KiB, a malformed header), websockets prepares the error answer (414, 400) but
    uvicorn neither sends it nor closes the connection, which then stays open for
    nothing; this sends the answer and closes."""

    def shutdown(self) -> None:
        """The server stops (SIGTERM): close with 1001, on which clients reconnect
        (to another node, through the load balancer) and resume, instead of uvicorn's
        1012. uvicorn calls this on every connection as soon as it stops accepting,
        before it waits for requests to finish and before the app's own shutdown; the
        app then sees the disconnect after the frames already received."""
        if not self.handshake_complete or self.close_sent or self.transport.is_closing():
            super().shutdown()
            return
        self.stop_keepalive()
        self.queue.put_nowait({"type": "websocket.disconnect", "code": CLOSE_GOING_AWAY})
        self.conn.send_close(CLOSE_GOING_AWAY, GOING_AWAY_REASON)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        # Not closed at once: frames the client sent meanwhile would sit unread in the
        # kernel, which then resets the connection instead of closing it, and the
        # close frame could be lost with it (the client sees 1006, not 1001). Reading
        # on, the client's echo of the close ends the connection (uvicorn's
        # handle_close); a client that never echoes is dropped after a second.
        self.close_timer = self.loop.call_later(SHUTDOWN_CLOSE_SECONDS, self.transport.close)

    def start_keepalive(self) -> None:
        """Called once the handshake's answer is sent: the request and response it
        parsed (their headers: about 4 KB of each idle socket, by tracemalloc) are
        not read again, so they are let go."""
        self.request = None  # type: ignore[assignment]
        self.response = None  # type: ignore[assignment]
        super().start_keepalive()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self.handshake_initiated and self.conn.handshake_exc is not None:
            output = self.conn.data_to_send()
            if output:
                self.transport.write(b"".join(output))
            self.transport.close()


class FindProtocol:
    """ASGI middleware: notes in a WebSocket's scope the server protocol behind its
    ``send`` (the framework wraps ``send`` further in, so it is found out here)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[_SCOPE_KEY] = getattr(send, "__self__", None)
        await self.app(scope, receive, send)
