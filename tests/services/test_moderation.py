"""Moderation: the widget owner's REST API (bans, mutes, removals, deleting messages,
the word blocklist, bots and the send rate limit) and room staff over the WebSocket,
as the permission table of ``imbachat.services.moderation`` says."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import TestWidget, WidgetFactory
from tests.realtime.client import ChatClient, answer_code, connect, handled, live, settled

# ---- helpers ------------------------------------------------------------------


def owner(widget: TestWidget, method: str, path: str, **kw: Any) -> httpx.Response:
    """Call the owner's moderation API (``/api/v1/{imba_id}/…``) with HTTP Basic."""
    kw.setdefault("auth", widget.basic)
    return widget.http.request(method, f"/api/v1/{widget.imba_id}/{path}", **kw)


def try_send(widget: TestWidget, user: int, room: int, text: str) -> httpx.Response:
    return widget.post("send_msg", {"user_id": user, "room_id": room, "message": text})


def banned_user_ids(widget: TestWidget) -> list[int]:
    return [int(u["remote_user_id"]) for u in widget.listed("get_users", banned="1")]


def room_of(widget: TestWidget, room: int) -> dict[str, Any]:
    [found] = widget.listed("get_rooms", room_id=str(room))
    return found


def message_ids(widget: TestWidget, room: int) -> list[int]:
    return [m["id"] for m in widget.listed("get_messages", room_id=str(room))]


async def refused(client: ChatClient, frame: dict[str, Any]) -> dict[str, Any]:
    """Send a frame that must be refused; returns its error frame."""
    await client.send_frame(frame)
    await handled(client, frame)
    ref = frame.get("client_id", frame["type"])
    assert not client.taken_none("error", ref=ref), (
        f"{frame} was accepted; frames since: {[f['type'] for f in client.frames]}"
    )
    return await client.next("error", ref=ref)


# ---- widget-wide bans -----------------------------------------------------------


def test_a_widget_ban_stops_the_user_everywhere_until_lifted(widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_type=1)
    other = widget.room([2, 3], room_type=1)

    banned = owner(widget, "POST", "users/2/ban")
    assert banned.status_code == 200, banned.text
    assert banned.json()["data"] == {"action": "ban", "user_id": 2, "room_id": None}

    for where in (room, other):
        refused_send = try_send(widget, 2, where, "still here?")
        assert refused_send.status_code == 403, refused_send.text
        assert "user_id" in refused_send.json()["errors"]
    assert try_send(widget, 1, room, "others still talk").status_code == 200
    assert banned_user_ids(widget) == [2]
    assert 2 not in [int(u["remote_user_id"]) for u in widget.listed("get_users", banned="0")]

    lifted = owner(widget, "POST", "users/2/unban")
    assert lifted.status_code == 200, lifted.text
    assert widget.send(2, room, "back again")["message"] == "back again"
    assert banned_user_ids(widget) == []


def test_banning_needs_the_widgets_own_credentials(widgets) -> None:
    widget, stranger = widgets(), widgets()
    widget.room([1, 2])

    assert owner(widget, "POST", "users/2/ban", auth=None).status_code == 401
    assert owner(widget, "POST", "users/2/ban", auth=stranger.basic).status_code == 401
    assert (
        owner(widget, "POST", "users/2/ban", auth=(str(widget.imba_id), "wrong")).status_code == 401
    )
    assert owner(widget, "POST", "users/99/ban").status_code == 404  # no such user
    assert banned_user_ids(widget) == []


# ---- room bans ------------------------------------------------------------------


def test_a_room_ban_applies_to_that_room_only(widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_type=1)
    elsewhere = widget.room([1, 2], room_type=1)

    banned = owner(widget, "POST", "users/2/ban", data={"room_id": room})
    assert banned.status_code == 200, banned.text
    assert banned.json()["data"] == {"action": "ban", "user_id": 2, "room_id": room}

    in_room = try_send(widget, 2, room, "hello?")
    assert in_room.status_code == 403, in_room.text
    assert "room_id" in in_room.json()["errors"]
    assert widget.send(2, elsewhere, "fine here")["room_id"] == elsewhere
    assert [r["id"] for r in widget.listed("get_rooms", banned="1")] == [room]
    assert banned_user_ids(widget) == []  # not a widget-wide ban

    lifted = owner(widget, "POST", "users/2/unban", data={"room_id": room})
    assert lifted.status_code == 200, lifted.text
    assert widget.send(2, room, "unbanned")["room_id"] == room
    assert widget.listed("get_rooms", banned="1") == []


