"""The chat socket's own WebSocket server layer, under uvicorn.

Every open page holds a socket, so an idle socket's memory is what a busy site pays
for. Served through ASGI, each socket kept a task running the whole middleware and
routing stack (about 12 KB of coroutine frames), uvicorn's protocol object with
websockets' parser and queue (about 13 KB) and two keepalive timers: 38.8 KiB per
idle socket in all (``bench.run idle --quick``). Here a socket is one small object
with slots: no task while it is idle (one runs only while frames wait to be
handled), a frame reader that holds nothing between frames, and pings from one
timer shared by every socket (:class:`Keepalive`): 7.5 KiB (5.8 KiB with the
connection's own savings; a bare asyncio server holding sockets costs 1.5 KiB).

uvicorn still accepts the connection and parses the HTTP request; when the request
asks to upgrade, it hands the connection to :class:`ChatSocketProtocol`, which
answers the handshake itself for the chat's socket path and passes any other path
to uvicorn's own protocol (the ASGI app then answers it as before). The chat's
route stays in the ASGI app too, for other servers (:mod:`asgi_socket`).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import time
from collections import deque
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any, cast

from uvicorn.config import Config
from uvicorn.server import ServerState

from imbachat import logs
from imbachat.realtime import upgrade, wire
from imbachat.realtime.protocol import CLOSE_GOING_AWAY, GOING_AWAY_REASON
from imbachat.realtime.uvicorn_ws import SHUTDOWN_CLOSE_SECONDS, WebSocketProtocol

if TYPE_CHECKING:
    from imbachat.realtime.connection import Connection
    from imbachat.realtime.gateway import Gateway

log = logging.getLogger(__name__)
_UVICORN_LOG = logging.getLogger("uvicorn.error")

ROUTE = "/imbachat/v1/{imba_id}/ws"
_PATH = re.compile(r"/imbachat/v1/([^/]+)/ws")
GATEWAY_STATE_KEY = "imbachat.gateway"  # the lifespan state's entry for the Gateway
CLOSE_TIMEOUT_SECONDS = 10.0  # how long a close waits for the peer's echo
# Frames (or bytes) waiting to be handled at which the socket stops reading, so
# the kernel's buffers push back on the client, and reads again once below the
# RESUME marks. Until the socket is let in, one frame is all it may queue (its auth
# frame): a reconnect storm may keep it waiting.
INBOX_PAUSE = 16
INBOX_PAUSE_BYTES = 128 * 1024
INBOX_RESUME = 4
INBOX_RESUME_BYTES = 32 * 1024
ABORT_AFTER_CLOSE_SECONDS = 1.0  # a peer that never reads keeps a closing socket open


class Disconnected(Exception):
    """The socket closed while its first frame was awaited."""


class ChatSocketProtocol:
    """uvicorn's ``ws`` protocol class: the chat's socket path is served by a
    :class:`ChatSocket`, any other path by uvicorn's protocol (forwarded to)."""

    __slots__ = ("_app_state", "_config", "_inner", "_server_state", "_transport")

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self._config = config
        self._server_state = server_state
        self._app_state = app_state
        self._transport: asyncio.Transport | None = None
        self._inner: asyncio.Protocol | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._inner is None:
            self._inner = self._choose(data)
        else:
            self._inner.data_received(data)

    def _choose(self, request: bytes) -> asyncio.Protocol:
        """uvicorn gives the upgrade request first, whole (rebuilt from what it
        parsed), then the socket's bytes."""
        transport = self._transport
        assert transport is not None
        gateway = self._app_state.get(GATEWAY_STATE_KEY)
        path = upgrade.request_path(request)
        match = _PATH.fullmatch(path) if path is not None else None
        inner: asyncio.Protocol
        if gateway is not None and match is not None:
            inner = ChatSocket(gateway, self._server_state, self._config, match[1])
        else:
            inner = WebSocketProtocol(
                config=self._config, server_state=self._server_state, app_state=self._app_state
            )
        inner.connection_made(transport)
        inner.data_received(request)
        # uvicorn sets this object as the transport's protocol once this returns; the
        # socket's own protocol takes over right after, so its bytes skip this hop.
        asyncio.get_running_loop().call_soon(transport.set_protocol, inner)
        return inner

    def connection_lost(self, exc: Exception | None) -> None:
        if self._inner is not None:
            self._inner.connection_lost(exc)

    def eof_received(self) -> bool | None:
        return None

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()


