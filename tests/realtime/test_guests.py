"""Guests over HTTP and the socket, as the widget uses them: started from another
origin, chatting with operators, kept out of everything else, and handed over to
their account when they log in."""

from __future__ import annotations

import httpx

from tests.factories import TestWidget
from tests.realtime.client import ChatClient, answer_code, live


def start_guest(widget: TestWidget, **fields) -> httpx.Response:
    return widget.http.post(
        f"/imbachat/v1/{widget.imba_id}/guests",
        data=fields,
        headers={"Origin": "https://shop.example"},
    )


def test_a_visitor_from_another_origin_gets_a_guest_token(widgets) -> None:
    widget = widgets()

    started = start_guest(widget, name="Ann", email="ann@example.com", page="https://shop.example/")
    preflight = widget.http.options(
        f"/imbachat/v1/{widget.imba_id}/guests",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
    )
    refused = start_guest(widget, email="nope")

    assert started.status_code == 201, started.text
    guest = started.json()["data"]
    assert guest["user_id"] < 0 and guest["name"] == "Ann" and guest["token"]
    for answer in (started, preflight, refused):
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert refused.status_code == 422 and "email" in refused.json()["errors"]
    [listed] = widget.listed("get_users", status="guest")
    assert (listed["remote_user_id"], listed["status"]) == (str(guest["user_id"]), "guest")


def test_guests_can_be_switched_off_per_widget(widgets) -> None:
    widget = widgets()
    off = widget.http.put(
        f"/api/v1/{widget.imba_id}/settings", data={"guests": "0"}, auth=widget.basic
    )

    assert off.status_code == 200 and off.json()["data"]["guests"] is False
    refused = start_guest(widget)
    assert refused.status_code == 403 and refused.headers["Access-Control-Allow-Origin"] == "*"


def test_a_guest_talks_to_operators_who_see_who_they_are(server, widgets) -> None:
    widget = widgets()
    widget.room([1, 2], room_type=1)  # the operator, known to the widget
    widget.set_user(1, status="admin")
    guest = start_guest(widget, page="https://shop.example/shoes").json()["data"]

    async def scenario() -> None:
        operator = await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(1))
        visitor = await ChatClient.connect(server.ws_url, widget.imba_id, guest["token"])
        assert visitor.ready["user"]["status"] == "guest"
        assert visitor.ready["rooms"] == []
        await visitor.send_frame(
            {"type": "open_support", "name": "Ann", "email": "ann@example.com"}
        )
        opened = (await visitor.next("room", action="opened"))["room"]
        await visitor.send(opened["id"], "Do you ship to Spain?")
        created = (await operator.next("room", action="created"))["room"]
        [them] = [m for m in created["members"] if m["status"] == "guest"]
        assert (them["user_id"], them["name"]) == (guest["user_id"], "Ann")
        assert them["guest"] == {"email": "ann@example.com", "page": "https://shop.example/shoes"}
        message = await operator.next("message", room_id=opened["id"])
        assert message["message"]["user_id"] == guest["user_id"]
        await operator.send(opened["id"], "We do!")
        assert (await visitor.next("message"))["message"]["message"] == "We do!"
        # Operators moderate guests like anyone: a ban by their (negative) id.
        frame = {"type": "moderate", "action": "ban", "room_id": opened["id"],
                 "user_id": guest["user_id"]}  # fmt: skip
        assert await answer_code(operator, frame) is None
        await visitor.close()
        await operator.close()

    live(scenario)


def test_a_guest_reaches_nothing_but_support_and_public_rooms(server, widgets) -> None:
    widget = widgets()
    private = widget.room([1, 2], room_type=1, room_pipe="members-only")
    widget.room([1, 2], room_type=1, room_pipe="lobby", room_is_public=1)
    guest = start_guest(widget).json()["data"]

    async def scenario() -> None:
        visitor = await ChatClient.connect(server.ws_url, widget.imba_id, guest["token"])
        for frame in (
            {"type": "open_dialog", "user_id": 1},
            {"type": "search_users", "text": "a"},
            {"type": "create_room", "title": "mine"},
            {"type": "join_room", "pipe": "members-only"},
            {"type": "join_room", "pipe": "brand-new", "is_public": 1},
            {"type": "history", "room_id": private},
            {"type": "send", "room_id": private, "text": "hi", "client_id": "g1"},
        ):
            assert await answer_code(visitor, frame) in (403, 404), frame
        assert await answer_code(visitor, {"type": "join_room", "pipe": "lobby"}) is None
        lobby = (await visitor.next("room", action="opened"))["room"]
        refused = {"type": "send", "room_id": lobby["id"], "text": "hi all", "client_id": "g2"}
        assert await answer_code(visitor, refused) == 403  # reading only, by default
        said = widget.send(1, lobby["id"], "welcome, all")
        await visitor.next("message")
        react = {"type": "react", "message_id": said["id"], "emoji": "👍"}
        assert await answer_code(visitor, react) == 403  # reacting is writing
        assert await answer_code(visitor, {"type": "block_user", "user_id": 1}) == 403
        report = {"type": "report", "message_id": said["id"], "reason": "rude"}
        assert await answer_code(visitor, report) is None  # readers may report
        await visitor.close()

    live(scenario)


def test_logging_in_hands_the_guests_conversation_to_the_account(server, widgets) -> None:
    widget = widgets()
    guest = start_guest(widget, name="Ann").json()["data"]

    async def scenario() -> None:
        visitor = await ChatClient.connect(server.ws_url, widget.imba_id, guest["token"])
        await visitor.send_frame({"type": "open_support"})
        support = (await visitor.next("room", action="opened"))["room"]
        await visitor.send(support["id"], "where is my order?")
        await visitor.close()

        url = (
            f"{server.ws_url}/imbachat/v1/{widget.imba_id}/ws"
            f"?token={widget.token(42)}&guest={guest['token']}"
        )
        member = await ChatClient.connect_url(url)
        [room] = member.ready["rooms"]
        assert (room["id"], room["pipe"]) == (support["id"], "support-42")
        assert room["last_message"]["user_id"] == 42
        await member.close()
        # The guest's token opens nothing any more.
        gone = await ChatClient.closed_code(server.ws_url, widget.imba_id, guest["token"])
        assert gone == 4001

    live(scenario)
    [converted] = [u for u in widget.listed("get_users", status="guest")]
    assert converted["deleted_at"] is not None
