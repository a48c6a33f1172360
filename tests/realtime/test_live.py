"""Issue 3: messages, typing, read marks, presence and room changes arrive live,
whether they came from a socket or from the REST API."""

from __future__ import annotations

import asyncio
import time

from tests.fakes import FakeHostSite
from tests.realtime.client import connect, live, settled


def test_two_users_exchange_messages_both_ways(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_type=1)

    async def scenario() -> None:
        alice, bob = await connect(server, widget, 1), await connect(server, widget, 2)
        sent = await alice.send(room, "hi bob")
        got = await bob.next("message", room_id=room)
        reply = await bob.send(room, "hi alice", answer_to=sent["id"])
        back = await alice.next("message", room_id=room)

        assert got["message"] == sent
        assert (sent["seq"], reply["seq"]) == (1, 2)
        assert back["message"]["answer_to"] == sent["id"]
        # The sender learns of its own message once, through the ack.
        await settled(alice)
        assert all(f["type"] != "message" for f in alice.frames)
        await alice.close()
        await bob.close()

    live(scenario)


def test_an_ack_comes_only_after_the_message_is_stored(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2])

    async def scenario() -> None:
        alice = await connect(server, widget, 1)
        sent = await alice.send(room, "stored?")
        stored = widget.listed("get_messages", room_id=str(room))
        assert [m["id"] for m in stored] == [sent["id"]]
        await alice.close()

    live(scenario)


def test_resending_a_client_id_never_makes_a_second_message(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2])

    async def scenario() -> None:
        alice, bob = await connect(server, widget, 1), await connect(server, widget, 2)
        first = await alice.send(room, "once", client_id="same")
        again = await alice.send(room, "once", client_id="same")
        await alice.close()
        reconnected = await connect(server, widget, 1)
        after_reconnect = await reconnected.send(room, "once", client_id="same")

        assert first == again == after_reconnect
        await bob.next("message", room_id=room)
        await settled(bob)
        assert bob.taken_none("message", room_id=room)
        assert len(widget.listed("get_messages", room_id=str(room))) == 1
        await bob.close()
        await reconnected.close()

    live(scenario)


def test_rest_send_msg_room_creation_and_new_members_appear_live(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_type=1)

    async def scenario() -> None:
        alice, bob = await connect(server, widget, 1), await connect(server, widget, 2)
        sent = widget.send(2, room, "from the site's backend")
        got = await alice.next("message", room_id=room)
        assert got["message"]["id"] == sent["id"]
        assert got["message"]["message"] == "from the site's backend"

        new_room = widget.room([1, 3], room_type=1, room_title="Fresh")
        created = await alice.next("room", action="created")
        assert created["room"]["id"] == new_room
        assert created["room"]["name"] == "Fresh"
        assert {m["user_id"] for m in created["room"]["members"]} == {1, 3}

        widget.imba_rooms(room_id=new_room, users_ids=[2])
        joined = await bob.next("room", action="joined")
        added = await alice.next("room", action="member_added")
        assert joined["room"]["id"] == new_room
        assert added["room_id"] == new_room
        assert [u["user_id"] for u in added["users"]] == [2]

        # The newcomer now follows the room live.
        widget.send(3, new_room, "welcome bob")
        arrived = await bob.next("message", room_id=new_room)
        assert arrived["message"]["message"] == "welcome bob"
        await alice.close()
        await bob.close()

    live(scenario)


def test_typing_reaches_the_others_and_is_throttled(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2, 3], room_type=1)

    async def scenario() -> None:
        alice, bob, carol = [await connect(server, widget, u) for u in (1, 2, 3)]
        for _ in range(5):
            await alice.send_frame({"type": "typing", "room_id": room})
        assert (await bob.next("typing"))["user_id"] == 1
        assert (await carol.next("typing"))["user_id"] == 1
        await settled(alice)  # all five typing frames were handled
        await settled(bob)
        assert bob.taken_none("typing")  # five keystrokes, one signal
        assert alice.taken_none("typing")
        for client in (alice, bob, carol):
            await client.close()

    live(scenario)


