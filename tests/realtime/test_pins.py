"""Pinned messages: a conference's admins keep one message above its history, for
everyone in the room."""

from __future__ import annotations

import asyncio

from tests.realtime.client import answer_code, connect


def test_an_admin_pins_a_message_everyone_sees_it_and_deleting_it_unpins(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_type=1)  # Ann (the first) is its admin
    dialog = widget.room([1, 3], room_type=0)

    async def scenario() -> None:
        ann, bo = await connect(server, widget, 1), await connect(server, widget, 2)
        rules = await ann.send(room, "House rules: be kind")
        assert ann.room(room)["pinned"] is None
        pin = {"type": "pin", "room_id": room, "message_id": rules["id"]}
        assert await answer_code(bo, pin) == 403  # members do not pin
        await ann.send_frame(pin)
        for client in (ann, bo):
            pinned = await client.next("room", action="pinned")
            assert (pinned["room_id"], pinned["message"]["id"]) == (room, rules["id"])
        later = await connect(server, widget, 2)
        assert later.room(room)["pinned"]["message"] == "House rules: be kind"

        other = await (await connect(server, widget, 3)).send(dialog, "psst")
        assert await answer_code(ann, {**pin, "message_id": other["id"]}) == 404
        in_dialog = {"type": "pin", "room_id": dialog, "message_id": other["id"]}
        assert await answer_code(ann, in_dialog) == 422

        await ann.send_frame({"type": "delete", "message_id": rules["id"]})
        unpinned = await bo.next("room", action="pinned")
        assert unpinned["message"] is None
        assert (await connect(server, widget, 2)).room(room)["pinned"] is None
        for client in (ann, bo, later):
            await client.close()

    asyncio.run(scenario())


def test_the_owner_pins_and_unpins_over_rest(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_type=1)
    sent = widget.send(1, room, "Welcome!")
    path = f"/api/v1/{widget.imba_id}/rooms/{room}/pin"

    async def scenario() -> None:
        bo = await connect(server, widget, 2)
        answer = widget.http.put(path, auth=widget.basic, data={"message_id": str(sent["id"])})
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["id"] == sent["id"]
        assert (await bo.next("room", action="pinned"))["message"]["id"] == sent["id"]
        assert widget.http.delete(path, auth=widget.basic).status_code == 200
        assert (await bo.next("room", action="pinned"))["message"] is None
        await bo.close()

    asyncio.run(scenario())
    assert widget.http.put(path, auth=widget.basic, data={}).status_code == 422