# ---- mutes ----------------------------------------------------------------------


def test_a_mute_silences_a_member_until_it_is_lifted(widgets) -> None:
    """(That a mute ends on time is specified in-process, with a manual clock, in
    test_moderation_rules.py.)"""
    widget = widgets()
    room = widget.room([1, 2], room_type=1)

    muted = owner(widget, "POST", f"rooms/{room}/members/2/mute", data={"seconds": "60"})
    assert muted.status_code == 200, muted.text

    silenced = try_send(widget, 2, room, "can you hear me?")
    assert silenced.status_code == 403, silenced.text
    assert "muted" in silenced.json()["message"]
    assert try_send(widget, 1, room, "the others can").status_code == 200

    lifted = owner(widget, "DELETE", f"rooms/{room}/members/2/mute")
    assert lifted.status_code == 200, lifted.text
    assert lifted.json()["data"] == {"action": "unmute", "user_id": 2, "room_id": room}
    assert widget.send(2, room, "and now?")["message"] == "and now?"


def test_a_mute_needs_a_sensible_duration(widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_type=1)

    assert owner(widget, "POST", f"rooms/{room}/members/2/mute").status_code == 422
    zero = owner(widget, "POST", f"rooms/{room}/members/2/mute", data={"seconds": "0"})
    assert zero.status_code == 422
    assert widget.send(2, room, "never muted")["message"] == "never muted"


# ---- removing members -------------------------------------------------------------


def test_a_removed_member_leaves_the_room_and_its_live_stream(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2, 3], room_type=1)
    assert room_of(widget, room)["count_users"] == 3

    async def scenario() -> None:
        alice, bob, carol = [await connect(server, widget, u) for u in (1, 2, 3)]

        removed = owner(widget, "DELETE", f"rooms/{room}/members/3")
        assert removed.status_code == 200, removed.text

        told = await carol.next("room", action="removed")
        assert told["room_id"] == room
        for other in (alice, bob):
            seen = await other.next("room", action="member_removed")
            assert (seen["room_id"], seen["user_id"]) == (room, 3)
        assert carol.taken_none("room", action="member_removed")

        assert room_of(widget, room)["count_users"] == 2
        refused_send = try_send(widget, 3, room, "let me back in")
        assert refused_send.status_code == 403, refused_send.text
        error = await refused(
            carol, {"type": "send", "room_id": room, "text": "hello?", "client_id": "gone-1"}
        )
        assert error["code"] == 403

        widget.send(1, room, "after carol left")
        assert (await bob.next("message", room_id=room))["message"]["message"] == (
            "after carol left"
        )
        await settled(carol)
        assert carol.taken_none("message", room_id=room)
        for client in (alice, bob, carol):
            await client.close()

    live(scenario)


# ---- deleting messages ------------------------------------------------------------


def test_the_owner_deletes_anyones_message(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_type=1)
    kept = widget.send(1, room, "keep me")
    rude = widget.send(2, room, "something rude")

    async def scenario() -> None:
        alice = await connect(server, widget, 1)
        deleted = owner(widget, "DELETE", f"messages/{rude['id']}")
        assert deleted.status_code == 200, deleted.text
        assert deleted.json()["data"]["message"] == ""
        assert deleted.json()["data"]["deleted_at"] is not None

        gone = await alice.next("message_deleted")
        assert (gone["message_id"], gone["room_id"]) == (rude["id"], room)
        await alice.close()

    live(scenario)
    assert message_ids(widget, room) == [kept["id"]]
    assert owner(widget, "DELETE", f"messages/{rude['id']}").status_code == 404


# ---- the word blocklist -----------------------------------------------------------


def test_the_blocklist_refuses_whole_words_in_any_case(widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_type=1)

    put = owner(widget, "PUT", "blocklist", json={"words": ["spam", "ass"]})
    assert put.status_code == 200, put.text
    got = owner(widget, "GET", "blocklist")
    assert got.status_code == 200, got.text
    assert sorted(got.json()["data"]["words"]) == ["ass", "spam"]

    for text in ("buy SPAM now", "you Ass", "spam!"):
        refused_send = try_send(widget, 2, room, text)
        assert refused_send.status_code == 422, (text, refused_send.text)
        assert "message" in refused_send.json()["errors"]
    for text in ("a classic move", "spammer-free zone? no: spamming", "passage"):
        assert widget.send(2, room, text)["message"] == text
    assert len(message_ids(widget, room)) == 3

    cleared = owner(widget, "PUT", "blocklist", json={"words": []})
    assert cleared.status_code == 200, cleared.text
    assert owner(widget, "GET", "blocklist").json()["data"]["words"] == []
    assert widget.send(2, room, "spam is fine now")["message"] == "spam is fine now"


