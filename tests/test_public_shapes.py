"""The public shapes of every event, pinned: each socket frame and each webhook body
keeps its keys, their order and their values exactly (docs/protocol.md and
docs/webhooks.md describe them). Values that differ from run to run (ids, times,
pipes) are compared by type; the rest by value. Webhook bodies are read as stored.

The expected shapes are in ``public_shapes.json``. Changing a public shape on
purpose means changing the docs too; then ``IMBACHAT_UPDATE_SHAPES=1`` rewrites
the file from a run, and its diff shows the change for review."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from PIL import Image
from sqlalchemy import select

from imbachat.store.schema import webhook_deliveries
from tests.factories import TestWidget
from tests.fakes import FakeHostSite
from tests.realtime.client import ChatClient, live, settled

# Keys whose values change from run to run: compared by their JSON type only.
VOLATILE = {
    "id",
    "imba_id",
    "room_id",
    "roomId",
    "admin_id",
    "author_id",
    "member_id",
    "member_ids",
    "message_id",
    "report_id",
    "uuid",
    "pipe",
    "time",
    "created_at",
    "updated_at",
    "edited_at",
    "deleted_at",
    "last_message_date",
    "until",
    "client_id",
    "heartbeat",
    "url",  # signed file links: their expiry and signature change
    "thumbnail_url",
    "size",  # of an encoded image: differs between Pillow versions
}


def shape(value: Any, key: str | None = None) -> Any:
    """The value with run-dependent parts replaced by their type, key order kept."""
    if isinstance(value, dict) and value and all(k.isdigit() for k in value):
        # resumed: {"<room id>": seq}
        return {"<room id>": list(value.values())}
    if isinstance(value, dict):
        return {k: shape(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(item, key) for item in value]
    if key in VOLATILE and value is not None:
        return f"<{type(value).__name__}>"
    return value


GOLDEN = Path(__file__).with_name("public_shapes.json")


@pytest.fixture
def host_site():
    site = FakeHostSite(
        people={
            1: {"user_id": 1, "name": "Ann"},
            2: {"user_id": 2, "name": "Bo"},
            3: {"user_id": 3, "name": "Cy"},
            4: {"user_id": 4, "name": "Di"},
        }
    )
    base = site.start()
    yield f"{base}/users?ids="
    site.stop()


class RawClient(ChatClient):
    """Keeps every frame's text as it arrived, beside the parsed frames."""

    raw: list[str]

    async def _read(self) -> None:
        self.raw = []
        original = self.ws.recv

        async def recording_recv(*args: Any, **kw: Any) -> Any:
            text = await original(*args, **kw)
            self.raw.append(text)
            return text

        self.ws.recv = recording_recv  # type: ignore[method-assign]
        await super()._read()


