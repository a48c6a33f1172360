"""uvicorn's own WebSocket protocol, for the socket paths that are not the chat's
(:mod:`imbachat.realtime.sockets` serves the chat's): the ASGI app answers them."""

from __future__ import annotations

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from imbachat.realtime.protocol import CLOSE_GOING_AWAY, GOING_AWAY_REASON

SHUTDOWN_CLOSE_SECONDS = 1.0  # how long a stopping server waits for close echoes


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
