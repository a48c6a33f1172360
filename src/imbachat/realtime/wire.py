"""WebSocket frames as bytes (RFC 6455): the server's own frames, and a reader of
the client's.

A server's frames are not masked, so a message's frame is the same bytes for every
recipient: a fan-out encodes a text once for all its sockets.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from enum import IntEnum

try:
    from websockets.speedups import apply_mask  # C: unmasks at memory speed
except ImportError:  # websockets built without its C extension
    from websockets.utils import apply_mask

_FIN = 0x80
_MASKED = 0x80
MAX_CONTROL_PAYLOAD = 125


class Opcode(IntEnum):
    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


_OPCODES = frozenset(Opcode)
_CONTROL = frozenset({Opcode.CLOSE, Opcode.PING, Opcode.PONG})

# Close codes of the WebSocket protocol itself (the chat's own are in protocol.py).
CLOSE_NORMAL = 1000
CLOSE_NO_STATUS = 1005  # the peer's close frame carried no code
CLOSE_ABNORMAL = 1006  # the connection ended without a close frame
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_INVALID_DATA = 1007
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL_ERROR = 1011
# Codes a peer may send (RFC 6455 §7.4): 1005, 1006 and 1015 are never on the wire.
_VALID_CLOSE = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})

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


def frame(opcode: int, payload: bytes) -> bytes:
    """The wire bytes of one unmasked, unfragmented frame."""
    size = len(payload)
    if size < 126:
        header = bytes((_FIN | opcode, size))
    elif size < 65_536:
        header = struct.pack("!BBH", _FIN | opcode, 126, size)
    else:
        header = struct.pack("!BBQ", _FIN | opcode, 127, size)
    return header + payload


def text_frame(text: str) -> bytes:
    """The wire bytes of one unmasked text frame."""
    global _last
    if text is _last[0]:
        return _last[1]
    encoded = frame(Opcode.TEXT, text.encode())
    _last = (text, encoded)
    return encoded


def close_frame(code: int, reason: str = "") -> bytes:
    # Cut to fit a control frame, never inside a character (a browser would refuse
    # the reason as invalid UTF-8 and report 1006 instead of the code).
    said = reason.encode()[: MAX_CONTROL_PAYLOAD - 2].decode(errors="ignore").encode()
    payload = struct.pack("!H", code) + said
    return frame(Opcode.CLOSE, payload)


def ping_frame(payload: bytes) -> bytes:
    return frame(Opcode.PING, payload)


def pong_frame(payload: bytes) -> bytes:
    return frame(Opcode.PONG, payload)


class ProtocolError(Exception):
    """The peer broke the WebSocket protocol: close with ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def parse_close(payload: bytes) -> tuple[int, str]:
    """The code and reason of a peer's close frame."""
    if not payload:
        return CLOSE_NO_STATUS, ""
    if len(payload) == 1:
        raise ProtocolError(CLOSE_PROTOCOL_ERROR, "close frame too short")
    (code,) = struct.unpack_from("!H", payload)
    if code not in _VALID_CLOSE and not 3000 <= code < 5000:
        raise ProtocolError(CLOSE_PROTOCOL_ERROR, f"invalid close code {code}")
    try:
        return code, payload[2:].decode()
    except UnicodeDecodeError:
        raise ProtocolError(CLOSE_INVALID_DATA, "invalid UTF-8 in the close reason") from None


class FrameReader:
    """Cuts a client's bytes into frames, unmasked, and joins fragmented messages.

    Holds nothing between frames but the bytes of an incomplete one (an idle socket's
    reader is four empty slots). A message over ``max_size`` is refused as soon as
    a header says so, before it is buffered, and a message in more than
    ``MAX_FRAGMENTS`` pieces is refused too (empty fragments would cost nothing
    against the size, and could come forever)."""

    __slots__ = ("_fragments", "_parts", "_parts_opcode", "_pending")
    MAX_FRAGMENTS = 1024

    def __init__(self) -> None:
        self._pending: bytearray | None = None  # an incomplete frame's bytes so far
        self._parts: bytearray | None = None  # a fragmented message so far
        self._fragments = 0
        self._parts_opcode = Opcode.TEXT

    def feed(
        self,
        data: bytes,
        max_size: int,
        on_message: Callable[[Opcode, bytes], None],
        on_control: Callable[[Opcode, bytes], None],
    ) -> None:
        """Hands every complete message and control frame in order; raises
        ProtocolError at the first violation (the bytes after it are not read)."""
        pending = self._pending
        buffer: bytes | bytearray = data
        if pending is not None:
            pending += data  # in place: a frame arriving in pieces is copied once
            buffer = pending
        parts_size = len(self._parts) if self._parts is not None else 0
        end = len(buffer)
        at = 0
        while end - at >= 2:
            first, second = buffer[at], buffer[at + 1]
            if first & 0x70:
                raise ProtocolError(CLOSE_PROTOCOL_ERROR, "reserved bits must be 0")
            if not second & _MASKED:
                raise ProtocolError(CLOSE_PROTOCOL_ERROR, "a client's frames must be masked")
            opcode, size, head = first & 0x0F, second & 0x7F, 2
            if size == 126:
                if end - at < 4:
                    break
                (size,) = struct.unpack_from("!H", buffer, at + 2)
                head = 4
            elif size == 127:
                if end - at < 10:
                    break
                (size,) = struct.unpack_from("!Q", buffer, at + 2)
                head = 10
            if opcode not in _OPCODES:
                raise ProtocolError(CLOSE_PROTOCOL_ERROR, f"invalid opcode {opcode}")
            if opcode in _CONTROL:
                if size > MAX_CONTROL_PAYLOAD or not first & _FIN:
                    raise ProtocolError(CLOSE_PROTOCOL_ERROR, "invalid control frame")
            elif size + parts_size > max_size:
                raise ProtocolError(CLOSE_TOO_BIG, f"message over {max_size} bytes")
            start = at + head + 4
            if end - start < size:
                break
            payload = apply_mask(buffer[start : start + size], buffer[start - 4 : start])
            at = start + size
            if opcode in _CONTROL:
                on_control(Opcode(opcode), payload)
                continue
            message = self._join(Opcode(opcode), bool(first & _FIN), payload)
            parts_size = len(self._parts) if self._parts is not None else 0
            if message is not None:
                on_message(*message)
        if at >= end:
            self._pending = None
        elif pending is not None:
            del pending[:at]
        else:
            self._pending = bytearray(memoryview(data)[at:])

    def _join(self, opcode: Opcode, fin: bool, payload: bytes) -> tuple[Opcode, bytes] | None:
        if opcode == Opcode.CONTINUATION:
            if self._parts is None:
                raise ProtocolError(CLOSE_PROTOCOL_ERROR, "unexpected continuation frame")
            self._fragments += 1
            if self._fragments > self.MAX_FRAGMENTS:
                raise ProtocolError(CLOSE_TOO_BIG, f"message in over {self.MAX_FRAGMENTS} pieces")
            self._parts += payload
            if not fin:
                return None
            whole = bytes(self._parts)
            self._parts = None
            return self._parts_opcode, whole
        if self._parts is not None:
            raise ProtocolError(CLOSE_PROTOCOL_ERROR, "expected a continuation frame")
        if fin:
            return opcode, payload
        self._parts, self._fragments, self._parts_opcode = bytearray(payload), 1, opcode
        return None
