"""The ``search`` frame and ``history`` around a seq, over a real socket: the
answers' exact shapes, pages, and the errors of frames that cannot be served."""

from __future__ import annotations

from tests.realtime.client import connect, live

MESSAGE_KEYS = [
    "id",
    "uuid",
    "message",
    "time",
    "answer_to",
    "liked",
    "seq",
    "user_id",
    "author_id",
    "user_name",
    "is_bot",
    "room_id",
    "room_type",
    "imba_id",
    "client_id",
    "created_at",
    "edited_at",
    "deleted_at",
    "attachments",
    "reactions",
    "mentions",
    "call",
]


def test_search_answers_with_ranked_results_and_their_rooms(server, widgets) -> None:
    widget = widgets()
    team = widget.room([1, 2], room_type=1, room_title="Team")
    private = widget.room([2, 3], room_type=1)
    widget.send(2, team, "Привет всем! Завтра созвон в десять")
    widget.send(2, team, "the standup moves to ten")
    widget.send(3, private, "привет, это не для Алисы")

    async def scenario() -> None:
        alice = await connect(server, widget, 1)
        await alice.send_frame({"type": "search", "text": "ПРИВЕТ"})
        answer = await alice.next("search_results")
        assert list(answer) == ["type", "text", "room_id", "results", "next"]
        assert (answer["text"], answer["room_id"], answer["next"]) == ("ПРИВЕТ", None, None)
        [result] = answer["results"]
        assert list(result) == ["message", "room"]
        assert list(result["message"]) == MESSAGE_KEYS
        assert result["message"]["message"] == "Привет всем! Завтра созвон в десять"
        assert result["room"] == {"id": team, "name": "Team", "type": 1}

        await alice.send_frame({"type": "search", "text": "standup", "room_id": team})
        answer = await alice.next("search_results")
        assert answer["room_id"] == team
        assert [r["message"]["message"] for r in answer["results"]] == ["the standup moves to ten"]
        await alice.close()

    live(scenario)


def test_search_pages_follow_next_as_before(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_type=1)
    sent = [widget.send(2, room, f"release note {i}")["id"] for i in range(5)]

    async def scenario() -> None:
        alice = await connect(server, widget, 1)
        seen: list[int] = []
        cursor = None
        for _ in range(3):
            frame = {"type": "search", "text": "release", "limit": "2"}
            if cursor is not None:
                frame["before"] = cursor
            await alice.send_frame(frame)
            answer = await alice.next("search_results")
            seen += [r["message"]["id"] for r in answer["results"]]
            cursor = answer["next"]
            assert (cursor is None) == (len(seen) == 5)
        assert seen == sent[::-1]
        await alice.close()

    live(scenario)


def test_search_frames_that_cannot_be_served_get_errors(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_type=1)
    others = widget.room([2, 3], room_type=1)
    widget.send(2, room, "hello")

    async def scenario() -> None:
        alice = await connect(server, widget, 1)
        cases = [
            ({"type": "search"}, 422),
            ({"type": "search", "text": ""}, 422),
            ({"type": "search", "text": "   "}, 422),
            ({"type": "search", "text": "x" * 201}, 413),
            ({"type": "search", "text": 5}, 422),
            ({"type": "search", "text": "hello", "before": "not a cursor"}, 422),
            ({"type": "search", "text": "hello", "before": 7}, 422),
            ({"type": "search", "text": "hello", "room_id": others}, 403),
            ({"type": "search", "text": "hello", "room_id": 10**15}, 404),
        ]
        for frame, code in cases:
            await alice.send_frame(frame)
            error = await alice.next("error")
            assert (error["code"], error["ref"]) == (code, "search"), (frame, error)
        for hostile in ['"', "NEAR(", "*", "-", "a OR", "🙂"]:
            await alice.send_frame({"type": "search", "text": hostile})
            assert (await alice.next("search_results"))["results"] == []
        await alice.close()

    live(scenario)


def test_history_around_a_seq_is_centred_and_says_what_lies_beyond(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_type=1)
    widget.store_many(room, 2, 30, text="line {i}")

    async def scenario() -> None:
        alice = await connect(server, widget, 1)
        await alice.send_frame({"type": "history", "room_id": room, "around_seq": 15, "limit": 5})
        page = await alice.next("history")
        assert list(page) == ["type", "room_id", "messages", "has_more", "has_newer", "around_seq"]
        assert [m["seq"] for m in page["messages"]] == [13, 14, 15, 16, 17]
        assert (page["has_more"], page["has_newer"], page["around_seq"]) == (True, True, 15)

        await alice.send_frame({"type": "history", "room_id": room, "around_seq": 29})
        page = await alice.next("history")
        assert [m["seq"] for m in page["messages"]] == list(range(1, 31))
        assert (page["has_more"], page["has_newer"]) == (False, False)

        # Without around_seq, the answer keeps its shape.
        await alice.send_frame({"type": "history", "room_id": room, "limit": 3})
        page = await alice.next("history")
        assert list(page) == ["type", "room_id", "messages", "has_more"]
        assert [m["seq"] for m in page["messages"]] == [28, 29, 30]

        await alice.send_frame(
            {"type": "history", "room_id": room, "around_seq": 5, "before_seq": 9}
        )
        assert (await alice.next("error"))["code"] == 422
        await alice.close()

        stranger = await connect(server, widget, 3)
        await stranger.send_frame({"type": "history", "room_id": room, "around_seq": 5})
        assert (await stranger.next("error"))["code"] == 403
        await stranger.close()

    live(scenario)