def test_the_blocklist_applies_to_socket_sends_too(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_type=1)
    assert owner(widget, "PUT", "blocklist", json={"words": ["darn"]}).status_code == 200

    async def scenario() -> None:
        bob = await connect(server, widget, 2)
        error = await refused(
            bob, {"type": "send", "room_id": room, "text": "DARN it", "client_id": "w-1"}
        )
        assert error["code"] == 422
        assert (await bob.send(room, "darning socks"))["message"] == "darning socks"
        await bob.close()

    live(scenario)


# ---- the send rate limit ------------------------------------------------------------


def test_quick_sends_beyond_the_burst_are_refused_except_for_bots(start_server) -> None:
    limited = start_server(send_rate_per_second=1, send_burst=3)
    with httpx.Client(base_url=limited.url, timeout=30) as client:
        widget = WidgetFactory(limited, client)()
        room = widget.room([1, 2], room_type=1)

        answers = [try_send(widget, 1, room, f"quick {n}") for n in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429], answers[-1].text
        assert int(answers[3].headers["Retry-After"]) >= 1
        assert len(message_ids(widget, room)) == 3

        bot = owner(widget, "PUT", "users/2/bot", data={"is_bot": "1"})
        assert bot.status_code == 200, bot.text
        assert bot.json()["data"] == {"user_id": 2, "is_bot": 1}
        bot_answers = [try_send(widget, 2, room, f"beep {n}") for n in range(8)]
        assert [a.status_code for a in bot_answers] == [200] * 8
        assert all(a.json()["message"]["is_bot"] for a in bot_answers)


# ---- room staff over the WebSocket ----------------------------------------------------


def staffed_room(widget: TestWidget) -> int:
    """Users 1 (admin: the creator), 2 (moderator), 3 and 4 (members)."""
    room = widget.room([1, 2, 3, 4], room_type=1)
    widget.set_member(room, 2, role="moderator")
    return room


def test_a_moderator_deletes_anyones_message_and_mutes_members(server, widgets) -> None:
    widget = widgets()
    room = staffed_room(widget)
    carols = widget.send(3, room, "off topic")
    admins = widget.send(1, room, "even the admin errs")

    async def scenario() -> None:
        mod, carol = await connect(server, widget, 2), await connect(server, widget, 3)

        await mod.send_frame({"type": "delete", "message_id": carols["id"]})
        gone = await mod.next("message_deleted")
        assert gone["message_id"] == carols["id"]
        assert (await carol.next("message_deleted"))["message_id"] == carols["id"]
        await mod.send_frame({"type": "delete", "message_id": admins["id"]})
        assert (await mod.next("message_deleted"))["message_id"] == admins["id"]

        await mod.send_frame(
            {"type": "moderate", "action": "mute", "room_id": room, "user_id": 3, "seconds": 60}
        )
        muted = await carol.next("moderation", user_id=3)
        assert muted["room_id"] == room
        assert muted["until"] is not None
        error = await refused(
            carol, {"type": "send", "room_id": room, "text": "but", "client_id": "m-1"}
        )
        assert error["code"] == 403
        assert "muted" in error["message"]
        assert mod.taken_none("error")
        for client in (mod, carol):
            await client.close()

    live(scenario)
    assert message_ids(widget, room) == []


def test_a_moderator_bans_and_unbans_a_member_in_the_room(server, widgets) -> None:
    widget = widgets()
    room = staffed_room(widget)
    elsewhere = widget.room([3, 4], room_type=1)

    async def scenario() -> None:
        mod = await connect(server, widget, 2)
        await mod.send_frame({"type": "moderate", "action": "ban", "room_id": room, "user_id": 3})
        banned = await mod.next("moderation", user_id=3)
        assert (banned["action"], banned["room_id"]) == ("user.banned", room)
        assert try_send(widget, 3, room, "hello?").status_code == 403
        assert widget.send(3, elsewhere, "fine here")["room_id"] == elsewhere
        assert [r["id"] for r in widget.listed("get_rooms", banned="1")] == [room]

        await mod.send_frame({"type": "moderate", "action": "unban", "room_id": room, "user_id": 3})
        assert (await mod.next("moderation", user_id=3))["action"] == "user.unbanned"
        assert widget.send(3, room, "thanks")["room_id"] == room
        await mod.close()

    live(scenario)
    assert banned_user_ids(widget) == []  # staff never ban widget-wide


