"""What a stranger sends over a socket: frames no parser should read get an error
frame and the socket lives on; floods meet budgets, byte bounds and caps, each
with its documented close code; staff errors reveal nothing about others; sockets
end with their credentials."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import jwt
import pytest
import websockets

from imbachat.realtime import protocol
from tests.realtime.client import ChatClient, answer_code, connect, live, settled

# ---- frames no parser should read ------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        {"type": []},
        {"type": {}},
        {"type": "x" * 10_000},
        {"type": "history", "room_id": "²"},
        {"type": "read", "room_id": 1, "seq": "²"},
        {"type": "read", "room_id": "٣", "seq": 1},
        {"type": "resume", "rooms": {"²": 1}},
        {"type": "resume", "rooms": {str(i): 0 for i in range(1_001)}},
        {"type": "create_room", "title": "t", "users_ids": ["²"]},
        {"type": "send", "room_id": 1, "text": "x", "client_id": {"huge": "x" * 1000}},
        {"type": "open_dialog", "user_id": 2**63},
    ],
    ids=lambda frame: json.dumps(frame)[:40],
)
def test_a_frame_no_parser_should_read_gets_an_error_and_the_socket_lives(
    server, widgets, frame
) -> None:
    widget = widgets()
    widget.room([1, 2], room_type=1)

    async def scenario() -> None:
        client = await connect(server, widget, 1)
        await client.send_frame(frame)
        error = await client.next("error")
        assert error["code"] in (400, 413, 422), error
        assert len(json.dumps(error)) < 600  # nothing of the frame echoed back in bulk
        await settled(client)  # still served
        await client.close()

    live(scenario)


def test_searching_for_odd_digits_finds_nobody_instead_of_failing(server, widgets) -> None:
    widget = widgets()
    widget.room([1, 2], room_type=1)

    async def scenario() -> None:
        client = await connect(server, widget, 1)
        await client.send_frame({"type": "search_users", "text": "²"})
        found = await client.next("users_found")
        assert found["users"] == []
        await client.close()

    live(scenario)


def test_resume_positions_in_odd_digits_close_with_4009(server, widgets) -> None:
    widget = widgets()

    async def scenario() -> int | None:
        url = f"{server.ws_url}/imbachat/v1/{widget.imba_id}/ws?token={widget.token(1)}"
        async with websockets.connect(url + "&resume=%C2%B2:1") as ws:
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
            return ws.close_code

    assert asyncio.run(scenario()) == protocol.CLOSE_PROTOCOL


def test_a_handshake_with_a_request_line_over_8_kib_is_answered_and_closed(server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(
            (
                f"GET /imbachat/v1/1/ws?token={'a' * 9_000} HTTP/1.1\r\nHost: x\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        answer = b""
        while chunk := sock.recv(4096):  # ends when the server closes the connection
            answer += chunk

    assert answer.startswith(b"HTTP/1.1 414")


# ---- floods ----------------------------------------------------------------------------


def test_a_socket_flooding_requests_is_refused_then_closed_while_others_are_served(
    start_server, widgets
) -> None:
    server = start_server(ws_frames_per_second=30, ws_frame_burst=90)
    widget = widgets()
    room = widget.room([1, 2], room_type=1)
    widget.store_many(room, 1, 60, via=server)

    async def scenario() -> None:
        flooder = await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(1))
        bystander = await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(2))
        for _ in range(2_000):
            try:
                await flooder.send_frame({"type": "history", "room_id": room})
            except websockets.ConnectionClosed:
                break
        started = time.monotonic()
        await settled(bystander)  # answered in turn, not after the flood
        assert time.monotonic() - started < 2
        assert await flooder.closed(10) == protocol.CLOSE_PROTOCOL
        # (Its 429 errors may be dropped with its queue when it is closed.)
        assert all(f["code"] == 429 for f in flooder.frames if f["type"] == "error")
        answered = [f for f in flooder.frames if f["type"] == "history"]
        assert 0 < len(answered) <= 90 + 30 * 10  # the burst, and what the rate refilled
        await bystander.close()

    live(scenario)


def test_a_socket_that_asks_and_never_reads_is_cut_off_by_the_bytes_it_holds(
    start_server, widgets
) -> None:
    server = start_server(ws_max_queue_bytes=256 * 1024)
    widget = widgets()
    room = widget.room([1, 2], room_type=1)
    widget.store_many(room, 1, 200, via=server, text="{i} " + "x" * 9_000)
    [flooder_id] = [u["id"] for u in widget.listed("get_users", user_id="1")]
    hub = server.app.state.gateway.hub

    async def scenario() -> int | None:
        url = f"{server.ws_url}/imbachat/v1/{widget.imba_id}/ws?token={widget.token(1)}"
        ws = await websockets.connect(url, max_queue=1)  # holds one frame, reads no more
        for _ in range(100):  # 100 pages of 1.8 MB: more than any socket buffer holds
            try:
                await ws.send(json.dumps({"type": "history", "room_id": room, "limit": 200}))
            except websockets.ConnectionClosed:
                break
        deadline = time.monotonic() + 10
        while not all(c.closing for c in hub.connections_of(flooder_id)):
            assert time.monotonic() < deadline, "the flooder was never cut off"
            await asyncio.sleep(0.05)
        while ws.close_code is None:  # read the backlog up to the close frame
            try:
                await asyncio.wait_for(ws.recv(), 5)
            except (websockets.ConnectionClosed, TimeoutError):
                break
        return ws.close_code

    assert asyncio.run(scenario()) == protocol.CLOSE_TOO_SLOW


def test_sockets_are_capped_per_user_and_per_address(start_server, widgets) -> None:
    server = start_server(ws_max_sockets_per_user=3, ws_max_sockets_per_address=5)
    widget = widgets()

    async def refused_code(user: int) -> int | None:
        url = f"{server.ws_url}/imbachat/v1/{widget.imba_id}/ws?token={widget.token(user)}"
        async with websockets.connect(url) as ws:
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    await asyncio.wait_for(ws.recv(), 5)
            return ws.close_code

    async def scenario() -> None:
        tabs = [await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(1))]
        tabs += [await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(1))]
        tabs += [await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(1))]
        assert await refused_code(1) == protocol.CLOSE_TOO_MANY  # a fourth tab of user 1
        tabs += [await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(2))]
        tabs += [await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(3))]
        assert await refused_code(4) == protocol.CLOSE_TOO_MANY  # a sixth from 127.0.0.1
        await tabs.pop().close()
        tabs.append(await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(4)))
        for tab in tabs:
            await tab.close()

    live(scenario)


# ---- staff errors say nothing about others -------------------------------------------------


def test_moderating_a_room_one_may_not_moderate_reveals_nothing_about_its_members(
    server, widgets
) -> None:
    widget = widgets()
    private = widget.room([1, 2], room_type=1)  # 1 is its admin, 2 a member
    widget.room([3, 9], room_type=1)  # 9 exists in the widget, elsewhere

    async def scenario() -> None:
        outsider = await connect(server, widget, 3)
        member = await connect(server, widget, 2)
        for client in (outsider, member):
            answers = set()
            for target in (1, 2, 9, 404_404):  # admin, member, not in it, no such user
                for frame in (
                    {"type": "moderate", "action": "ban", "room_id": private, "user_id": target},
                    {"type": "set_role", "room_id": private, "user_id": target, "role": "admin"},
                ):
                    await client.send_frame(frame)
                    error = await client.next("error", ref=frame["type"])
                    answers.add((frame["type"], error["code"], error["message"]))
            # One answer per frame type, whoever the target: nothing to learn from it.
            assert len(answers) == 2, answers
        await outsider.close()
        await member.close()

    live(scenario)


def test_staff_learn_only_whether_a_target_is_a_member_they_outrank(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_type=1)
    widget.set_member(room, 2, role="moderator")
    widget.room([3, 9], room_type=1)

    async def scenario() -> None:
        moderator = await connect(server, widget, 2)
        codes = {}
        for target in (9, 404_404):  # in the widget but not this room; no such user
            frame = {"type": "moderate", "action": "mute", "room_id": room, "user_id": target}
            await moderator.send_frame({**frame, "seconds": 60})
            error = await moderator.next("error", ref="moderate")
            codes[target] = (error["code"], error["message"].replace(f"User {target} ", "User N "))
        assert codes[9] == codes[404_404]
        assert await answer_code(moderator, {"type": "moderate", "action": "ban",
                                             "room_id": room, "user_id": 1}) == 403  # fmt: skip
        await moderator.close()

    live(scenario)


# ---- sockets end with their credentials ----------------------------------------------------


def test_a_socket_closes_with_4003_when_its_token_expires(start_server, widgets) -> None:
    server = start_server(token_leeway_seconds=0, ws_credentials_check_seconds=0.1)
    widget = widgets()
    token = jwt.encode({"user_id": 1, "exp": int(time.time()) + 2}, widget.secret_key)

    async def scenario() -> int | None:
        client = await ChatClient.connect(server.ws_url, widget.imba_id, token)
        return await client.closed(10)

    assert asyncio.run(scenario()) == protocol.CLOSE_CREDENTIALS_EXPIRED


def test_rotating_the_secret_closes_the_widgets_sockets_with_4003(start_server, widgets) -> None:
    server = start_server(ws_credentials_check_seconds=0.1)
    widget, other = widgets(), widgets()

    async def scenario() -> tuple[int | None, bool]:
        mine = await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(1))
        theirs = await ChatClient.connect(server.ws_url, other.imba_id, other.token(1))
        widget.server.run(lambda services: services.widgets.rotate_secret(widget.imba_id))
        code = await mine.closed(10)
        await settled(theirs)  # another widget's sockets are left alone
        untouched = theirs.closed_with is None
        await theirs.close()
        return code, untouched

    code, others_untouched = asyncio.run(scenario())
    assert code == protocol.CLOSE_CREDENTIALS_EXPIRED
    assert others_untouched
