"""Issue 3 §1: sockets authenticate with the user JWT; forged tokens are refused
with a clear close code; a user only ever receives events of their own rooms."""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest
import websockets

from imbachat.realtime import protocol
from tests.realtime.client import ChatClient, settled


async def refused(
    server, imba_id, token: str | None, first_frame: str | None = None
) -> tuple[int | None, str]:
    url = f"{server.ws_url}/imbachat/v1/{imba_id}/ws"
    if token is not None:
        url += f"?token={token}"
    async with websockets.connect(url) as ws:
        if first_frame is not None:
            await ws.send(first_frame)
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        return ws.close_code, ws.close_reason


def test_a_token_in_the_query_or_in_a_first_auth_frame_opens_the_session(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_type=1)

    async def scenario() -> None:
        by_query = await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(1))
        by_frame = await ChatClient.connect(
            server.ws_url, widget.imba_id, widget.token(2), first_frame_auth=True
        )
        assert by_query.ready["user"]["user_id"] == 1
        assert by_frame.ready["user"]["user_id"] == 2
        assert [r["id"] for r in by_frame.ready["rooms"]] == [room]
        await by_query.close()
        await by_frame.close()

    asyncio.run(scenario())


def forged_tokens(widget, other) -> dict[str, str]:
    now = int(time.time())
    return {
        "expired": jwt.encode({"user_id": 1, "exp": now - 120}, widget.secret_key, "HS256"),
        "alg none": jwt.encode({"user_id": 1, "exp": now + 60}, None, "none"),
        "wrong secret": jwt.encode({"user_id": 1, "exp": now + 60}, "x" * 32, "HS256"),
        "other widget": other.token(1),
        "no exp": jwt.encode({"user_id": 1}, widget.secret_key, "HS256"),
        "no user": jwt.encode({"exp": now + 60}, widget.secret_key, "HS256"),
        "garbage": "not-a-jwt",
    }


@pytest.mark.parametrize(
    "case", ["expired", "alg none", "wrong secret", "other widget", "no exp", "no user", "garbage"]
)
def test_forged_tokens_are_closed_with_4001(server, widgets, case) -> None:
    widget, other = widgets(), widgets()
    token = forged_tokens(widget, other)[case]

    code, reason = asyncio.run(refused(server, widget.imba_id, token))

    assert code == protocol.CLOSE_UNAUTHORIZED
    assert reason


def test_expired_tokens_say_so(server, widgets) -> None:
    widget = widgets()
    token = jwt.encode({"user_id": 1, "exp": int(time.time()) - 120}, widget.secret_key, "HS256")

    _, reason = asyncio.run(refused(server, widget.imba_id, token))

    assert "expired" in reason


def test_a_host_site_whose_clock_is_a_few_seconds_off_is_trusted(server, widgets) -> None:
    """Tokens are checked with a leeway (IMBACHAT_TOKEN_LEEWAY_SECONDS, 30 s): a host
    5 s ahead signs ``iat`` in our future, one 5 s behind an ``exp`` in our past."""
    widget = widgets()
    now = int(time.time())
    ahead = jwt.encode({"user_id": 1, "iat": now + 5, "exp": now + 60}, widget.secret_key)
    behind = jwt.encode({"user_id": 2, "exp": now - 5}, widget.secret_key)

    async def scenario() -> None:
        for user, token in ((1, ahead), (2, behind)):
            client = await ChatClient.connect(server.ws_url, widget.imba_id, token)
            assert client.ready["user"]["user_id"] == user
            await client.close()

    asyncio.run(scenario())


def test_an_unknown_widget_is_4004(server) -> None:
    code, _ = asyncio.run(refused(server, 987_654_321, "whatever"))
    assert code == protocol.CLOSE_NOT_FOUND


def test_no_auth_frame_in_time_is_4002_and_a_wrong_first_frame_4001(server, widgets) -> None:
    widget = widgets()

    silent, _ = asyncio.run(refused(server, widget.imba_id, None))
    wrong, _ = asyncio.run(refused(server, widget.imba_id, None, '{"type": "ping"}'))

    assert silent == protocol.CLOSE_AUTH_TIMEOUT
    assert wrong == protocol.CLOSE_UNAUTHORIZED


def test_a_user_receives_nothing_from_rooms_they_are_not_in(server, widgets) -> None:
    widget, other = widgets(), widgets()
    room = widget.room([1, 2], room_type=1)
    their_room = other.room([1, 3], room_type=1)

    async def scenario() -> None:
        alice = await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(1))
        bob = await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(2))
        carol = await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(3))
        same_id_elsewhere = await ChatClient.connect(server.ws_url, other.imba_id, other.token(2))
        await alice.send(room, "for bob only")
        await bob.next("message", room_id=room)
        other.send(1, their_room, "other widget")
        await bob.send_frame({"type": "typing", "room_id": room})
        await alice.next("typing", room_id=room)
        for client in (bob, carol, same_id_elsewhere):
            await settled(client)  # whatever reached them was queued before this pong
        for outsider in (carol, same_id_elsewhere):
            assert outsider.taken_none("message")
            assert outsider.taken_none("typing")
        assert carol.ready["rooms"] == []
        assert bob.taken_none("message", room_id=their_room)
        # Asking for another room's history is refused, not answered.
        await carol.send_frame({"type": "history", "room_id": room})
        error = await carol.next("error")
        assert error["code"] == 403
        for client in (alice, bob, carol, same_id_elsewhere):
            await client.close()

    asyncio.run(scenario())


def test_sockets_are_let_in_by_turns_and_a_silent_one_holds_nobody_up(
    start_server, widgets
) -> None:
    server = start_server(ws_concurrent_welcomes=1)
    widget = widgets()
    room = widget.room(list(range(1, 21)), room_type=1)

    async def scenario() -> None:
        url = f"{server.ws_url}/imbachat/v1/{widget.imba_id}/ws"
        async with websockets.connect(url):  # connected, never sends its auth frame
            started = time.monotonic()
            clients = await asyncio.gather(
                *(
                    ChatClient.connect(server.ws_url, widget.imba_id, widget.token(user))
                    for user in range(1, 21)
                )
            )
            assert time.monotonic() - started < 5
            assert all(c.ready["rooms"][0]["id"] == room for c in clients)
            for client in clients:
                await client.close()

    asyncio.run(scenario())
