"""Issue 3 §2: every room has a gap-free seq, and after any disconnect a client
that says where it was gets exactly what it missed, in order, then live messages.

The proof: senders on sockets (killed mid-send, resending by client_id) and over
REST keep writing while receivers are killed at random points and reconnect;
at the end every receiver holds seq 1..N of every room, each once, in order.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

from tests.realtime.client import ChatClient

SOCKET_SENDS = 40
REST_SENDS = 30


@dataclass
class Received:
    seqs: dict[int, list[int]] = field(default_factory=dict)
    reconnects: int = 0
    problems: list[str] = field(default_factory=list)

    def take(self, frame: dict) -> None:
        if frame["type"] != "message":
            return
        room, seq = frame["room_id"], frame["message"]["seq"]
        got = self.seqs.setdefault(room, [])
        if got and seq <= got[-1]:
            self.problems.append(f"room {room}: seq {seq} after {got[-1]}")
        elif got and seq != got[-1] + 1:
            self.problems.append(f"room {room}: gap {got[-1]} -> {seq}")
        elif not got and seq != 1:
            self.problems.append(f"room {room}: started at {seq}")
        got.append(seq)

    def positions(self, rooms: list[int]) -> dict[int, int]:
        return {room: (self.seqs.get(room) or [0])[-1] for room in rooms}


async def receive_with_kills(
    server, widget, user: int, rooms: list[int], stop: asyncio.Event, rng: random.Random
) -> Received:
    state = Received()
    while True:
        client = await ChatClient.connect(
            server.ws_url, widget.imba_id, widget.token(user), resume=state.positions(rooms)
        )
        await client.next("resumed")
        finishing = stop.is_set()
        kill_at = time.monotonic() + rng.uniform(0.02, 0.15)
        while finishing or time.monotonic() < kill_at:
            await asyncio.sleep(0.01)
            while client.frames:
                state.take(client.frames.pop(0))
            if finishing:
                break
        if finishing:
            await client.close()
            for frame in client.frames:
                state.take(frame)
            return state
        client.kill()  # at a random point: mid-stream, maybe mid-frame
        await client.closed()
        for frame in client.frames:  # what fully arrived before the cut still counts
            state.take(frame)
        state.reconnects += 1


async def send_with_kills(
    server, widget, user: int, room: int, count: int, rng: random.Random
) -> None:
    """Send ``count`` messages; the socket is killed now and then, and unacknowledged
    messages are sent again with the same client_id."""
    sent = 0
    while sent < count:
        client = await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(user))
        try:
            while sent < count:
                client_id = f"u{user}-r{room}-{sent}"
                await client.send_frame(
                    {"type": "send", "room_id": room, "text": f"#{sent}", "client_id": client_id}
                )
                if rng.random() < 0.1:
                    client.kill()
                    break
                await client.next("ack", client_id=client_id)
                sent += 1
                await asyncio.sleep(rng.uniform(0.005, 0.03))  # a run long enough to cut
        finally:
            await client.close()


def test_random_disconnects_lose_and_duplicate_nothing(server, widgets) -> None:
    widget = widgets()
    a = widget.room([1, 2, 3, 4], room_type=1)
    b = widget.room([1, 2, 5], room_type=1)
    c = widget.room([3, 4, 5], room_type=1)

    async def rest_sender() -> None:
        for i in range(REST_SENDS):
            await asyncio.to_thread(widget.send, 2, a, f"rest {i}")
            await asyncio.sleep(0.005)

    async def scenario() -> dict[int, Received]:
        stop = asyncio.Event()
        receivers = {
            2: asyncio.create_task(
                receive_with_kills(server, widget, 2, [a, b], stop, random.Random(2))
            ),
            4: asyncio.create_task(
                receive_with_kills(server, widget, 4, [a, c], stop, random.Random(4))
            ),
        }
        await asyncio.gather(
            send_with_kills(server, widget, 1, a, SOCKET_SENDS, random.Random(1)),
            send_with_kills(server, widget, 1, b, SOCKET_SENDS, random.Random(11)),
            send_with_kills(server, widget, 3, c, SOCKET_SENDS, random.Random(3)),
            send_with_kills(server, widget, 5, c, SOCKET_SENDS, random.Random(5)),
            rest_sender(),
        )
        stop.set()
        return {user: await task for user, task in receivers.items()}

    received = asyncio.run(scenario())

    expected = {a: SOCKET_SENDS + REST_SENDS, b: SOCKET_SENDS, c: 2 * SOCKET_SENDS}
    for room, total in expected.items():
        stored = widget.listed("get_messages", room_id=str(room), limit="500")
        assert [m["seq"] for m in stored] == list(range(1, total + 1)), f"room {room} stored"
    for user, rooms in ((2, [a, b]), (4, [a, c])):
        state = received[user]
        assert state.problems == [], f"user {user}"
        for room in rooms:
            assert state.seqs[room] == list(range(1, expected[room] + 1)), (
                f"user {user} room {room}"
            )
        assert state.reconnects >= 3, "the test must really cut connections"


def test_a_resume_frame_mid_session_replays_only_what_this_socket_lacks(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_type=1)
    for i in range(1, 4):
        widget.send(1, room, f"before {i}")  # seq 1-3, missed while away

    async def scenario() -> None:
        bob = await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(2))
        assert bob.room(room)["last_seq"] == 3
        widget.send(1, room, "live 4")
        live = await bob.next("message", room_id=room)
        await bob.send_frame({"type": "resume", "rooms": {str(room): 1}})
        resumed = await bob.next("resumed")
        replayed = [f["message"]["seq"] for f in bob.frames if f["type"] == "message"]
        bob.frames[:] = [f for f in bob.frames if f["type"] != "message"]
        widget.send(1, room, "live 5")
        after = await bob.next("message", room_id=room)

        assert live["message"]["seq"] == 4
        assert replayed == [2, 3]  # seq 4 was delivered live already
        assert resumed["rooms"] == {str(room): 4}
        assert resumed["truncated"] == []
        assert after["message"]["seq"] == 5
        await bob.close()

    asyncio.run(scenario())


def test_resuming_a_room_of_someone_else_is_refused(server, widgets) -> None:
    widget = widgets()
    mine = widget.room([2])
    theirs = widget.room([1])
    widget.send(1, theirs, "private")

    async def scenario() -> None:
        bob = await ChatClient.connect(
            server.ws_url, widget.imba_id, widget.token(2), resume={theirs: 0, mine: 0}
        )
        error = await bob.next("error")
        resumed = await bob.next("resumed")
        assert (error["code"], error["ref"]) == (403, "resume")
        assert resumed["rooms"] == {str(mine): 0}
        assert all(f["type"] != "message" for f in bob.frames)
        await bob.close()

    asyncio.run(scenario())


def test_a_gap_of_1200_messages_is_replayed_whole_even_to_a_small_queue(
    start_server, widgets
) -> None:
    server = start_server(ws_max_queue=20)
    widget = widgets()
    room = widget.room([1, 2], room_type=1)
    widget.store_many(room, 1, 1200)

    async def scenario() -> None:
        at_connect = await ChatClient.connect(
            server.ws_url, widget.imba_id, widget.token(2), resume={room: 0}
        )
        resumed = await at_connect.next("resumed", timeout=30)
        seqs = [f["message"]["seq"] for f in at_connect.frames if f["type"] == "message"]
        assert seqs == list(range(1, 1201))
        assert (resumed["rooms"], resumed["truncated"]) == ({str(room): 1200}, [])
        await at_connect.close()

        mid_session = await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(2))
        await mid_session.send_frame({"type": "resume", "rooms": {str(room): 100}})
        await mid_session.next("resumed", timeout=30)
        seqs = [f["message"]["seq"] for f in mid_session.frames if f["type"] == "message"]
        assert seqs == list(range(101, 1201))
        assert mid_session.ws.close_code is None
        await mid_session.close()

    asyncio.run(scenario())


def test_history_says_when_older_messages_exist_at_the_page_cap(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2])
    widget.store_many(room, 1, 201)

    async def scenario() -> None:
        bob = await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(2))
        await bob.send_frame({"type": "history", "room_id": room, "limit": 500})
        page = await bob.next("history")
        assert [m["seq"] for m in page["messages"]] == list(range(2, 202))
        assert page["has_more"] is True
        await bob.close()

    asyncio.run(scenario())


def test_a_client_id_reused_in_another_room_is_a_conflict(server, widgets) -> None:
    widget = widgets()
    first, second = widget.room([1]), widget.room([1])

    async def scenario() -> None:
        alice = await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(1))
        await alice.send(first, "here", client_id="k1")
        await alice.send_frame(
            {"type": "send", "room_id": second, "text": "there", "client_id": "k1"}
        )
        error = await alice.next("error")
        assert (error["code"], error["ref"]) == (409, "k1")
        await alice.close()

    asyncio.run(scenario())
