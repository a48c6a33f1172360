"""The chat socket's own WebSocket layer: the handshake, frames in and out, pings,
and closes, as a client on the wire sees them (RFC 6455)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import struct

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from imbachat.realtime import protocol
from tests.realtime.client import ChatClient

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def handshake(server, path: str, **headers: str) -> tuple[socket.socket, bytes]:
    """A raw connection and the server's whole answer to its upgrade request."""
    fields = {
        "Host": "127.0.0.1",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": KEY,
        "Sec-WebSocket-Version": "13",
        **{name.replace("_", "-"): value for name, value in headers.items()},
    }
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    lines = "".join(f"{name}: {value}\r\n" for name, value in fields.items() if value)
    sock.sendall(f"GET {path} HTTP/1.1\r\n{lines}\r\n".encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(1)
        if not chunk:
            break
        answer += chunk
    return sock, answer


def masked(opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0) -> bytes:
    mask = os.urandom(4)
    size = len(payload)
    first = (0x80 if fin else 0) | rsv | opcode
    if size < 126:
        head = bytes((first, 0x80 | size))
    elif size < 65_536:
        head = struct.pack("!BBH", first, 0x80 | 126, size)
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, size)
    return head + mask + bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))


def read_frame(sock: socket.socket) -> tuple[int, bytes]:
    """The next frame the server sends: its opcode and payload."""

    def exactly(count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    first, second = exactly(2)
    size = second & 0x7F
    if size == 126:
        (size,) = struct.unpack("!H", exactly(2))
    elif size == 127:
        (size,) = struct.unpack("!Q", exactly(8))
    return first & 0x0F, exactly(size)


def close_code_of(sock: socket.socket) -> int:
    """Reads frames until the server's close; its code."""
    while True:
        opcode, payload = read_frame(sock)
        if opcode == 0x8:
            return int(struct.unpack("!H", payload[:2])[0])


def chat_path(widget, user: int) -> str:
    return f"/imbachat/v1/{widget.imba_id}/ws?token={widget.token(user)}"


def ready_socket(server, widget, user: int) -> socket.socket:
    sock, answer = handshake(server, chat_path(widget, user))
    assert answer.startswith(b"HTTP/1.1 101"), answer
    opcode, payload = read_frame(sock)
    assert (opcode, json.loads(payload)["type"]) == (0x1, "ready")
    return sock


# ---- the handshake ------------------------------------------------------------------


def test_the_handshake_answers_with_the_key_the_rfc_derives(server, widgets) -> None:
    widget = widgets()
    sock, answer = handshake(server, chat_path(widget, 1))
    with sock:
        assert answer.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
        # RFC 6455 §1.3's own example: this key gives this accept value.
        assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in answer


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Sec-WebSocket-Version": "8"}, b"426"),
        ({"Sec-WebSocket-Key": "too-short"}, b"400"),
        ({"Sec-WebSocket-Key": ""}, b"400"),
    ],
)
def test_a_handshake_the_protocol_refuses_is_answered_and_closed(
    server, widgets, headers: dict[str, str], status: bytes
) -> None:
    widget = widgets()
    sock, answer = handshake(server, chat_path(widget, 1), **headers)
    with sock:
        assert answer.startswith(b"HTTP/1.1 " + status), answer
        if status == b"426":
            assert b"Sec-WebSocket-Version: 13" in answer
        while sock.recv(4096):  # the body, then the end: the server closed (or times out)
            pass


def test_a_key_that_is_not_ascii_is_refused_with_400_not_a_traceback(server, widgets) -> None:
    widget = widgets()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    with sock:
        sock.sendall(
            f"GET {chat_path(widget, 1)} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n".encode()
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==é\r\n\r\n".encode("latin-1")
        )
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400"), answer


def test_other_socket_paths_are_still_answered_by_the_app(server) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{server.ws_url}/imbachat/v1/1/nope", open_timeout=5)
    assert refused.value.response.status_code == 403


# ---- frames in ------------------------------------------------------------------


def test_a_fragmented_frame_is_joined_and_answered(server, widgets) -> None:
    widget = widgets()

    async def scenario() -> None:
        alice = await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(1))
        await alice.ws.send(iter(['{"type": ', '"ping"', "}"]))  # three frames, one message
        await alice.next("pong")
        await alice.close()

    asyncio.run(scenario())


