"""Technical support: a visitor opens their support room (type 3) with the widget's
operators (users with status ``admin``); operators and the room's admin close it,
and opening it again reopens the same room."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import TestWidget
from tests.realtime.client import answer_code, connect, live, settled

OPERATOR, VISITOR, BYSTANDER = 9, 5, 7


def with_operator(widgets) -> TestWidget:
    """A widget whose user 9 is a support operator."""
    widget = widgets()
    widget.room([OPERATOR, 1], room_type=1)  # the operator is a known user
    widget.set_user(OPERATOR, status="admin")
    return widget


def support_room(widget: TestWidget, room: int) -> dict[str, Any]:
    [found] = widget.listed("get_rooms", room_id=str(room))
    return found


def owner(widget: TestWidget, method: str, path: str, **kw: Any) -> httpx.Response:
    kw.setdefault("auth", widget.basic)
    return widget.http.request(method, f"/api/v1/{widget.imba_id}/{path}", **kw)


def test_a_visitor_opens_support_with_the_operators(server, widgets) -> None:
    widget = with_operator(widgets)

    async def scenario() -> None:
        operator = await connect(server, widget, OPERATOR)
        visitor = await connect(server, widget, VISITOR)

        await visitor.send_frame({"type": "open_support"})
        opened = (await visitor.next("room", action="opened"))["room"]
        assert opened["type"] == 3
        assert opened["status"] == 0
        assert {m["user_id"] for m in opened["members"]} == {VISITOR, OPERATOR}

        created = await operator.next("room", action="created")
        assert created["room"]["id"] == opened["id"]
        assert created["room"]["type"] == 3

        # Both follow the room live.
        asked = await visitor.send(opened["id"], "my widget is broken")
        got = await operator.next("message", room_id=opened["id"])
        assert got["message"]["id"] == asked["id"]
        await operator.send(opened["id"], "on it")
        assert (await visitor.next("message", room_id=opened["id"]))["message"]["user_id"] == (
            OPERATOR
        )
        for client in (operator, visitor):
            await client.close()

    live(scenario)
    [room] = widget.listed("get_rooms", room_type="3")
    assert room["count_users"] == 2


def test_opening_support_again_returns_the_same_room(server, widgets) -> None:
    widget = with_operator(widgets)

    async def scenario() -> None:
        visitor = await connect(server, widget, VISITOR)
        await visitor.send_frame({"type": "open_support"})
        first = (await visitor.next("room", action="opened"))["room"]
        await visitor.send_frame({"type": "open_support"})
        again = (await visitor.next("room", action="opened"))["room"]
        assert again["id"] == first["id"]
        assert again["count_users"] == 2
        await visitor.close()

        # Also from another socket of the same visitor, after reconnecting.
        later = await connect(server, widget, VISITOR)
        assert [r["id"] for r in later.ready["rooms"]] == [first["id"]]
        await later.send_frame({"type": "open_support"})
        assert (await later.next("room", action="opened"))["room"]["id"] == first["id"]
        await later.close()

    live(scenario)
    assert len(widget.listed("get_rooms", room_type="3")) == 1


def test_an_operator_closes_the_request_and_the_visitor_can_reopen_it(server, widgets) -> None:
    widget = with_operator(widgets)

    async def scenario() -> None:
        operator = await connect(server, widget, OPERATOR)
        visitor = await connect(server, widget, VISITOR)
        await visitor.send_frame({"type": "open_support"})
        room = (await visitor.next("room", action="opened"))["room"]["id"]
        await operator.next("room", action="created")

        await operator.send_frame({"type": "close_room", "room_id": room})
        for client in (visitor, operator):
            closed = await client.next("room", action="closed")
            assert closed["room"]["id"] == room
            assert closed["room"]["status"] == 1
        assert operator.taken_none("error")

        code = await answer_code(
            visitor, {"type": "send", "room_id": room, "text": "one more thing", "client_id": "v1"}
        )
        assert code == 403
        assert support_room(widget, room)["status"] == 1

        await visitor.send_frame({"type": "open_support"})
        reopened = (await visitor.next("room", action="opened"))["room"]
        assert (reopened["id"], reopened["status"]) == (room, 0)
        told = (await operator.next("room", action="reopened"))["room"]
        assert (told["id"], told["status"]) == (room, 0)
        sent = await visitor.send(room, "one more thing")
        assert (await operator.next("message", room_id=room))["message"]["id"] == sent["id"]
        for client in (operator, visitor):
            await client.close()

    live(scenario)
    assert len(widget.listed("get_rooms", room_type="3")) == 1


def test_a_plain_member_may_not_close_someone_elses_support_room(server, widgets) -> None:
    widget = with_operator(widgets)

    async def scenario() -> None:
        visitor = await connect(server, widget, VISITOR)
        await visitor.send_frame({"type": "open_support"})
        room = (await visitor.next("room", action="opened"))["room"]["id"]
        # A plain member of the visitor's room (added by the site), and someone outside it.
        widget.imba_rooms(room_id=room, users_ids=[BYSTANDER])
        member = await connect(server, widget, BYSTANDER)
        outsider = await connect(server, widget, 8)

        for client in (member, outsider):
            code = await answer_code(client, {"type": "close_room", "room_id": room})
            assert code == 403
        assert support_room(widget, room)["status"] == 0
        await visitor.send(room, "still open")
        for client in (visitor, member, outsider):
            await client.close()

    live(scenario)


def test_the_owner_closes_a_support_room_over_rest(server, widgets) -> None:
    widget = with_operator(widgets)

    async def scenario() -> None:
        visitor = await connect(server, widget, VISITOR)
        await visitor.send_frame({"type": "open_support"})
        room = (await visitor.next("room", action="opened"))["room"]["id"]

        closed = owner(widget, "POST", f"rooms/{room}/close")
        assert closed.status_code == 200, closed.text
        assert closed.json()["data"]["status"] == 1
        assert (await visitor.next("room", action="closed"))["room"]["id"] == room
        refused = widget.post("send_msg", {"user_id": VISITOR, "room_id": room, "message": "hi"})
        assert refused.status_code == 403, refused.text
        await visitor.close()

    live(scenario)


def test_a_banned_visitor_cannot_open_support(server, widgets) -> None:
    widget = with_operator(widgets)
    widget.room([VISITOR, 1], room_type=1)
    assert owner(widget, "POST", f"users/{VISITOR}/ban").status_code == 200

    async def scenario() -> None:
        visitor = await connect(server, widget, VISITOR)
        assert await answer_code(visitor, {"type": "open_support"}) == 403
        await visitor.close()

    live(scenario)
    assert widget.listed("get_rooms", room_type="3") == []


def test_a_visitor_banned_while_connected_cannot_open_support(server, widgets) -> None:
    widget = with_operator(widgets)
    widget.room([VISITOR, 1], room_type=1)

    async def scenario() -> None:
        visitor = await connect(server, widget, VISITOR)
        assert owner(widget, "POST", f"users/{VISITOR}/ban").status_code == 200
        await visitor.next("moderation", user_id=VISITOR)
        assert await answer_code(visitor, {"type": "open_support"}) == 403
        await visitor.close()

    live(scenario)
    assert widget.listed("get_rooms", room_type="3") == []


def test_a_user_made_operator_while_connected_closes_requests(server, widgets) -> None:
    widget = widgets()
    widget.room([OPERATOR, 1], room_type=1)

    async def scenario() -> None:
        operator = await connect(server, widget, OPERATOR)
        widget.set_user(OPERATOR, status="admin")  # the site made them an operator
        visitor = await connect(server, widget, VISITOR)
        await visitor.send_frame({"type": "open_support"})
        room = (await visitor.next("room", action="opened"))["room"]["id"]
        assert (await operator.next("room", action="created"))["room"]["id"] == room

        assert await answer_code(operator, {"type": "close_room", "room_id": room}) is None
        assert (await visitor.next("room", action="closed"))["room"]["id"] == room
        for client in (operator, visitor):
            await client.close()

    live(scenario)


def test_each_visitor_gets_their_own_support_room(server, widgets) -> None:
    widget = with_operator(widgets)

    async def scenario() -> None:
        operator = await connect(server, widget, OPERATOR)
        first, second = await connect(server, widget, VISITOR), await connect(server, widget, 6)
        rooms = []
        for visitor in (first, second):
            await visitor.send_frame({"type": "open_support"})
            rooms.append((await visitor.next("room", action="opened"))["room"]["id"])
            assert (await operator.next("room", action="created"))["room"]["id"] == rooms[-1]
        assert rooms[0] != rooms[1]

        await first.send(rooms[0], "private question")
        assert (await operator.next("message", room_id=rooms[0]))["message"]["user_id"] == VISITOR
        await settled(second)
        assert second.taken_none("message")
        for client in (operator, first, second):
            await client.close()

    live(scenario)
    assert len(widget.listed("get_rooms", room_type="3")) == 2
