"""Public conferences: open public rooms are listed to everyone in the widget (the
``public_rooms`` frame and the owner's REST list), and anyone may join them by
pipe; a closed room (not public) that exists is only for its members."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import TestWidget
from tests.realtime.client import connect, live, settled

NEWCOMER = 7


def owner(widget: TestWidget, method: str, path: str, **kw: Any) -> httpx.Response:
    kw.setdefault("auth", widget.basic)
    return widget.http.request(method, f"/api/v1/{widget.imba_id}/{path}", **kw)


def room_by_pipe(widget: TestWidget, pipe: str) -> dict[str, Any]:
    [found] = widget.listed("get_rooms", room_pipe=pipe)
    return found


def lobby_and_others(widget: TestWidget) -> tuple[int, int, int]:
    """An open public conference ``lobby``, a public one that was closed, and a
    closed (not public) conference ``staff``."""
    lobby = widget.room([1, 2], room_type=1, room_is_public=1, room_pipe="lobby")
    finished = widget.room([1, 2], room_type=1, room_is_public=1, room_pipe="last-year")
    closing = owner(widget, "POST", f"rooms/{finished}/close")
    assert closing.status_code == 200, closing.text
    staff = widget.room([1, 2], room_type=1, room_is_public=0, room_pipe="staff")
    return lobby, finished, staff


def test_only_open_public_rooms_are_listed(server, widgets) -> None:
    widget = widgets()
    lobby, _, _ = lobby_and_others(widget)
    elsewhere = widgets()
    elsewhere.room([1], room_type=1, room_is_public=1, room_pipe="lobby")

    listed = owner(widget, "GET", "rooms/public")
    assert listed.status_code == 200, listed.text
    assert [(r["id"], r["pipe"], r["is_public"]) for r in listed.json()["data"]] == [
        (lobby, "lobby", 1)
    ]

    async def scenario() -> None:
        newcomer = await connect(server, widget, NEWCOMER)  # in no room at all
        await newcomer.send_frame({"type": "public_rooms"})
        answer = await newcomer.next("public_rooms")
        assert [(r["id"], r["pipe"], r["count_users"]) for r in answer["rooms"]] == [
            (lobby, "lobby", 2)
        ]
        await newcomer.close()

    live(scenario)


def test_the_public_list_needs_the_owners_credentials(widgets) -> None:
    widget, stranger = widgets(), widgets()
    widget.room([1], room_type=1, room_is_public=1, room_pipe="lobby")
    assert owner(widget, "GET", "rooms/public", auth=None).status_code == 401
    assert owner(widget, "GET", "rooms/public", auth=stranger.basic).status_code == 401


def test_anyone_joins_a_public_room_by_pipe_and_follows_it_live(server, widgets) -> None:
    widget = widgets()
    lobby, _, _ = lobby_and_others(widget)

    async def scenario() -> None:
        alice = await connect(server, widget, 1)
        newcomer = await connect(server, widget, NEWCOMER)

        await newcomer.send_frame({"type": "join_room", "pipe": "lobby"})
        opened = (await newcomer.next("room", action="opened"))["room"]
        assert (opened["id"], opened["role"], opened["count_users"]) == (lobby, "member", 3)
        assert NEWCOMER in {m["user_id"] for m in opened["members"]}
        added = await alice.next("room", action="member_added")
        assert added["room_id"] == lobby
        assert [u["user_id"] for u in added["users"]] == [NEWCOMER]

        widget.send(1, lobby, "welcome!")
        got = await newcomer.next("message", room_id=lobby)
        assert got["message"]["message"] == "welcome!"
        await alice.next("message", room_id=lobby)  # her own, sent through REST
        said = await newcomer.send(lobby, "thanks")
        assert (await alice.next("message", room_id=lobby))["message"]["id"] == said["id"]

        # Joining again changes nothing.
        await newcomer.send_frame({"type": "join_room", "pipe": "lobby"})
        assert (await newcomer.next("room", action="opened"))["room"]["count_users"] == 3
        for client in (alice, newcomer):
            await client.close()

    live(scenario)
    assert room_by_pipe(widget, "lobby")["count_users"] == 3


def test_a_closed_room_is_not_joined_by_pipe(server, widgets) -> None:
    widget = widgets()
    _, _, staff = lobby_and_others(widget)

    async def scenario() -> None:
        alice = await connect(server, widget, 1)
        newcomer = await connect(server, widget, NEWCOMER)
        await newcomer.send_frame({"type": "join_room", "pipe": "staff"})
        await settled(newcomer)
        error = await newcomer.next("error", timeout=0.1, ref="join_room")
        assert error["code"] == 403
        assert newcomer.taken_none("room")
        await settled(alice)
        assert alice.taken_none("room", action="member_added")

        refused = widget.post("send_msg", {"user_id": NEWCOMER, "room_id": staff, "message": "hi"})
        assert refused.status_code == 403, refused.text

        # Its members, though, may open it by pipe.
        await alice.send_frame({"type": "join_room", "pipe": "staff"})
        assert (await alice.next("room", action="opened"))["room"]["id"] == staff
        for client in (alice, newcomer):
            await client.close()

    live(scenario)
    assert room_by_pipe(widget, "staff")["count_users"] == 2


def test_join_room_with_a_new_pipe_creates_the_room(server, widgets) -> None:
    widget = widgets()

    async def scenario() -> None:
        creator = await connect(server, widget, NEWCOMER)
        await creator.send_frame(
            {
                "type": "join_room",
                "pipe": "book-club",
                "title": "Book club",
                "is_public": 1,
                "users_ids": [3],
            }
        )
        opened = (await creator.next("room", action="opened"))["room"]
        assert (opened["pipe"], opened["name"], opened["role"]) == (
            "book-club",
            "Book club",
            "admin",
        )
        assert {m["user_id"] for m in opened["members"]} == {NEWCOMER, 3}
        await creator.send_frame({"type": "public_rooms"})
        assert [r["id"] for r in (await creator.next("public_rooms"))["rooms"]] == [opened["id"]]
        await creator.close()

    live(scenario)


def test_public_rooms_are_listed_most_recently_active_first(server, widgets) -> None:
    widget = widgets()
    quiet = widget.room([1], room_type=1, room_is_public=1, room_pipe="quiet")
    busy = widget.room([1], room_type=1, room_is_public=1, room_pipe="busy")
    lively = widget.room([1], room_type=1, room_is_public=1, room_pipe="lively")
    widget.send(1, busy, "earlier")
    widget.send(1, lively, "later")

    listed = owner(widget, "GET", "rooms/public")
    assert listed.status_code == 200, listed.text
    assert [r["id"] for r in listed.json()["data"]] == [lively, busy, quiet]