def test_presence_is_online_with_any_socket_and_offline_after_the_last(server, widgets) -> None:
    widget = widgets()
    widget.room([1, 2])

    async def scenario() -> None:
        alice = await connect(server, widget, 1)
        phone = await connect(server, widget, 2)
        assert (await alice.next("presence", user_id=2))["online"] is True
        laptop = await connect(server, widget, 2)
        assert [m["online"] for m in laptop.ready["rooms"][0]["members"]] == [True, True]
        await phone.close()
        await asyncio.sleep(0.6)  # longer than the offline grace of the test server
        assert alice.taken_none("presence", user_id=2)  # the laptop is still there
        await laptop.close()
        offline = await alice.next("presence", user_id=2)
        assert offline["online"] is False
        await alice.close()

    live(scenario)


def test_unread_counts_and_read_marks_follow_the_user_across_devices(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_type=1)

    async def scenario() -> None:
        for text in ("one", "two", "three"):
            widget.send(1, room, text)
        phone = await connect(server, widget, 2)
        laptop = await connect(server, widget, 2)
        assert phone.room(room)["unread"] == 3
        assert phone.room(room)["last_message"]["message"] == "three"

        await phone.send_frame({"type": "read", "room_id": room, "seq": 2})
        on_laptop = await laptop.next("read", room_id=room)
        assert (on_laptop["user_id"], on_laptop["seq"]) == (2, 2)
        await phone.send_frame({"type": "read", "room_id": room, "seq": 1})  # never backwards
        await phone.send_frame({"type": "read", "room_id": room, "seq": 99})  # never past the end
        assert (await laptop.next("read", room_id=room))["seq"] == 3

        await phone.close()
        await laptop.close()
        again = await connect(server, widget, 2)
        assert again.room(room)["unread"] == 0
        assert again.room(room)["last_read_seq"] == 3
        await again.close()

    live(scenario)


def test_history_pages_backwards_by_seq(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2])
    for i in range(1, 8):
        widget.send(1, room, f"m{i}")

    async def scenario() -> None:
        bob = await connect(server, widget, 2)
        await bob.send_frame({"type": "history", "room_id": room, "limit": 3})
        newest = await bob.next("history")
        await bob.send_frame({"type": "history", "room_id": room, "before_seq": 2, "limit": 3})
        oldest = await bob.next("history")

        assert [m["seq"] for m in newest["messages"]] == [5, 6, 7]
        assert newest["has_more"] is True
        assert [m["seq"] for m in oldest["messages"]] == [1]
        assert oldest["has_more"] is False
        await bob.close()

    live(scenario)


def test_authors_edit_and_delete_their_messages_live(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2])

    async def scenario() -> None:
        alice, bob = await connect(server, widget, 1), await connect(server, widget, 2)
        sent = await alice.send(room, "typo")
        await bob.next("message")
        await alice.send_frame({"type": "edit", "message_id": sent["id"], "text": "fixed"})
        edited = await bob.next("message_edited")
        await bob.send_frame({"type": "delete", "message_id": sent["id"]})
        refused = await bob.next("error")
        await alice.send_frame({"type": "delete", "message_id": sent["id"]})
        deleted = await bob.next("message_deleted")

        assert edited["message"]["message"] == "fixed"
        assert edited["message"]["edited_at"] is not None
        assert refused["code"] == 403
        assert (deleted["message_id"], deleted["seq"]) == (sent["id"], 1)
        assert widget.listed("get_messages", room_id=str(room)) == []
        await alice.close()
        await bob.close()

    live(scenario)


