"""Calls through a real server's sockets: the callee's tabs ring, one answers, the
signals go to the two sockets in the call only, hanging up leaves the record in the
dialog for everyone; a call not answered in time is missed; a socket that reconnects
within the grace takes its call back, one that does not ends it; frames that are not
a call's are refused, and no one else hears of a call."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from tests.realtime.client import ChatClient, answer_code, connect, settled

OFFER = {"description": {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}}
ANSWER = {"description": {"type": "answer", "sdp": "v=0\r\n"}}
CANDIDATE = {
    "candidate": {
        "candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
        "usernameFragment": None,
    }
}


async def dialog_of(client: ChatClient, other: int) -> int:
    await client.send_frame({"type": "open_dialog", "user_id": other})
    return int((await client.next("room", action="opened"))["room"]["id"])


async def call_frame(client: ChatClient, change: str) -> dict[str, Any]:
    return await client.next("call", change=change)


async def answer_to(client: ChatClient, change: str) -> dict[str, Any]:
    """The answer to the client's own call frame: the call's state with the ICE servers
    (the socket also hears the state as every socket of the parties does)."""
    while True:
        frame = await call_frame(client, change)
        if "ice_servers" in frame:
            return frame


def test_a_video_call_rings_every_tab_is_answered_on_one_and_leaves_its_record(
    server, widgets
) -> None:
    widget = widgets()

    async def scenario() -> None:
        ann, ann_tab, bo, bo_tab = [await connect(server, widget, u) for u in (1, 1, 2, 2)]
        dialog = await dialog_of(ann, 2)
        for client in (bo, bo_tab):
            await client.next("room", action="created")

        await ann.send_frame({"type": "call_invite", "room_id": dialog, "kind": "video"})
        placed = await answer_to(ann, "started")
        assert placed["here"] is True and placed["ice_servers"] == []
        call = placed["call"]
        assert {k: call[k] for k in ("room_id", "kind", "state", "caller_id", "callee_id")} == {
            "room_id": dialog, "kind": "video", "state": "ringing", "caller_id": 1,
            "callee_id": 2}  # fmt: skip
        for tab in (ann_tab, bo, bo_tab):  # every tab of both hears of it; Bo's ring
            ringing = await call_frame(tab, "started")
            assert ringing["here"] is False and ringing["call"]["id"] == call["id"]

        await bo.send_frame({"type": "call_accept", "call_id": call["id"]})
        answered = await answer_to(bo, "answered")
        assert answered["here"] is True and answered["call"]["state"] == "active"
        assert (await call_frame(ann, "answered"))["here"] is True
        assert (await call_frame(bo_tab, "answered"))["here"] is False  # stops ringing
        assert await answer_code(bo_tab, {"type": "call_accept", "call_id": call["id"]}) == 409

        # Signals: from the socket in the call to the other's socket in it, only.
        await ann.send_frame({"type": "call_signal", "call_id": call["id"], "signal": OFFER})
        got = await bo.next("call_signal")
        assert got == {"type": "call_signal", "call_id": call["id"], "user_id": 1, "signal": OFFER}
        await bo.send_frame({"type": "call_signal", "call_id": call["id"], "signal": ANSWER})
        await bo.send_frame({"type": "call_signal", "call_id": call["id"], "signal": CANDIDATE})
        assert (await ann.next("call_signal"))["signal"] == ANSWER
        assert (await ann.next("call_signal"))["signal"] == CANDIDATE
        refused = {"type": "call_signal", "call_id": call["id"], "signal": OFFER}
        assert await answer_code(ann_tab, refused) == 403  # not the tab in the call
        for tab in (ann_tab, bo_tab):
            await settled(tab)
            assert tab.taken_none("call_signal")

        await ann.send_frame({"type": "call_end", "call_id": call["id"]})
        for tab in (ann, ann_tab, bo, bo_tab):
            ended = (await call_frame(tab, "ended"))["call"]
            assert (ended["state"], ended["outcome"]) == ("ended", "completed")
            record = (await tab.next("message", room_id=dialog))["message"]
            assert record["call"] == {"kind": "video", "outcome": "completed",
                                      "duration": ended["duration"]}  # fmt: skip
            minutes, seconds = divmod(ended["duration"], 60)
            assert record["message"] == f"Video call, {minutes}:{seconds:02d}"
            assert record["user_id"] == 1
        await bo.send_frame({"type": "history", "room_id": dialog})
        [stored] = (await bo.next("history"))["messages"]
        assert stored["call"]["outcome"] == "completed"
        for client in (ann, ann_tab, bo, bo_tab):
            await client.close()

    asyncio.run(scenario())


def test_call_frames_of_strangers_and_bad_frames_are_refused(server, widgets) -> None:
    widget = widgets()

    async def scenario() -> None:
        ann, bo, eve = [await connect(server, widget, u) for u in (1, 2, 3)]
        dialog = await dialog_of(ann, 2)
        invite = {"type": "call_invite", "room_id": dialog}
        assert await answer_code(eve, invite) == 403  # not a member
        assert await answer_code(ann, invite | {"kind": "hologram"}) == 422
        await ann.send_frame(invite)  # video by default
        call = (await answer_to(ann, "started"))["call"]
        assert call["kind"] == "video"
        assert await answer_code(ann, invite) == 409  # one call at a time
        for frame in (
            {"type": "call_accept", "call_id": call["id"]},
            {"type": "call_decline", "call_id": call["id"]},
            {"type": "call_end", "call_id": call["id"]},
            {"type": "call_signal", "call_id": call["id"], "signal": OFFER},
        ):
            assert await answer_code(eve, frame) == 404, frame
        bad_signals = [
            {},
            {"description": {"type": "offer", "sdp": "x"}, "candidate": {"candidate": ""}},
            {"description": {"type": "nonsense", "sdp": "x"}},
            {"description": {"type": "offer", "sdp": "x" * 40_000}},
            {"candidate": {"candidate": 5}},
            {"candidate": {"candidate": "c", "sdpMLineIndex": "zero"}},
            {"candidate": {"candidate": "c", "sdpMid": "0" * 257}},
            {"candidate": {"candidate": "c", "usernameFragment": "u" * 257}},
            {"other": 1},
        ]
        for signal in bad_signals:
            frame = {"type": "call_signal", "call_id": call["id"], "signal": signal}
            assert await answer_code(ann, frame) in (413, 422), signal
        end = {"type": "call_end", "call_id": call["id"], "reason": "bored"}
        assert await answer_code(ann, end) == 422
        await bo.send_frame({"type": "call_decline", "call_id": call["id"]})
        assert (await call_frame(ann, "ended"))["call"]["outcome"] == "declined"
        record = (await ann.next("message", room_id=dialog))["message"]
        assert (record["message"], record["call"]["outcome"]) == ("Declined call", "declined")
        await settled(eve)
        assert eve.taken_none("call") and eve.taken_none("call_signal")
        for client in (ann, bo, eve):
            await client.close()

    asyncio.run(scenario())


def test_an_unanswered_call_is_missed_and_a_lost_socket_ends_its_call(
    start_server, widgets
) -> None:
    quick = start_server(
        call_ring_seconds=1.0,
        call_grace_seconds=1.0,
        call_check_seconds=0.2,
        ice_servers=[{"urls": "turn:turn.example.com"}],
        turn_secret="s3cret",
    )
    widget = widgets()

    async def scenario() -> None:
        ann = await connect(quick, widget, 1)
        bo = await connect(quick, widget, 2)
        dialog = await dialog_of(ann, 2)
        await ann.send_frame({"type": "call_invite", "room_id": dialog, "kind": "audio"})
        placed = await answer_to(ann, "started")
        call = placed["call"]
        [turn] = placed["ice_servers"]
        assert re.fullmatch(r"\d+:\d+", turn["username"]) and turn["credential"]

        for client in (ann, bo):
            missed = (await call_frame(client, "ended"))["call"]
            assert (missed["id"], missed["outcome"], missed["duration"]) == (
                call["id"], "missed", 0)  # fmt: skip
            record = (await client.next("message", room_id=dialog))["message"]
            assert (record["message"], record["call"]["kind"]) == ("Missed call", "audio")
        # Over: taking it back tells its state, and no TURN credentials any more.
        await ann.send_frame({"type": "call_resume", "call_id": call["id"]})
        resumed = await answer_to(ann, "resumed")
        assert (resumed["call"]["state"], resumed["ice_servers"]) == ("ended", [])

        # Answered, then Bo's socket is lost and not back within the grace: over.
        await ann.send_frame({"type": "call_invite", "room_id": dialog, "kind": "audio"})
        call = (await answer_to(ann, "started"))["call"]
        await bo.next("call", change="started")
        await bo.send_frame({"type": "call_accept", "call_id": call["id"]})
        await call_frame(ann, "answered")
        bo.kill()
        ended = (await call_frame(ann, "ended"))["call"]
        assert (ended["id"], ended["outcome"]) == (call["id"], "completed")
        await ann.close()

    asyncio.run(scenario())


def test_a_party_that_reconnects_within_the_grace_takes_the_call_back(
    start_server, widgets
) -> None:
    quick = start_server(call_grace_seconds=3.0, call_check_seconds=0.2)
    widget = widgets()

    async def scenario() -> None:
        ann = await connect(quick, widget, 1)
        bo = await connect(quick, widget, 2)
        dialog = await dialog_of(ann, 2)
        await ann.send_frame({"type": "call_invite", "room_id": dialog})
        call = (await answer_to(ann, "started"))["call"]
        await bo.next("call", change="started")
        await bo.send_frame({"type": "call_accept", "call_id": call["id"]})
        await call_frame(ann, "answered")

        bo.kill()
        await asyncio.sleep(1.0)
        bo = await connect(quick, widget, 2)
        await bo.send_frame({"type": "call_resume", "call_id": call["id"]})
        resumed = await answer_to(bo, "resumed")
        assert resumed["here"] is True and resumed["call"]["state"] == "active"
        assert (await call_frame(ann, "resumed"))["here"] is True  # the caller restarts ICE
        await ann.send_frame({"type": "call_signal", "call_id": call["id"], "signal": OFFER})
        assert (await bo.next("call_signal"))["signal"] == OFFER  # to the new socket

        await asyncio.sleep(3.5)  # longer than the grace: the new socket keeps it
        await settled(ann)
        assert ann.taken_none("call", change="ended")
        await bo.send_frame({"type": "call_end", "call_id": call["id"]})
        assert (await call_frame(ann, "ended"))["call"]["outcome"] == "completed"
        await ann.close()
        await bo.close()

    asyncio.run(scenario())