def first_of_each_kind(raw_frames: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for raw in raw_frames:
        frame = json.loads(raw)
        kind = frame["type"]
        if kind in ("room", "moderation"):
            kind = f"{kind}/{frame['action']}"
        if kind == "history" and "around_seq" in frame:
            kind = "history/around"
        found.setdefault(kind, raw)
    return found


def owner(widget: TestWidget, method: str, path: str, **kw: Any) -> httpx.Response:
    response = widget.http.request(
        method, f"/api/v1/{widget.imba_id}/{path}", auth=widget.basic, **kw
    )
    assert response.status_code < 300, response.text
    return response


def stored_bodies(widget: TestWidget) -> dict[str, str]:
    async def read(services: Any) -> list[tuple[str, str]]:
        async with services.db.read() as conn:
            rows = await conn.execute(
                select(webhook_deliveries.c.event, webhook_deliveries.c.body)
                .where(webhook_deliveries.c.imba_id == widget.imba_id)
                .order_by(webhook_deliveries.c.id)
            )
            return [(row.event, row.body) for row in rows]

    found: dict[str, str] = {}
    for event, body in widget.server.run(read):
        found.setdefault(event, body)
    return found


def wait_until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_every_event_keeps_its_documented_frame_and_webhook_body(
    server, widgets, host_site
) -> None:
    widget = widgets(users_info_url=host_site)
    owner(widget, "POST", "webhooks", json={"url": "http://127.0.0.1:9/never"})
    room = widget.room([1, 2], room_type=1, room_title="Book club")
    wait_until(lambda: len(widget.listed("get_users", login="Bo")) == 1)
    widget.room([3], room_id=room)
    wait_until(lambda: len(widget.listed("get_users", login="Cy")) == 1)

    async def scenario() -> dict[str, str]:
        ann = await RawClient.connect(server.ws_url, widget.imba_id, widget.token(1))
        bo = await RawClient.connect(server.ws_url, widget.imba_id, widget.token(2))
        photo = io.BytesIO()
        Image.new("RGB", (640, 480), "teal").save(photo, "PNG")
        uploaded = widget.http.post(
            f"/imbachat/v1/{widget.imba_id}/files",
            auth=widget.basic,
            data={"user_id": "1"},
            files={"file": ("photo.png", photo.getvalue(), "image/png")},
        )
        assert uploaded.status_code == 201, uploaded.text
        widget.send(1, room, "from the site", **{"attachments[0]": uploaded.json()["data"]["id"]})
        await bo.next("message")
        sent = await ann.send(room, "from the socket")
        await bo.send_frame({"type": "read", "room_id": room, "seq": 2})
        await bo.send_frame({"type": "typing", "room_id": room})
        await ann.next("typing")
        await ann.send_frame({"type": "edit", "message_id": sent["id"], "text": sent["message"]})
        await ann.send_frame(
            {"type": "edit", "message_id": sent["id"], "text": "from the socket, edited"}
        )
        edited = await bo.next("message_edited")
        if edited["message"]["message"] != "from the socket, edited":  # the first edit's
            await bo.next("message_edited")
        await bo.send_frame({"type": "history", "room_id": room, "limit": 1, "before_seq": 2})
        await bo.next("history")
        await bo.send_frame({"type": "search", "text": "socket"})
        await bo.next("search_results")
        around = {"type": "history", "room_id": room, "around_seq": 2, "limit": 1}
        await bo.send_frame(around)
        await bo.next("history", around_seq=2)
        await bo.send_frame({"type": "react", "message_id": sent["id"], "emoji": "👍"})
        await ann.next("reaction")
        await bo.send_frame({"type": "report", "message_id": sent["id"], "reason": "spam"})
        await bo.next("reported")
        await ann.next("report")
        await ann.send_frame({"type": "reports", "room_id": room})
        await ann.next("reports")
        await ann.send_frame({"type": "pin", "room_id": room, "message_id": sent["id"]})
        await bo.next("room", action="pinned")
        await bo.send_frame({"type": "block_user", "user_id": 3})
        await bo.next("blocked")
        await bo.send_frame({"type": "blocked_users"})
        await bo.next("blocked_users")
        cy = await RawClient.connect(server.ws_url, widget.imba_id, widget.token(3))
        await bo.next("presence")
        first = widget.listed("get_messages", room_id=str(room))[0]
        owner(widget, "DELETE", f"messages/{first['id']}")
        owner(widget, "POST", f"rooms/{room}/members/3/mute", data={"seconds": "60"})
        owner(widget, "POST", "users/3/ban", data={"room_id": str(room)})
        owner(widget, "POST", "users/3/unban", data={"room_id": str(room)})
        owner(widget, "POST", "users/3/ban")
        owner(widget, "POST", "users/3/unban")
        owner(widget, "PUT", f"rooms/{room}/members/2/role", data={"role": "moderator"})
        await bo.send_frame({"type": "set_role", "room_id": room, "user_id": 1, "role": "member"})
        await bo.next("error")
        owner(widget, "DELETE", f"rooms/{room}/members/3")
        await cy.next("room", action="removed")
        owner(widget, "POST", f"rooms/{room}/close")
        await bo.next("room", action="closed")
        await bo.send_frame({"type": "open_dialog", "user_id": 1})
        await bo.next("room", action="opened")
        await bo.send_frame({"type": "public_rooms"})
        await bo.next("public_rooms")
        await cy.send_frame({"type": "open_support"})
        await cy.next("room", action="opened")
        [support] = widget.listed("get_rooms", room_type="3")
        owner(widget, "POST", f"rooms/{support['id']}/close")
        await cy.next("room", action="closed")
        await cy.send_frame({"type": "open_support"})
        await cy.next("room", action="reopened")
        widget.room([4], room_id=room)  # user 4 joins: Bo's socket gets member_added
        await bo.next("room", action="member_added")
        await bo.next("users_updated")
        widget.room([3], room_id=room)  # Cy comes back: her socket gets joined
        await cy.next("room", action="joined")
        await bo.send_frame({"type": "search_users", "text": "an"})
        await bo.next("users_found")
        await bo.send_frame({"type": "alerts", "room_id": room, "muted": True})
        await bo.next("alerts")
        again = await RawClient.connect(
            server.ws_url, widget.imba_id, widget.token(2), resume={room: 1}
        )
        await again.next("resumed")
        for client in (ann, bo, cy, again):
            await settled(client)
            await client.close()
        frames: dict[str, str] = {}
        for client in (bo, ann, cy, again):
            for kind, raw in first_of_each_kind(client.raw).items():
                frames.setdefault(kind, raw)
        return frames

    frames = run_and_collect(scenario)
    wait_until(lambda: len(stored_bodies(widget)) >= 12)
    bodies = stored_bodies(widget)
    for raw in [*frames.values(), *bodies.values()]:
        assert raw == orjson.dumps(json.loads(raw)).decode(), "compact JSON, as orjson writes it"
    got = {
        "frames": {kind: shape(json.loads(raw)) for kind, raw in sorted(frames.items())},
        "webhooks": {event: shape(json.loads(raw)) for event, raw in sorted(bodies.items())},
    }
    if os.environ.get("IMBACHAT_UPDATE_SHAPES") == "1":
        GOLDEN.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n")
    expected = json.loads(GOLDEN.read_text())
    assert set(got["frames"]) == set(expected["frames"])
    assert set(got["webhooks"]) == set(expected["webhooks"])
    for part in ("frames", "webhooks"):
        for kind, want in expected[part].items():
            # Compared as text, so the order of keys counts too.
            assert json.dumps(got[part][kind]) == json.dumps(want), f"{part} {kind}"


def run_and_collect(scenario: Any) -> dict[str, str]:
    result: dict[str, str] = {}

    async def wrapped() -> None:
        result.update(await scenario())

    live(wrapped)
    return result