class ChatSocket(asyncio.Protocol):
    """One client socket on the chat's path: the handshake, frames in (handed to the
    gateway one at a time, in order), frames out, pings and the close."""

    __slots__ = (
        "_close_timer",
        "_closed",
        "_config",
        "_cut_off",
        "_drained",
        "_finished",
        "_first",
        "_inbox",
        "_inbox_bytes",
        "_open",
        "_opened_at",
        "_read_paused",
        "_reader",
        "_server_state",
        "_serving",
        "_writable",
        "client_host",
        "close_code",
        "close_sent",
        "conn",
        "gateway",
        "heard",
        "imba_id",
        "keepalive_slot",
        "origin",
        "ping_sent_at",
        "query",
        "request_id",
        "transport",
    )
    writes_directly = True

    def __init__(
        self, gateway: Gateway, server_state: ServerState, config: Config, imba_id: str
    ) -> None:
        self.gateway = gateway
        self._server_state = server_state
        self._config: Config | None = config  # until the handshake is answered
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self._reader = wire.FrameReader()
        self.query: dict[str, str] = {}  # the handshake's: let go once it is served
        self.origin: str | None = None
        self.client_host = ""
        self.request_id = ""
        self.imba_id = imba_id  # as the path gives it: the gateway checks it
        self._opened_at = 0.0
        self._open = False  # the handshake was answered
        self._closed = False  # the connection is gone
        self.close_sent = False
        self.close_code: int | None = None  # for the log: ours, else the peer's
        self._writable = True  # False while the transport's buffer is full
        self._drained: asyncio.Future[None] | None = None  # writes waiting for room
        self._close_timer: asyncio.TimerHandle | None = None
        self._read_paused = False
        self._cut_off = False
        self._inbox: deque[str | bytes] | None = None  # frames not handled yet
        self._inbox_bytes = 0
        self._first: asyncio.Future[None] | None = None  # the handshake awaits a frame
        self.conn: Connection | None = None  # once the socket is let in
        self._finished = False
        self._serving: asyncio.Task[None] | None = None
        self.heard = False  # bytes came since the keepalive's last ping
        self.ping_sent_at = 0.0
        self.keepalive_slot = -1

    # ---- the handshake -------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def _handshake(self, request: bytes) -> None:
        config = self._config
        assert config is not None
        self._config = None
        try:
            target, self.query, headers, rest = upgrade.read_request(request)
            accept = upgrade.accept_key(headers)
        except upgrade.HandshakeRefused as refused:
            self.close_sent = True
            self.transport.write(refused.response)
            self._end()
            return
        peer = self.transport.get_extra_info("peername")
        self.client_host = upgrade.client_host_of(config, str(peer[0]) if peer else "", headers)
        # uvicorn's own line for an accepted socket, as for any other path (our log
        # filter blanks the query, which carries the token).
        _UVICORN_LOG.info(
            '%s:%s - "WebSocket %s" [accepted]', self.client_host, peer[1] if peer else 0, target
        )
        self.origin = headers.get("origin")
        self.request_id = logs.request_id_from(headers.get("x-request-id"))
        extra = b"".join(
            name + b": " + value + b"\r\n" for name, value in self._server_state.default_headers
        )
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n" + extra + b"\r\n"
        )
        self._open = True
        self._opened_at = time.perf_counter()
        self._server_state.connections.add(cast(Any, self))
        logs.socket_opened(ROUTE, self.imba_id, self.request_id)
        self.gateway.keepalive.add(self)
        self.spawn(self.gateway.open(self, self.imba_id))
        if rest:
            self.data_received(rest)

    def forget_request(self) -> None:
        """The handshake's query and headers are not read again."""
        self.query = {}
        self.origin = None

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """A task the server waits for when it stops (as it waits for requests), its
        log lines marked with the socket's request id."""
        context = contextvars.copy_context()
        context.run(logs.request_id_var.set, self.request_id)
        task = asyncio.get_running_loop().create_task(coroutine, context=context)
        tasks = self._server_state.tasks
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return task

    # ---- frames in -----------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if not self._open:
            if not self.close_sent:
                self._handshake(data)
            return
        self.heard = True
        try:
            self._reader.feed(data, self.gateway.max_frame_bytes, self._message, self._control)
        except wire.ProtocolError as error:
            self.fail(error.code, error.reason)

    def _message(self, opcode: wire.Opcode, payload: bytes) -> None:
        if self.close_sent:
            return  # past our close: only the peer's echo matters now
        data: str | bytes = payload
        if opcode == wire.Opcode.TEXT:
            try:
                data = payload.decode()
            except UnicodeDecodeError:
                raise wire.ProtocolError(wire.CLOSE_INVALID_DATA, "invalid UTF-8") from None
        inbox = self._inbox
        if inbox is None:
            inbox = self._inbox = deque()
        inbox.append(data)
        self._inbox_bytes += len(data)  # characters for text: as _took counts them
        if self._first is not None:
            if not self._first.done():
                self._first.set_result(None)
        elif self.conn is not None and self._serving is None:
            self._serving = self.spawn(self._serve())
        if not self._read_paused and (
            self.conn is None or len(inbox) >= INBOX_PAUSE or self._inbox_bytes >= INBOX_PAUSE_BYTES
        ):
            self._read_paused = True
            self.transport.pause_reading()

    def _took(self, data: str | bytes) -> None:
        """A frame left the inbox: read again once it is short enough."""
        self._inbox_bytes = self._inbox_bytes - len(data) if self._inbox else 0
        self._maybe_resume()

    def _maybe_resume(self) -> None:
        inbox = self._inbox
        if (
            self._read_paused
            and not self._cut_off
            and self.conn is not None
            and (not inbox or len(inbox) <= INBOX_RESUME)
            and self._inbox_bytes < INBOX_RESUME_BYTES
        ):
            self._read_paused = False
            self.transport.resume_reading()

    def _control(self, opcode: wire.Opcode, payload: bytes) -> None:
        if opcode == wire.Opcode.PING:
            if not self.close_sent and self._writable:  # a peer that reads no more gets none
                self.transport.write(wire.pong_frame(payload))
        elif opcode == wire.Opcode.CLOSE:
            code, _reason = wire.parse_close(payload)
            if not self.close_sent:
                # Echo the peer's close, then end the connection: the closing handshake.
                self.close_code = code
                echo = payload[:2] if code != wire.CLOSE_NO_STATUS else b""
                self.transport.write(wire.frame(wire.Opcode.CLOSE, echo))
                self.close_sent = True
            self._end()
        # A pong needs nothing: any bytes heard show the peer is there.

    async def first_message(self, within_seconds: float) -> str | bytes:
        """The first frame (the auth frame, when the URL carries no token)."""
        if not self._inbox:
            if self._closed:
                raise Disconnected
            self._first = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(self._first, within_seconds)
            finally:
                self._first = None
        assert self._inbox
        data = self._inbox.popleft()
        self._took(data)
        return data

    def serve(self, conn: Connection) -> None:
        """From now on each frame goes to the gateway for ``conn``, one at a time and
        in order; once the socket is gone and its last frame handled, the gateway
        lets go of it. (Methods, not callbacks: two bound partials per socket were
        half a kilobyte of each idle one.)"""
        self.conn = conn
        self._maybe_resume()
        if self._inbox and self._serving is None:
            self._serving = self.spawn(self._serve())
        elif self._closed:
            self._finish()

    async def _serve(self) -> None:
        """Runs only while frames wait: an idle socket holds no task (a task with its
        coroutine and the future it waits on is about 1 KB)."""
        inbox, conn, gateway = self._inbox, self.conn, self.gateway
        assert inbox is not None and conn is not None
        try:
            while inbox:
                data = inbox.popleft()
                self._took(data)
                await gateway.frame(conn, data)
                # Frames that arrived together would otherwise be served in one turn
                # of the event loop: one socket's burst must not hold up the others.
                await asyncio.sleep(0)
        finally:
            self._serving = None
            if not inbox:
                self._inbox = None
            if self._closed:
                self._finish()

    # ---- frames out ----------------------------------------------------------

    @property
    def open(self) -> bool:
        return self._open and not self.close_sent and not self._closed

    def write_now(self, texts: Sequence[str]) -> bool:
        """Write the frames in one go if the socket is open and not pushing back;
        else False. This runs once per recipient of every frame, so it is kept to
        the flags that change after the handshake."""
        if self.close_sent or self._closed or not self._writable:
            return False
        if len(texts) == 1:
            self.transport.write(wire.text_frame(texts[0]))
        else:
            self.transport.write(b"".join([wire.text_frame(text) for text in texts]))
        return True

    async def write(self, texts: Sequence[str]) -> None:
        """Write the frames in one go, after waiting while the peer reads too slowly."""
        while not self._writable and not self._closed:
            if self._drained is None:
                self._drained = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._drained)
        if not self.open:
            raise ConnectionError("the socket closed while its frames waited")
        self.transport.write(b"".join([wire.text_frame(text) for text in texts]))

    def pause_writing(self) -> None:
        self._writable = False

    def resume_writing(self) -> None:
        self._writable = True
        self._wake_writers()

    def _wake_writers(self) -> None:
        if self._drained is not None:
            if not self._drained.done():
                self._drained.set_result(None)
            self._drained = None

    # ---- closing -------------------------------------------------------------

    async def close(self, code: int, reason: str) -> None:
        self.close_now(code, reason, CLOSE_TIMEOUT_SECONDS)

    def close_now(self, code: int, reason: str, wait_for_echo: float) -> None:
        """Send the close frame; the connection ends when the peer echoes it, or
        after ``wait_for_echo`` seconds."""
        if self.close_sent or self._closed:
            return
        self.close_sent = True
        self.close_code = code
        self.transport.write(wire.close_frame(code, reason))
        if self._read_paused and not self._cut_off:
            self._read_paused = False
            self.transport.resume_reading()  # to read the echo
        self._close_after(wait_for_echo)

    def _close_after(self, seconds: float) -> None:
        """End the connection in ``seconds`` if it has not ended by then: aborted,
        since a peer that reads nothing would keep a closing transport (and its
        buffer, and the server's shutdown) waiting for ever."""
        if self._close_timer is not None:
            self._close_timer.cancel()
        self._close_timer = asyncio.get_running_loop().call_later(seconds, self.transport.abort)

    def cut_off(self, after_seconds: float = 1.0) -> None:
        """After the close frame went out: read nothing more from the peer (whatever
        it sends would only be parsed to be thrown away) and drop the connection
        ``after_seconds`` later instead of waiting out the close handshake."""
        if self._closed:
            return
        self._cut_off = True
        if not self._read_paused:
            self._read_paused = True
            self.transport.pause_reading()
        self._close_after(after_seconds)

    def fail(self, code: int, reason: str) -> None:
        """The peer broke the protocol (or stopped answering pings): say why, and
        end the connection at once."""
        if not self.close_sent and not self._closed:
            self.close_sent = True
            self.close_code = code
            self.transport.write(wire.close_frame(code, reason))
        self._end()

    def _end(self) -> None:
        """Close the transport once what was written is sent (at most a second)."""
        self.transport.close()
        if not self._closed:
            self._close_after(ABORT_AFTER_CLOSE_SECONDS)

    def shutdown(self) -> None:
        """The server stops (SIGTERM): close with 1001, on which clients reconnect
        (to another node, through the load balancer) and resume. uvicorn calls this
        on every connection as soon as it stops accepting.

        Not closed at once: frames the client sent meanwhile would sit unread in the
        kernel, which then resets the connection instead of closing it, and the
        close frame could be lost with it (the client sees 1006, not 1001). Reading
        on, the client's echo ends the connection; a silent one goes after a second."""
        self.close_now(CLOSE_GOING_AWAY, GOING_AWAY_REASON, SHUTDOWN_CLOSE_SECONDS)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._closed:
            return
        self._closed = True
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        self._wake_writers()
        if self._first is not None and not self._first.done():
            self._first.set_exception(Disconnected())
        if not self._open:
            return
        self._server_state.connections.discard(cast(Any, self))
        self.gateway.keepalive.remove(self)
        if self.close_code is None:
            self.close_code = wire.CLOSE_ABNORMAL
        logs.socket_closed(ROUTE, self.imba_id, self.request_id, self.close_code, self._opened_at)
        if self._serving is None:
            self._finish()

    def _finish(self) -> None:
        if self.conn is not None and not self._finished:
            self._finished = True
            self.spawn(self.gateway.closed(self.conn))

    def eof_received(self) -> bool | None:
        return None  # the transport closes, and connection_lost follows