def test_a_plain_member_may_not_delete_others_messages_or_mute(server, widgets) -> None:
    widget = widgets()
    room = staffed_room(widget)
    dans = widget.send(4, room, "mine, not yours")

    async def scenario() -> None:
        carol = await connect(server, widget, 3)
        error = await refused(carol, {"type": "delete", "message_id": dans["id"]})
        assert error["code"] == 403
        error = await refused(
            carol,
            {"type": "moderate", "action": "mute", "room_id": room, "user_id": 4, "seconds": 60},
        )
        assert error["code"] == 403
        for action in ("ban", "remove"):
            frame = {"type": "moderate", "action": action, "room_id": room, "user_id": 4}
            assert (await refused(carol, frame))["code"] == 403
        # Their own message, though, is theirs to delete.
        own = await carol.send(room, "oops")
        await carol.send_frame({"type": "delete", "message_id": own["id"]})
        assert (await carol.next("message_deleted"))["message_id"] == own["id"]
        await carol.close()

    live(scenario)
    assert dans["id"] in message_ids(widget, room)
    assert room_of(widget, room)["count_users"] == 4
    assert widget.send(4, room, "not muted")["message"] == "not muted"


def test_a_moderator_may_not_act_on_the_admin_or_another_moderator(server, widgets) -> None:
    widget = widgets()
    room = staffed_room(widget)
    widget.set_member(room, 3, role="moderator")

    async def scenario() -> None:
        mod = await connect(server, widget, 2)
        for target in (1, 3):
            for action in ("mute", "ban", "remove"):
                frame = {
                    "type": "moderate",
                    "action": action,
                    "room_id": room,
                    "user_id": target,
                    "seconds": 60,
                }
                error = await refused(mod, frame)
                assert error["code"] == 403, (target, action, error)
        await mod.close()

    live(scenario)
    assert room_of(widget, room)["count_users"] == 4
    assert widget.listed("get_rooms", banned="1") == []
    assert widget.send(1, room, "the admin talks")["message"] == "the admin talks"
    assert widget.send(3, room, "so does the other moderator")["user_id"] == 3


def test_the_admin_moderates_moderators_but_nobody_moderates_an_admin(server, widgets) -> None:
    widget = widgets()
    room = staffed_room(widget)
    widget.set_member(room, 4, role="admin")

    async def scenario() -> None:
        admin = await connect(server, widget, 1)
        await admin.send_frame(
            {"type": "moderate", "action": "mute", "room_id": room, "user_id": 2, "seconds": 60}
        )
        await settled(admin)
        assert admin.taken_none("error")
        error = await refused(
            admin,
            {"type": "moderate", "action": "mute", "room_id": room, "user_id": 4, "seconds": 60},
        )
        assert error["code"] == 403
        await admin.close()

    live(scenario)
    assert try_send(widget, 2, room, "muted moderator").status_code == 403
    assert widget.send(4, room, "the other admin")["user_id"] == 4


def test_only_the_admin_sets_roles(server, widgets) -> None:
    widget = widgets()
    room = staffed_room(widget)
    dans = widget.send(4, room, "delete me if you can")

    async def scenario() -> None:
        admin, mod, carol = [await connect(server, widget, u) for u in (1, 2, 3)]

        promote_self = {"type": "set_role", "room_id": room, "user_id": 3, "role": "moderator"}
        assert (await refused(carol, promote_self))["code"] == 403
        promote_dan = {"type": "set_role", "room_id": room, "user_id": 4, "role": "moderator"}
        assert (await refused(mod, promote_dan))["code"] == 403
        error = await refused(carol, {"type": "delete", "message_id": dans["id"]})
        assert error["code"] == 403  # still a member

        await admin.send_frame(
            {"type": "set_role", "room_id": room, "user_id": 3, "role": "moderator"}
        )
        await settled(admin)
        assert admin.taken_none("error")
        for client in (admin, mod, carol):  # everyone in the room sees the new role
            told = await client.next("room", action="member_role")
            assert (told["room_id"], told["user_id"], told["role"]) == (room, 3, "moderator")

        await carol.send_frame({"type": "delete", "message_id": dans["id"]})
        assert (await carol.next("message_deleted"))["message_id"] == dans["id"]
        assert carol.taken_none("error")
        for client in (admin, mod, carol):
            await client.close()

    live(scenario)
    assert dans["id"] not in message_ids(widget, room)


