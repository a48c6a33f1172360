"""Issue 3 §7-8: a slow socket is cut off instead of slowing others, and dead
sockets are found by heartbeats and dropped."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time

import websockets

from imbachat.realtime import protocol
from tests.realtime.client import ChatClient

BIG = "x" * 9_000


def test_a_socket_that_stops_reading_is_closed_as_too_slow_and_others_keep_up(
    start_server, widgets
) -> None:
    server = start_server(ws_max_queue=20)
    hub = server.app.state.gateway.hub
    widget = widgets()
    room = widget.room([1, 2, 3], room_type=1)
    [slow_user] = [u["id"] for u in widget.listed("get_users", user_id="3")]

    def cut_off() -> bool:
        return all(conn.closing for conn in hub.connections_of(slow_user))

    async def scenario() -> tuple[int | None, int, int]:
        # The slow client's library holds one frame and then stops reading, so its
        # TCP window closes and frames pile up on the server.
        slow = await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(3), max_queue=1)
        slow._reader.cancel()
        fast = await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(2))
        sender = await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(1))
        sent = 0
        while sent < 3_000 and not cut_off():
            await asyncio.gather(*(sender.send(room, f"{sent + i} {BIG}") for i in range(20)))
            sent += 20
        received = 0
        while received < sent:
            await fast.next("message", room_id=room, timeout=10)
            received += 1
        code = await read_until_closed(slow)  # the slow client finally reads its backlog
        await fast.close()
        await sender.close()
        return code, sent, received

    code, sent, received = asyncio.run(scenario())

    assert sent < 3_000, "the slow socket was never cut off"
    assert received == sent
    assert code == protocol.CLOSE_TOO_SLOW


async def read_until_closed(client: ChatClient) -> int | None:
    deadline = time.monotonic() + 20
    while client.ws.close_code is None and time.monotonic() < deadline:
        with contextlib.suppress(TimeoutError, websockets.ConnectionClosed):
            await asyncio.wait_for(client.ws.recv(), 2)
    return client.ws.close_code


def open_silent_socket(server, path: str) -> socket.socket:
    """A WebSocket that completes the handshake and then never reads or answers pings."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(1)
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


def test_a_dead_socket_is_dropped_by_heartbeat_and_its_user_goes_offline(
    start_server, widgets
) -> None:
    server = start_server(ws_ping_interval_seconds=0.2, ws_ping_timeout_seconds=0.3)
    widget = widgets()
    widget.room([1, 2])
    hub = server.app.state.gateway.hub

    async def scenario() -> None:
        alice = await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(1))
        dead = await asyncio.to_thread(
            open_silent_socket, server, f"/imbachat/v1/{widget.imba_id}/ws?token={widget.token(2)}"
        )
        assert (await alice.next("presence", user_id=2))["online"] is True
        assert hub.connections == 2
        offline = await alice.next("presence", user_id=2, timeout=5)
        assert offline["online"] is False
        assert hub.connections == 1
        # Alice answers pings (her client does), so she is still connected and served.
        await alice.send_frame({"type": "ping"})
        await alice.next("pong")
        dead.close()
        await alice.close()

    asyncio.run(scenario())


def test_a_socket_that_pauses_reading_gets_its_whole_backlog_in_order_afterwards(
    start_server, widgets
) -> None:
    """Frames normally go out once per turn of the event loop; while the peer pushes
    back they wait on the server, and nothing is lost or reordered when it reads on."""
    server = start_server(
        ws_max_queue=5_000, ws_max_queue_bytes=64 * 1024 * 1024, send_rate_per_second=0
    )
    widget = widgets()
    room = widget.room([1, 2], room_type=1)
    count = 1_500  # 13 MB: more than the loopback socket buffers hold

    async def scenario() -> list[int]:
        url = f"{server.ws_url}/imbachat/v1/{widget.imba_id}/ws?token={widget.token(2)}"
        # Not reading: the library holds a frame or so, then the TCP window closes.
        paused = await websockets.connect(url, max_queue=1)
        sender = await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(1))
        for start in range(0, count, 50):
            await asyncio.gather(*(sender.send(room, f"{start + i} {BIG}") for i in range(50)))
        seqs: list[int] = []
        while len(seqs) < count:
            frame = json.loads(await asyncio.wait_for(paused.recv(), 10))
            if frame["type"] == "message":
                seqs.append(frame["message"]["seq"])
        await sender.close()
        await paused.close()
        return seqs

    seqs = asyncio.run(scenario())
    assert seqs == list(range(seqs[0], seqs[0] + count))
