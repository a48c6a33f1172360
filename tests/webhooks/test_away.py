"""People who are away hear of what waits for them: a message.unread notice once
per quiet period, never for what they read in time, never twice across nodes."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.realtime.client import ChatClient
from tests.webhooks.test_delivery import SECRET, add_webhook, receiver  # noqa: F401 (fixture)

DELAY = 2  # seconds a message waits unread before its member is told


@pytest.fixture
def node(start_server):
    return start_server(away_check_seconds=0.2)


def away_widget(widgets, receiver):  # noqa: F811 (the fixture, passed on)
    widget = widgets()
    changed = widget.http.put(f"/api/v1/{widget.imba_id}/settings", auth=widget.basic,
                              data={"away_notify_seconds": str(DELAY)})  # fmt: skip
    assert changed.status_code == 200, changed.text
    fake, url = receiver()
    add_webhook(widget, url, events="message.unread")
    return widget, fake


def send_on(server, widget, user: int, room: int, text: str) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        answer = http.post(
            f"/imbachat/v2/{widget.imba_id}/send_msg",
            auth=widget.basic,
            data={"user_id": str(user), "room_id": str(room), "message": text},
        )
    assert answer.status_code == 200, answer.text


def notices(fake) -> list:
    return fake.events("message.unread")


def test_three_messages_to_someone_away_give_one_notice(node, widgets, receiver) -> None:  # noqa: F811
    widget, fake = away_widget(widgets, receiver)
    room = widget.room([1, 2])
    for text in ("are you there?", "the parcel came", "call me"):
        send_on(node, widget, 1, room, text)

    deadline = time.monotonic() + DELAY + 8
    while not notices(fake):
        assert time.monotonic() < deadline, "no message.unread notice"
        time.sleep(0.1)
    time.sleep(DELAY + 1)  # nothing more for the same quiet period

    [notice] = notices(fake)
    data = notice.body["data"]
    assert notice.signed and notice.body["imba_id"] == widget.imba_id
    assert (data["user_id"], data["unread_count"], data["email"]) == (2, 3, "all")
    assert [m["message"] for m in data["messages"]] == ["are you there?", "the parcel came",
                                                        "call me"]  # fmt: skip

    send_on(node, widget, 1, room, "one more")  # a new quiet period: a new notice
    deadline = time.monotonic() + DELAY + 8
    while len(notices(fake)) < 2:
        assert time.monotonic() < deadline, "no second notice"
        time.sleep(0.1)
    assert notices(fake)[1].body["data"]["unread_count"] == 4


def test_nothing_for_what_was_read_in_time_or_a_muted_room(node, widgets, receiver) -> None:  # noqa: F811
    widget, fake = away_widget(widgets, receiver)
    read_in_time = widget.room([1, 2])
    muted = widget.room([1, 2])

    async def bo_reads_and_mutes() -> None:
        bo = await ChatClient.connect(node.ws_url, widget.imba_id, widget.token(2))
        await bo.send_frame({"type": "alerts", "room_id": muted, "muted": True})
        await bo.next("alerts")
        send_on(node, widget, 1, read_in_time, "quick question")
        send_on(node, widget, 1, muted, "noise")
        message = await bo.next("message", room_id=read_in_time)
        await bo.send_frame({"type": "read", "room_id": read_in_time,
                             "seq": message["message"]["seq"]})  # fmt: skip
        await bo.next("read", room_id=read_in_time)
        await bo.close()  # away now, with nothing unread but the muted room

    asyncio.run(bo_reads_and_mutes())
    time.sleep(DELAY + 2)
    assert notices(fake) == []


def test_someone_online_is_not_told_until_they_leave(node, widgets, receiver) -> None:  # noqa: F811
    widget, fake = away_widget(widgets, receiver)
    room = widget.room([1, 2])

    async def bo_stays() -> None:
        bo = await ChatClient.connect(node.ws_url, widget.imba_id, widget.token(2))
        send_on(node, widget, 1, room, "see this?")
        await asyncio.sleep(DELAY + 1.5)
        assert notices(fake) == []  # the tab is open: the widget tells them itself
        await bo.close()

    asyncio.run(bo_stays())
    deadline = time.monotonic() + 10
    while not notices(fake):
        assert time.monotonic() < deadline, "no notice after leaving"
        time.sleep(0.1)


def test_two_nodes_send_one_notice(start_server, widgets, receiver) -> None:  # noqa: F811
    first = start_server(away_check_seconds=0.05)
    second = start_server(away_check_seconds=0.05)
    widget, fake = away_widget(widgets, receiver)
    rooms = [widget.room([1, 2]) for _ in range(3)]
    for index, room in enumerate(rooms):
        send_on(first if index % 2 else second, widget, 1, room, f"hello {index}")

    deadline = time.monotonic() + DELAY + 8
    while not notices(fake):
        assert time.monotonic() < deadline, "no notice"
        time.sleep(0.1)
    time.sleep(2)
    assert len(notices(fake)) == 1
    assert notices(fake)[0].body["data"]["unread_count"] == 3