def test_a_frame_split_across_packets_and_pings_between_fragments_are_read(server, widgets) -> None:
    widget = widgets()
    with ready_socket(server, widget, 1) as sock:
        whole = (
            masked(0x1, b'{"type":', fin=False)
            + masked(0x9, b"hi")  # a ping may come between fragments
            + masked(0x0, b'"ping"}')
        )
        for byte in whole:
            sock.sendall(bytes((byte,)))
        assert read_frame(sock) == (0xA, b"hi")
        opcode, payload = read_frame(sock)
        assert (opcode, json.loads(payload)["type"]) == (0x1, "pong")


def test_a_protocol_ping_gets_its_pong(server, widgets) -> None:
    widget = widgets()

    async def scenario() -> None:
        alice = await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(1))
        latency = await asyncio.wait_for(await alice.ws.ping(b"are you there"), 5)
        assert latency >= 0
        await alice.close()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (masked(0x1, b"\xff\xfe"), 1007),  # not UTF-8
        (masked(0x1, b"{}", rsv=0x40), 1002),  # an extension nobody agreed on
        (masked(0x0, b"more"), 1002),  # a continuation of nothing
        (masked(0x3, b""), 1002),  # a reserved opcode
        (masked(0x9, b"x" * 126), 1002),  # a control frame over 125 bytes
        (bytes((0x81, 2)) + b"{}", 1002),  # not masked
        (masked(0x1, b"x" * 66_000), 1009),  # over ws_max_frame_bytes (64 KiB)
    ],
)
def test_frames_that_break_the_protocol_close_with_its_code(
    server, widgets, frame: bytes, code: int
) -> None:
    widget = widgets()
    with ready_socket(server, widget, 1) as sock:
        sock.sendall(frame)
        assert close_code_of(sock) == code


def test_a_message_is_refused_as_too_big_from_its_header_alone(server, widgets) -> None:
    widget = widgets()
    with ready_socket(server, widget, 1) as sock:
        # Only the header: a 10 MB frame is refused before any of it is buffered.
        sock.sendall(struct.pack("!BBQ", 0x81, 0x80 | 127, 10_000_000) + os.urandom(4))
        assert close_code_of(sock) == 1009


def test_a_message_in_endless_empty_pieces_is_refused(server, widgets) -> None:
    """Empty fragments add nothing to a message's size; their number is capped."""
    widget = widgets()
    with ready_socket(server, widget, 1) as sock:
        sock.sendall(masked(0x1, b"{", fin=False) + masked(0x0, b"", fin=False) * 2_000)
        assert close_code_of(sock) == 1009


def test_a_binary_frame_is_read_as_json_like_a_text_one(server, widgets) -> None:
    widget = widgets()
    with ready_socket(server, widget, 1) as sock:
        sock.sendall(masked(0x2, b'{"type":"ping"}'))
        opcode, payload = read_frame(sock)
        assert (opcode, json.loads(payload)["type"]) == (0x1, "pong")


# ---- closes ---------------------------------------------------------------------


def test_a_close_from_the_client_is_echoed_with_its_code(server, widgets) -> None:
    widget = widgets()
    with ready_socket(server, widget, 1) as sock:
        sock.sendall(masked(0x8, struct.pack("!H", 4321) + b"bye"))
        assert close_code_of(sock) == 4321
        assert sock.recv(1) == b""


def test_a_refused_socket_is_closed_with_the_reason_after_the_handshake(server, widgets) -> None:
    widget = widgets()
    sock, answer = handshake(server, f"/imbachat/v1/{widget.imba_id}/ws?token=forged")
    with sock:
        assert answer.startswith(b"HTTP/1.1 101")
        assert close_code_of(sock) == protocol.CLOSE_UNAUTHORIZED


def test_an_idle_socket_holds_no_task(server, widgets) -> None:
    """Idle sockets are what a busy site pays for: each holds no task at all."""
    widget = widgets()

    async def scenario() -> None:
        clients = [
            await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(user))
            for user in range(1, 21)
        ]

        async def tasks_now() -> int:
            await asyncio.sleep(0.2)
            return len(asyncio.all_tasks())

        before = await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(tasks_now(), server.loop)
        )
        more = [
            await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(user))
            for user in range(21, 41)
        ]
        after = await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(tasks_now(), server.loop)
        )
        assert after == before  # twenty more idle sockets, not one more task
        for client in clients + more:
            await client.close()

    asyncio.run(scenario())


def test_websockets_clients_of_every_kind_still_talk(server, widgets) -> None:
    """The sync client of the websockets library, as a site's backend might use."""
    widget = widgets()
    with connect(f"{server.ws_url}{chat_path(widget, 1)}", open_timeout=5) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "ready"
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=5))["type"] == "pong"
