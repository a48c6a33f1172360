"""Frames written straight to the transport are the WebSocket frames a client reads."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from imbachat.realtime.wire import text_frame
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
