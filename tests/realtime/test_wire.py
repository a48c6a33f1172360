"""Frames written straight to the transport are the WebSocket frames a client reads."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from imbachat.realtime.wire import FrameReader, close_frame, text_frame
from tests.realtime.client import ChatClient


def parse(data: bytes) -> Frame:
    reader = StreamReader()
    reader.feed_data(data)
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        frame: Frame = done.value
        return frame
    raise AssertionError("the frame is incomplete")


@pytest.mark.parametrize("size", [0, 125, 126, 65_535, 65_536, 200_000])
def test_a_text_frame_of_any_length_parses_back_to_its_text(size: int) -> None:
    text = ("é" * size)[:size]
    frame = parse(text_frame(text))
    assert (frame.opcode, frame.fin) == (Opcode.TEXT, True)
    assert frame.data.decode() == text


def test_a_long_close_reason_is_cut_between_characters() -> None:
    frame = parse(close_frame(4001, "Unknown frame type '" + "🙂" * 40 + "'"))
    assert len(frame.data) <= 125
    assert frame.data[2:].decode().startswith("Unknown frame type '🙂")  # valid UTF-8


@pytest.mark.parametrize("cut", [1, 2, 3, 7, 64])
def test_frames_read_the_same_however_the_bytes_are_cut(cut: int) -> None:
    """A client's bytes arrive in any pieces: the reader gives the same messages."""
    mask = b"\x01\x02\x03\x04"

    def masked(opcode: int, payload: bytes, fin: bool = True) -> bytes:
        unmasked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        size = len(payload)
        head = (
            bytes((0x80 * fin | opcode, 0x80 | size))
            if size < 126
            else (bytes((0x80 * fin | opcode, 0x80 | 126)) + size.to_bytes(2, "big"))
        )
        return head + mask + unmasked

    wire_bytes = (
        masked(0x1, b"hello")
        + masked(0x1, b"x" * 300, fin=False)
        + masked(0x9, b"ping")
        + masked(0x0, b"y" * 10)
        + masked(0x2, b"\x00\xff")
    )
    messages: list[tuple[int, bytes]] = []
    controls: list[tuple[int, bytes]] = []
    reader = FrameReader()
    for at in range(0, len(wire_bytes), cut):
        reader.feed(
            wire_bytes[at : at + cut],
            64 * 1024,
            lambda op, data: messages.append((op, data)),
            lambda op, data: controls.append((op, data)),
        )
    assert messages == [(0x1, b"hello"), (0x1, b"x" * 300 + b"y" * 10), (0x2, b"\x00\xff")]
    assert controls == [(0x9, b"ping")]


def test_the_same_text_is_encoded_once_for_every_recipient() -> None:
    text = '{"type":"message"}' * 3
    assert text_frame(text) is text_frame(text)


def test_long_multibyte_messages_reach_every_member_intact(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2, 3], room_type=1)
    text = "🙂" * 10_000  # 40 kB of UTF-8: a frame with a 16-bit length

    async def scenario() -> None:
        alice, bob, carol = [
            await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(user))
            for user in (1, 2, 3)
        ]
        frame = {"type": "send", "room_id": room, "text": text, "client_id": "long"}
        await alice.ws.send(json.dumps(frame, ensure_ascii=False))  # 40 kB, not 120 kB escaped
        await alice.next("ack", client_id="long")
        for client in (bob, carol):
            got = await client.next("message")
            assert got["message"]["message"] == text
        for client in (alice, bob, carol):
            await client.close()

    asyncio.run(scenario())


def test_sockets_served_by_uvicorn_write_their_frames_directly(server, widgets) -> None:
    widget = widgets()
    widget.room([1, 2], room_type=1)

    async def scenario() -> None:
        alice = await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(1))

        async def sockets_of_alice(services):
            [user] = await services.users.ensure(await services.widgets.get(widget.imba_id), [1])
            return server.app.state.gateway.hub.connections_of(user.id)

        [conn] = await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(sockets_of_alice(server.services), server.loop)
        )
        assert conn.writes_directly
        await alice.close()

    asyncio.run(scenario())
