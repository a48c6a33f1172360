"""One client socket: a bounded outbound queue drained by its own task, and the
per-room window of messages already delivered on it.

Fan-out only appends pre-encoded text to queues (no await per recipient). Once
per turn of the event loop, the :class:`Flusher` writes each socket's queue in
one write straight to its transport (see :mod:`sockets`); the connection's own
writer task steps in only while the peer pushes back (or through ASGI).
A socket whose queue overflows is closed with CLOSE_TOO_SLOW instead of slowing
anyone else; the client reconnects and resumes.

The window ``(low, high]`` per room is the seq range delivered on this socket,
contiguous by construction: it starts empty at the room's ``last_seq`` when the
socket learns of the room, grows by live delivery, and grows down by replay.
While a room is being replayed, live frames for it are held, then released in
seq order, so a client never sees a message twice or out of order.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Sequence
from typing import Protocol

from imbachat import metrics
from imbachat.domain import User, Widget
from imbachat.realtime import protocol
from imbachat.realtime.wire import size_of

log = logging.getLogger(__name__)
_ids = itertools.count(1)
# Closes for abuse: the peer is not read from again (see Socket.cut_off). A
# socket closed as too slow is not one of them: it may be reading its backlog still.
_CUT_OFF = {protocol.CLOSE_PROTOCOL, protocol.CLOSE_TOO_MANY}


class Socket(Protocol):
    """The WebSocket under a connection: :class:`~imbachat.realtime.sockets.ChatSocket`
    (imbachat's own server layer) or ``AsgiSocket`` (any ASGI server)."""

    writes_directly: bool  # write_now can succeed (else every frame is awaited)
    client_host: str
    query: dict[str, str]  # the handshake's query and Origin, until forget_request()
    origin: str | None

    @property
    def open(self) -> bool: ...

    def forget_request(self) -> None: ...

    async def first_message(self, within_seconds: float) -> str | bytes: ...

    def write_now(self, texts: Sequence[str]) -> bool:
        """Write the frames at once if the socket takes them now, else False."""
        ...

    async def write(self, texts: Sequence[str]) -> None:
        """Write the frames once the peer reads; ConnectionError if it closed."""
        ...

    async def close(self, code: int, reason: str) -> None: ...

    def cut_off(self, after_seconds: float = 1.0) -> None:
        """Read nothing more, and drop the connection soon (abusers)."""
        ...


class Flusher:
    """Writes every socket's queued frames once per turn of the event loop: a fan-out
    to a thousand sockets costs one callback, not a thousand task wake-ups, and a
    socket that got several frames in one turn gets them in one write."""

    def __init__(self) -> None:
        self._due: list[Connection] = []

    def schedule(self, conn: Connection) -> None:
        if not self._due:
            asyncio.get_running_loop().call_soon(self._flush)
        self._due.append(conn)

    def _flush(self) -> None:
        due, self._due = self._due, []
        for conn in due:
            conn.flush()


class Connection:
    # Slots, not a dict: one of these lives as long as each socket.
    __slots__ = (
        "_closer",
        "_flush_due",
        "_flusher",
        "_held",
        "_max_bytes",
        "_max_queue",
        "_out",
        "_queued",
        "_space",
        "_started",
        "_wake",
        "_window",
        "_writer",
        "_writing",
        "bad_frames",
        "close_code",
        "closing",
        "expires_at",
        "frame_tokens",
        "frames_refilled",
        "id",
        "rooms",
        "socket",
        "typing_sent",
        "user",
        "widget",
    )

    def __init__(
        self,
        socket: Socket,
        widget: Widget,
        user: User,
        flusher: Flusher,
        max_queue: int,
        max_queue_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        self.id = next(_ids)
        self.socket = socket
        self.widget = widget
        self.user = user
        self.rooms: set[int] = set()
        self._max_queue = max_queue
        self._max_bytes = max_queue_bytes
        # A list, not a deque: an empty deque holds a 600-byte block (and clearing
        # one allocates a new block), an empty list nothing.
        self._out: list[str] = []
        self._queued = 0  # bytes of the frames in _out
        # Made when first needed, as the writer task is: an Event is about 700 bytes
        # (its deque of waiters), and most sockets never wait on either.
        self._wake: asyncio.Event | None = None
        self._space: asyncio.Event | None = None
        self._window: dict[int, list[int]] = {}
        self._held: dict[int, list[tuple[int, str | None]]] = {}
        self._writer: asyncio.Task[None] | None = None  # started when first needed
        self._started = False
        self._writing = False  # the writer task holds frames taken from the queue
        self._flusher = flusher
        self._flush_due = False
        self._closer: asyncio.Task[None] | None = None
        self.closing = False
        self.close_code: int | None = None
        self.typing_sent: dict[int, float] = {}
        self.expires_at = float("inf")  # the token's exp (unix seconds, leeway included)
        # The frame budget's token bucket (see Gateway.frame): full at the first frame.
        self.frame_tokens = float("inf")
        self.frames_refilled = 0.0
        self.bad_frames = 0

    # ---- outbound ----------------------------------------------------------

    def start(self) -> None:
        """Send what was queued before the socket was ready, and all that follows."""
        self._started = True
        if not self.socket.writes_directly:
            self._wake_writer()  # through ASGI, every frame goes by the writer task
        elif self._out:
            self._send_soon()

    def _made_space(self) -> None:
        """The queue shrank (or the socket closes): whoever waits in drained() goes on."""
        if self._space is not None:
            self._space.set()

    def _wake_writer(self) -> None:
        """Have the writer task send the queue: always through ASGI, else only while
        the peer pushes back. It starts when first needed, so an idle socket holds
        no task (a task, its coroutine and the future it waits on: about 1 KB)."""
        if self._wake is None:
            self._wake = asyncio.Event()
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain(self._wake), name=f"ws-writer-{self.id}")
        self._wake.set()

    @property
    def writes_directly(self) -> bool:
        """Frames go straight to the transport (see :mod:`sockets`), not through ASGI."""
        return self.socket.writes_directly

    def push(self, text: str) -> None:
        """Queue a frame; never waits. Overflow closes the socket as too slow."""
        if self.closing:
            return
        size = size_of(text)
        if len(self._out) >= self._max_queue or self._queued + size > self._max_bytes:
            self.close_soon(protocol.CLOSE_TOO_SLOW, "too slow: reconnect and resume")
            return
        self._out.append(text)
        self._queued += size
        self._send_soon()

    def push_replayed(self, text: str) -> None:
        """Queue a replayed frame: the replay paces itself with :meth:`drained`, so
        it does not count as falling behind."""
        if not self.closing:
            self._out.append(text)
            self._queued += size_of(text)
            self._send_soon()

    @property
    def _half_full(self) -> bool:
        return len(self._out) > self._max_queue // 2 or self._queued > self._max_bytes // 2

    async def drained(self) -> None:
        """Wait until the queue is below half its limits (or the socket closes)."""
        while self._half_full and not self.closing:
            if self._space is None:
                self._space = asyncio.Event()
            self._space.clear()
            await self._space.wait()

    def push_front(self, text: str) -> None:
        self._out.insert(0, text)
        self._queued += size_of(text)
        self._send_soon()

    def _send_soon(self) -> None:
        if not self._started:
            return  # start() sends it
        if not self.socket.writes_directly:
            self._wake_writer()
        elif not self._flush_due and not self._writing:
            self._flush_due = True
            self._flusher.schedule(self)
        # While the writer task holds frames, it takes these next, in order.

    def flush(self) -> None:
        """Write everything queued in one go if the transport takes it now; else the
        writer task waits until it does."""
        self._flush_due = False
        if not self._out or self._writing or self.closing:
            return
        try:
            written = self.socket.write_now(self._out)
        except Exception as exc:  # the peer went away; the reader sees it too
            log.debug("connection %s write failed: %r", self.id, exc)
            self.closing = True
            self._made_space()
            return
        if written:
            metrics.LIVE.frames_out += len(self._out)
            self._out.clear()
            self._queued = 0
            self._made_space()
        else:
            self._wake_writer()

    async def _drain(self, wake: asyncio.Event) -> None:
        try:
            while True:
                await wake.wait()
                wake.clear()
                while self._out:
                    texts, self._out = self._out, []
                    self._queued = 0
                    self._writing = True
                    try:
                        await self.socket.write(texts)
                    finally:
                        self._writing = False
                    metrics.LIVE.frames_out += len(texts)
                    if not self._half_full:
                        self._made_space()
        except Exception as exc:  # the peer went away mid-send; the reader sees it too
            log.debug("connection %s writer stopped: %r", self.id, exc)
            self.closing = True
            self._made_space()

    def close_soon(self, code: int, reason: str) -> None:
        """Close from anywhere (also from inside fan-out) without waiting."""
        if self.closing:
            return
        self.closing = True
        self.close_code = code
        self._out.clear()
        self._queued = 0
        self._made_space()
        self._closer = asyncio.get_running_loop().create_task(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        if self._writer is not None:
            self._writer.cancel()
        with contextlib.suppress(Exception):
            await self.socket.close(code, reason)
        if code in _CUT_OFF:
            self.socket.cut_off()

    async def stop(self) -> None:
        """Finish a close in progress and stop the writer."""
        if self._closer is not None:
            with contextlib.suppress(Exception):
                await self._closer
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer

    # ---- rooms and the delivery window -------------------------------------

    def know_room(self, room_id: int, last_seq: int | None) -> None:
        """The socket now follows the room; messages after ``last_seq`` are news.
        With ``last_seq`` unknown yet, the room is held until :meth:`start_window`."""
        self.rooms.add(room_id)
        if last_seq is None:
            self.hold(room_id)
        else:
            self._window.setdefault(room_id, [last_seq, last_seq])

    def start_window(self, room_id: int, last_seq: int) -> None:
        self._window.setdefault(room_id, [last_seq, last_seq])

    def forget_room(self, room_id: int) -> None:
        self.rooms.discard(room_id)
        self._window.pop(room_id, None)
        self._held.pop(room_id, None)

    def deliver(self, room_id: int, seq: int, text: str | None) -> None:
        """A live message: held while the room replays, dropped if already delivered.
        ``text`` None marks the socket's own message, already answered by its ack."""
        held = self._held.get(room_id)
        if held is not None:
            held.append((seq, text))
            return
        window = self._window.get(room_id)
        if window is None or seq <= window[1]:
            # Delivered already, or older than what this socket started from: the
            # client gets those through resume or history, never out of order.
            return
        window[1] = seq
        if text is not None:
            metrics.LIVE.delivered += 1
            self.push(text)

    def hold(self, room_id: int) -> None:
        self._held.setdefault(room_id, [])

    def window(self, room_id: int) -> tuple[int, int]:
        """``(low, high)``: seqs in ``(low, high]`` were delivered on this socket."""
        low, high = self._window.get(room_id, [0, 0])
        return low, high

    def replayed(self, room_id: int, after_seq: int, up_to: int) -> None:
        """Frames for ``(after_seq, up_to]`` were queued by replay: widen the window."""
        window = self._window.setdefault(room_id, [after_seq, after_seq])
        window[0] = min(window[0], after_seq)
        window[1] = max(window[1], up_to)

    def release(self, room_id: int) -> None:
        """End a replay: deliver what arrived meanwhile, in seq order, without repeats."""
        held = self._held.pop(room_id, [])
        for seq, text in sorted(held, key=lambda item: item[0]):
            self.deliver(room_id, seq, text)

    def high(self, room_id: int) -> int:
        return self._window.get(room_id, [0, 0])[1]
