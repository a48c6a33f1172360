"""SPEC §6: POST /imbachat/v2/{imba_id}/send_msg stores a message as a user."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor


def test_the_answer_has_the_documented_shape(widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2])

    response = widget.post(
        "send_msg", {"user_id": "1", "room_id": str(room), "message": "api message"}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    message = body["message"]
    assert message["message"] == "api message"
    assert re.fullmatch(rf"{room}-\d{{10}}-[A-Za-z0-9]{{6}}", message["uuid"])
    assert message["time"].isdigit()
    assert message["uuid"].split("-")[1] == message["time"]
    assert message["answer_to"] == 0
    assert message["liked"] == "0"
    assert (message["user_id"], message["room_id"], message["seq"]) == (1, room, 1)


def test_seq_is_gap_free_per_room_and_counters_follow(widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2])
    other = widget.room([1, 2])

    seqs = [widget.send(1, room, f"m{i}")["seq"] for i in range(3)]
    other_seq = widget.send(2, other, "x")["seq"]

    [listed] = widget.listed("get_rooms", room_id=str(room))
    assert seqs == [1, 2, 3]
    assert other_seq == 1
    assert listed["last_seq"] == 3
    assert listed["last_message_date"] is not None


def test_concurrent_sends_get_distinct_consecutive_seqs(widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2, 3])

    with ThreadPoolExecutor(max_workers=8) as pool:
        sent = list(pool.map(lambda i: widget.send(1 + i % 3, room, f"m{i}"), range(40)))

    assert sorted(m["seq"] for m in sent) == list(range(1, 41))
    stored = widget.listed("get_messages", room_id=str(room), limit="100")
    assert sorted(m["seq"] for m in stored) == list(range(1, 41))
    assert widget.listed("get_rooms", room_id=str(room))[0]["last_seq"] == 40


def test_a_reply_points_to_a_message_of_the_same_room(widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2])
    question = widget.send(1, room, "question?")

    answer = widget.send(2, room, "answer", answer_to=question["id"])

    assert answer["answer_to"] == question["id"]


def test_resending_a_client_id_returns_the_same_message(widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2])

    first = widget.send(1, room, "once", client_id="c-1")
    again = widget.send(1, room, "once", client_id="c-1")

    assert again == first
    assert len(widget.listed("get_messages", room_id=str(room))) == 1


def test_text_is_stored_as_sent_including_markup_and_newlines(widgets) -> None:
    widget = widgets()
    room = widget.room([1])
    text = '<script>alert("x")</script>\nsecond line "quoted"'

    sent = widget.send(1, room, text)

    assert sent["message"] == text
    assert widget.listed("get_messages", id=str(sent["id"]))[0]["message"] == text


def test_a_message_of_exactly_ten_thousand_characters_is_accepted(widgets) -> None:
    widget = widgets()
    room = widget.room([1])

    sent = widget.send(1, room, "é" * 10_000)

    assert len(sent["message"]) == 10_000