def test_a_moderator_removes_a_member_over_the_socket(server, widgets) -> None:
    widget = widgets()
    room = staffed_room(widget)

    async def scenario() -> None:
        mod, dan = await connect(server, widget, 2), await connect(server, widget, 4)
        await mod.send_frame(
            {"type": "moderate", "action": "remove", "room_id": room, "user_id": 4}
        )
        assert (await dan.next("room", action="removed"))["room_id"] == room
        assert (await mod.next("room", action="member_removed"))["user_id"] == 4
        for client in (mod, dan):
            await client.close()

    live(scenario)
    assert room_of(widget, room)["count_users"] == 3
    assert try_send(widget, 4, room, "removed?").status_code == 403


# ---- banned users over the WebSocket ------------------------------------------------


def test_a_widget_banned_user_cannot_join_or_open_rooms(server, widgets) -> None:
    widget = widgets()
    widget.room([1, 2], room_type=1, room_is_public=1, room_pipe="lobby")
    widget.room([5, 1], room_type=1)  # user 5 exists
    assert owner(widget, "POST", "users/5/ban").status_code == 200

    async def scenario() -> None:
        eve = await connect(server, widget, 5)
        answers = {
            "join_room": await answer_code(eve, {"type": "join_room", "pipe": "lobby"}),
            "open_dialog": await answer_code(eve, {"type": "open_dialog", "user_id": 1}),
        }
        assert answers == {"join_room": 403, "open_dialog": 403}
        assert eve.taken_none("room")
        await eve.close()

    live(scenario)
    assert room_of_pipe(widget, "lobby")["count_users"] == 2
    assert widget.listed("get_rooms", room_pipe="dialog-1-5") == []


def test_a_user_banned_while_connected_cannot_join_or_open_rooms(server, widgets) -> None:
    widget = widgets()
    widget.room([1, 2], room_type=1, room_is_public=1, room_pipe="lobby")
    widget.room([5, 1], room_type=1)

    async def scenario() -> None:
        eve = await connect(server, widget, 5)
        assert owner(widget, "POST", "users/5/ban").status_code == 200
        told = await eve.next("moderation", user_id=5)
        assert told["room_id"] is None

        answers = {
            "join_room": await answer_code(eve, {"type": "join_room", "pipe": "lobby"}),
            "open_dialog": await answer_code(eve, {"type": "open_dialog", "user_id": 1}),
        }
        assert answers == {"join_room": 403, "open_dialog": 403}
        await eve.close()

    live(scenario)
    assert room_of_pipe(widget, "lobby")["count_users"] == 2
    assert widget.listed("get_rooms", room_pipe="dialog-1-5") == []


def room_of_pipe(widget: TestWidget, pipe: str) -> dict[str, Any]:
    [found] = widget.listed("get_rooms", room_pipe=pipe)
    return found


def test_a_removed_member_cannot_come_back_by_the_rooms_pipe(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2, 3], room_type=1, room_pipe="team")
    assert owner(widget, "DELETE", f"rooms/{room}/members/3").status_code == 200

    async def scenario() -> None:
        carol = await connect(server, widget, 3)
        assert [r["id"] for r in carol.ready["rooms"]] == []
        error = await refused(carol, {"type": "join_room", "pipe": "team"})
        assert error["code"] == 403
        assert carol.taken_none("room")
        await settled(carol)  # the socket still serves frames
        await carol.close()

    live(scenario)
    assert room_of(widget, room)["count_users"] == 2


def test_the_owner_can_add_a_removed_member_back(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2, 3], room_type=1)
    assert owner(widget, "DELETE", f"rooms/{room}/members/3").status_code == 200
    assert room_of(widget, room)["count_users"] == 2

    async def scenario() -> None:
        carol = await connect(server, widget, 3)
        added = widget.imba_rooms(room_id=room, users_ids=[3])
        assert added.status_code == 200, added.text
        assert room_of(widget, room)["count_users"] == 3
        assert widget.send(3, room, "I am back")["user_id"] == 3
        assert (await carol.next("room", action="joined"))["room"]["id"] == room
        await carol.close()

    live(scenario)
