"""Mentions: a message names members; they see it marked, count it apart from
other unread messages, and are told of it even in a room they muted."""

from __future__ import annotations

import asyncio

from tests.realtime.client import answer_code, connect


def test_a_mention_is_stored_counted_and_cleared_by_reading(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2, 3])
    widget.room([4])  # someone of the widget, not in the room

    async def scenario() -> None:
        ann = await connect(server, widget, 1)
        sent = await ann.send(room, "@Bo and @Di, look", mentions=[2, 4, 1, 2])
        assert sent["mentions"] == [2]  # only members, never the author, once each
        widget.send(1, room, "@Cy too", **{"mentions[0]": "3"})
        await ann.send(room, "no one named")

        bo = await connect(server, widget, 2)
        assert (bo.room(room)["mentions"], bo.room(room)["unread"]) == (1, 3)
        cy = await connect(server, widget, 3)
        assert cy.room(room)["mentions"] == 1
        await bo.send_frame({"type": "history", "room_id": room})
        shown = (await bo.next("history"))["messages"]
        assert [m["mentions"] for m in shown] == [[2], [3], []]

        await bo.send_frame({"type": "read", "room_id": room, "seq": 1})
        await bo.next("read", user_id=2)
        assert (await connect(server, widget, 2)).room(room)["mentions"] == 0
        assert await answer_code(ann, {"type": "send", "room_id": room, "text": "x",
                                       "client_id": "m1", "mentions": ["bo"]}) == 422  # fmt: skip
        too_many = {"type": "send", "room_id": room, "text": "x", "client_id": "m2"}
        assert await answer_code(ann, too_many | {"mentions": list(range(1, 52))}) == 413
        for client in (ann, bo, cy):
            await client.close()

    asyncio.run(scenario())
