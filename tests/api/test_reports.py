"""Reports: members flag messages; the room's staff hear of it live, and the owner
works through a queue: dismiss, resolve, delete the message or ban its author."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from sqlalchemy import select

from imbachat.store.schema import webhook_deliveries
from tests.realtime.client import answer_code, connect


def queue(widget: Any, **params: Any) -> httpx.Response:
    return widget.http.get(f"/api/v1/{widget.imba_id}/reports", auth=widget.basic, params=params)


def decide(widget: Any, report_id: int, action: str) -> httpx.Response:
    return widget.http.post(
        f"/api/v1/{widget.imba_id}/reports/{report_id}", auth=widget.basic, data={"action": action}
    )


def test_a_report_reaches_staff_and_the_owner_deletes_the_message_for_everyone(
    server, widgets
) -> None:
    widget = widgets()
    hook = widget.http.post(
        f"/api/v1/{widget.imba_id}/webhooks",
        auth=widget.basic,
        json={"url": "http://127.0.0.1:9/never", "events": "message.reported"},
    )
    assert hook.status_code == 201, hook.text
    room = widget.room([1, 2, 3], room_type=1)  # Ann is the admin

    async def scenario() -> int:
        ann, bo, cy = [await connect(server, widget, user) for user in (1, 2, 3)]
        rude = await bo.send(room, "buy cheap watches")
        await cy.send_frame({"type": "report", "message_id": rude["id"], "reason": " spam "})
        reported = await cy.next("reported")
        assert reported["message_id"] == rude["id"]
        staff = (await ann.next("report"))["report"]
        assert (staff["id"], staff["reason"], staff["status"]) == (
            reported["report_id"],
            "spam",
            "open",
        )
        assert staff["reporter"] == {"user_id": 3, "name": "User 3"}
        assert staff["message"]["message"] == "buy cheap watches"
        assert bo.taken_none("report")  # the author is not told who reported them
        await cy.send_frame({"type": "report", "message_id": rude["id"], "reason": "again"})
        assert (await cy.next("reported"))["report_id"] == reported["report_id"]
        await ann.send_frame({"type": "reports"})
        assert [r["id"] for r in (await ann.next("reports"))["reports"]] == [staff["id"]]
        assert await answer_code(cy, {"type": "reports", "room_id": room}) is None
        assert (await cy.next("reports"))["reports"] == []  # not staff: nothing to see

        listed = queue(widget).json()
        assert [r["id"] for r in listed["data"]] == [staff["id"]] and listed["next"] is None
        done = decide(widget, staff["id"], "delete_message")
        assert done.status_code == 200, done.text
        assert (done.json()["data"]["status"], done.json()["data"]["outcome"]) == (
            "resolved",
            "message_deleted",
        )
        for client in (ann, bo, cy):
            assert (await client.next("message_deleted"))["message_id"] == rude["id"]
            await client.close()
        return int(staff["id"])

    report_id = asyncio.run(scenario())
    assert queue(widget).json()["data"] == []
    assert [r["id"] for r in queue(widget, status="resolved").json()["data"]] == [report_id]
    deadline = time.monotonic() + 10
    while not (events := stored_events(widget)):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert events == ["message.reported"]


def test_the_owner_bans_an_author_or_dismisses_and_pages_through_reports(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2, 3], room_type=1)

    async def scenario() -> list[int]:
        bo, cy = await connect(server, widget, 2), await connect(server, widget, 3)
        ids = []
        for n in range(5):
            sent = await bo.send(room, f"spam {n}")
            await cy.send_frame({"type": "report", "message_id": sent["id"], "reason": "spam"})
            ids.append((await cy.next("reported"))["report_id"])
        own = await cy.send(room, "mine")
        refused = {"type": "report", "message_id": own["id"], "reason": "x"}
        assert await answer_code(cy, refused) == 422
        assert await answer_code(cy, {**refused, "message_id": ids[0] * 10**6}) == 404
        no_reason = {"type": "report", "message_id": own["id"] - 1, "reason": "  "}
        assert await answer_code(cy, no_reason) == 422
        long = {**no_reason, "reason": "x" * 1001}
        assert await answer_code(cy, long) == 413
        assert decide(widget, ids[0], "ban_author").json()["data"]["outcome"] == "author_banned"
        banned = {"type": "send", "room_id": room, "text": "more", "client_id": "z"}
        assert await answer_code(bo, banned) == 403
        await bo.close()
        await cy.close()
        return ids

    ids = asyncio.run(scenario())
    assert decide(widget, ids[1], "dismiss").json()["data"]["status"] == "dismissed"
    assert decide(widget, ids[2], "explode").status_code == 422
    assert decide(widget, 10**9, "dismiss").status_code == 404
    first = queue(widget, status="all", limit=2).json()
    assert [r["id"] for r in first["data"]] == [ids[4], ids[3]]
    second = queue(widget, status="all", limit=2, after=first["next"]).json()
    assert [r["id"] for r in second["data"]] == [ids[2], ids[1]]
    assert queue(widget, status="bogus").status_code == 422
    stranger = widgets()
    other_owner = (str(stranger.imba_id), stranger.basic[1])
    response = widget.http.get(f"/api/v1/{widget.imba_id}/reports", auth=other_owner)
    assert response.status_code in (401, 403)
    assert queue(stranger).json()["data"] == []
    assert decide(stranger, ids[3], "dismiss").status_code == 404  # another widget's


def stored_events(widget: Any) -> list[str]:
    async def read(services: Any) -> list[str]:
        async with services.db.read() as conn:
            rows = await conn.execute(
                select(webhook_deliveries.c.event).where(
                    webhook_deliveries.c.imba_id == widget.imba_id
                )
            )
            return [row.event for row in rows]

    result: list[str] = widget.server.run(read)
    return result