class Keepalive:
    """Pings for every socket from one timer: each socket is pinged once an
    interval, and one that sent nothing back ``timeout`` after its ping is closed
    with 1011 (any bytes count as the answer, a pong or a frame).

    uvicorn keeps two timers per socket (about 400 bytes of each idle one); here
    sockets sit in ``SLOTS`` groups and one group is looked at per tick, so a tick
    costs a sixteenth of the sockets rather than all of them at once."""

    SLOTS = 16

    def __init__(self, interval: float, timeout: float) -> None:
        self._interval = interval
        self._timeout = timeout
        self._slots: list[set[ChatSocket]] = [set() for _ in range(self.SLOTS)]
        self._next_slot = 0
        self._turn = 0
        self._timer: asyncio.TimerHandle | None = None
        self._count = 0

    def add(self, socket: ChatSocket) -> None:
        if self._interval <= 0:
            return
        socket.keepalive_slot = self._next_slot
        self._slots[self._next_slot].add(socket)
        self._next_slot = (self._next_slot + 1) % self.SLOTS
        self._count += 1
        if self._timer is None:
            self._schedule()

    def remove(self, socket: ChatSocket) -> None:
        if socket.keepalive_slot >= 0:
            self._slots[socket.keepalive_slot].discard(socket)
            socket.keepalive_slot = -1
            self._count -= 1

    def _schedule(self) -> None:
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self._interval / self.SLOTS, self._tick)

    def _tick(self) -> None:
        self._timer = None
        now = time.monotonic()
        for socket in list(self._slots[self._turn]):
            if socket.close_sent:
                continue
            if socket.ping_sent_at and not socket.heard:
                if now - socket.ping_sent_at >= self._timeout:
                    socket.fail(wire.CLOSE_INTERNAL_ERROR, "keepalive ping timeout")
                continue
            socket.heard = False
            socket.ping_sent_at = now
            socket.transport.write(wire.ping_frame(b""))
        self._turn = (self._turn + 1) % self.SLOTS
        if self._count > 0:
            self._schedule()
