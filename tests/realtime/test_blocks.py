"""Blocking: a user stops another from writing to them in dialogs; the blocked one
learns nothing beyond a refused send, and the blocker can change their mind."""

from __future__ import annotations

import asyncio

from tests.realtime.client import answer_code, connect, settled


async def dialog_of(client, other: int) -> int:
    await client.send_frame({"type": "open_dialog", "user_id": other})
    return int((await client.next("room", action="opened"))["room"]["id"])


def test_a_blocked_user_cannot_write_to_the_blocker_until_unblocked(server, widgets) -> None:
    widget = widgets()
    conference = widget.room([1, 2], room_type=1)

    async def scenario() -> None:
        ann, ann_phone, bo = [await connect(server, widget, user) for user in (1, 1, 2)]
        dialog = await dialog_of(ann, 2)
        await bo.next("room", action="created")
        await bo.send(dialog, "hi Ann")

        await ann.send_frame({"type": "block_user", "user_id": 2})
        for tab in (ann, ann_phone):
            assert await tab.next("blocked") == {"type": "blocked", "user_id": 2, "blocked": True}
        send = {"type": "send", "room_id": dialog, "text": "hello?", "client_id": "b1"}
        await bo.send_frame(send)
        refused = await bo.next("error", ref="b1")
        assert (refused["code"], refused["message"]) == (
            403,
            "You cannot send messages to this user.",
        )
        assert bo.taken_none("blocked")  # told nothing else
        mine = {"type": "send", "room_id": dialog, "text": "x", "client_id": "a1"}
        await ann.send_frame(mine)
        assert (await ann.next("error", ref="a1"))["message"].startswith("You blocked this user")
        rest = widget.post("send_msg", {"user_id": 2, "room_id": dialog, "message": "via site"})
        assert rest.status_code == 403
        await bo.send(conference, "conferences are not dialogs")  # not affected

        again = await connect(server, widget, 1)
        assert again.ready["blocked"] == [2]
        await again.send_frame({"type": "blocked_users"})
        listed = await again.next("blocked_users")
        assert listed["users"] == [{"user_id": 2, "name": "User 2", "avatar_url": None}]
        assert listed["next"] is None

        await ann.send_frame({"type": "unblock_user", "user_id": 2})
        assert (await ann_phone.next("blocked"))["blocked"] is False
        await bo.send(dialog, "friends again")
        for client in (ann, ann_phone, bo, again):
            await client.close()

    asyncio.run(scenario())


def test_the_blocked_list_is_paginated_and_bad_targets_are_refused(server, widgets) -> None:
    widget = widgets()
    widget.room([1, *range(100, 160)])  # 60 people Ann knows

    async def scenario() -> None:
        ann = await connect(server, widget, 1)
        for user in range(100, 160):
            await ann.send_frame({"type": "block_user", "user_id": user})
        await settled(ann)
        seen: list[int] = []
        after = None
        while True:
            frame = {"type": "blocked_users"} | ({"after": after} if after else {})
            await ann.send_frame(frame)
            page = await ann.next("blocked_users")
            seen += [person["user_id"] for person in page["users"]]
            after = page["next"]
            if after is None:
                break
        assert sorted(seen) == list(range(100, 160)) and len(seen) == 60
        assert await answer_code(ann, {"type": "block_user", "user_id": 1}) == 422
        assert await answer_code(ann, {"type": "block_user", "user_id": 999_999}) == 404
        assert await answer_code(ann, {"type": "block_user", "user_id": "x"}) == 422
        await ann.close()

    asyncio.run(scenario())