def test_open_dialog_creates_the_dialog_once_for_both_users(server, widgets) -> None:
    widget = widgets()
    widget.room([1])

    async def scenario() -> None:
        alice = await connect(server, widget, 1)
        bob = await connect(server, widget, 2)
        await alice.send_frame({"type": "open_dialog", "user_id": "2"})
        opened = await alice.next("room", action="opened")
        created_for_bob = await bob.next("room", action="created")
        await bob.send_frame({"type": "open_dialog", "user_id": 1})
        opened_by_bob = await bob.next("room", action="opened")

        dialog = opened["room"]["id"]
        assert opened["room"]["type"] == 0
        assert created_for_bob["room"]["id"] == dialog
        assert opened_by_bob["room"]["id"] == dialog
        await alice.send(dialog, "hello in private")
        assert (await bob.next("message", room_id=dialog))["message"][
            "message"
        ] == "hello in private"
        await alice.close()
        await bob.close()

    live(scenario)


def test_bad_frames_get_clear_errors_and_a_flood_of_them_closes_the_socket(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1])
    other_room = widget.room([2])

    async def scenario() -> None:
        alice = await connect(server, widget, 1)
        await alice.ws.send("not json")
        assert (await alice.next("error"))["code"] == 400
        await alice.send_frame({"type": "fly"})
        assert "Unknown frame type" in (await alice.next("error"))["message"]
        await alice.send_frame({"type": "send", "room_id": room, "client_id": "x"})
        assert (await alice.next("error"))["code"] == 422
        await alice.send_frame(
            {"type": "send", "room_id": other_room, "text": "hi", "client_id": "k"}
        )
        not_member = await alice.next("error")
        assert (not_member["code"], not_member["ref"]) == (403, "k")
        await alice.send_frame(
            {"type": "send", "room_id": room, "text": "x" * 10_001, "client_id": "big"}
        )
        assert (await alice.next("error"))["code"] == 413
        await alice.send_frame({"type": "ping"})
        assert (await alice.next("pong"))["time"] > 0
        for _ in range(25):
            await alice.ws.send("{}")
        assert await alice.closed() == 4009

    live(scenario)


def test_new_names_from_the_host_site_reach_those_who_share_a_room(server, widgets) -> None:
    site = FakeHostSite(people={1: {"user_id": 1, "name": "Alice"}})
    base = site.start()
    try:
        widget = widgets(users_info_url=f"{base}/u?ids=")
        room = widget.room([1, 2], room_type=1)
        widget.room([3, 4], room_type=1)
        # The first fetch of names runs in the background: done before anyone connects,
        # so the only users_updated the sockets see is the change below.
        deadline = time.monotonic() + 10
        while not widget.listed("get_users", login="Alice"):
            assert time.monotonic() < deadline, "the host site's names never arrived"
            time.sleep(0.05)

        async def scenario() -> None:
            alice, bob, carol = [await connect(server, widget, user) for user in (1, 2, 3)]
            site.people[1] = {"user_id": 1, "name": "Alice Cooper", "avatar_url": "https://a/1.png"}

            async def refresh(services) -> None:
                owner = await services.widgets.get(widget.imba_id)
                await services.profiles.refresh(owner, [1])

            await asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(refresh(server.services), server.loop)
            )
            expected = {
                "user_id": 1,
                "name": "Alice Cooper",
                "avatar_url": "https://a/1.png",
                "status": "user",
                "is_bot": False,
                "profile_url": None,
            }
            for socket in (bob, alice):  # a roommate, and Alice's own socket
                frame = await socket.next("users_updated", timeout=5)
                assert frame["users"] == [expected]
            await settled(carol)  # in no room with Alice: told nothing of her
            assert [f for f in carol.frames if f["type"] == "users_updated"] == []
            bob_again = await connect(server, widget, 2)
            [member] = [m for m in bob_again.room(room)["members"] if m["user_id"] == 1]
            assert member["name"] == "Alice Cooper"
            for socket in (alice, bob, carol, bob_again):
                await socket.close()

        live(scenario)
    finally:
        site.stop()
