"""How each user wants to be told of messages, kept on the server: every tab of
theirs follows a change, and the next connect starts from it."""

from __future__ import annotations

import asyncio

from tests.realtime.client import answer_code, connect


def test_a_user_chooses_e_mails_and_mutes_a_room_on_every_tab(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2])
    other = widget.room([1, 3])

    async def scenario() -> None:
        tab, other_tab = await connect(server, widget, 1), await connect(server, widget, 1)
        assert tab.ready["alerts"] == {"email": "all", "sound": True}
        assert {r["id"]: r["muted"] for r in tab.ready["rooms"]} == {room: False, other: False}

        await tab.send_frame({"type": "alerts", "email": "mentions"})
        await tab.send_frame({"type": "alerts", "room_id": room, "muted": True})
        for socket in (tab, other_tab):
            assert (await socket.next("alerts")) == {"type": "alerts", "email": "mentions"}
            muted = await socket.next("alerts", room_id=room)
            assert (muted["muted"], muted["email"]) == (True, "mentions")

        again = await connect(server, widget, 1)
        assert again.ready["alerts"]["email"] == "mentions"
        assert {r["id"]: r["muted"] for r in again.ready["rooms"]} == {room: True, other: False}
        bo = await connect(server, widget, 2)
        assert bo.ready["rooms"][0]["muted"] is False  # muting is each member's own
        assert bo.ready["alerts"]["email"] == "all"
        for socket in (tab, other_tab, again, bo):
            await socket.close()

    asyncio.run(scenario())


def test_bad_alert_frames_are_refused_with_the_reason(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2])
    stranger_room = widget.room([3, 4])

    async def scenario() -> None:
        ann = await connect(server, widget, 1)
        assert await answer_code(ann, {"type": "alerts", "email": "sometimes"}) == 422
        assert await answer_code(ann, {"type": "alerts", "room_id": room}) == 422
        assert await answer_code(ann, {"type": "alerts", "muted": True}) == 422
        assert await answer_code(ann, {"type": "alerts"}) == 422
        assert await answer_code(ann, {"type": "alerts", "room_id": room, "muted": "yes"}) == 422
        refused = {"type": "alerts", "room_id": stranger_room, "muted": True}
        assert await answer_code(ann, refused) == 403
        assert await answer_code(ann, {"type": "alerts", "room_id": 10**12, "muted": True}) == 404
        await ann.close()

    asyncio.run(scenario())


def test_the_owner_turns_the_sound_off_and_sets_the_away_delay_and_link(server, widgets) -> None:
    widget = widgets()
    settings = f"/api/v1/{widget.imba_id}/settings"
    changed = widget.http.put(
        settings,
        auth=widget.basic,
        data={
            "notify_sound": "0",
            "away_notify_seconds": "120",
            "email_link_url": "https://site.example/chat?room={room_id}",
        },
    )
    assert changed.status_code == 200, changed.text
    shown = changed.json()["data"]
    assert (shown["notify_sound"], shown["away_notify_seconds"]) == (False, 120)
    assert shown["email_link_url"] == "https://site.example/chat?room={room_id}"

    async def connect_once() -> dict:
        ann = await connect(server, widget, 1)
        await ann.close()
        return ann.ready["alerts"]

    assert asyncio.run(connect_once())["sound"] is False
    for field, value in (
        ("away_notify_seconds", "999999999"),
        ("email_link_url", "javascript:alert(1)"),
        ("notify_sound", "maybe"),
    ):
        bad = widget.http.put(settings, auth=widget.basic, data={field: value})
        assert bad.status_code == 422, (field, bad.text)
        assert field in bad.json()["errors"]
