"""Issue 5 §1: events leave through a durable outbox as signed JSON, retried with
backoff until delivered, without ever slowing chat; the log can be read and replayed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import FakeReceiver

SECRET = "receiver-secret-0123456789"


@pytest.fixture
def receiver():
    made: list[FakeReceiver] = []

    def make(**options) -> tuple[FakeReceiver, str]:
        fake = FakeReceiver(SECRET, **options)
        made.append(fake)
        return fake, fake.start()

    yield make
    for fake in made:
        fake.stop()


def add_webhook(widget, url: str, **fields) -> dict:
    response = widget.http.post(
        f"/api/v1/{widget.imba_id}/webhooks",
        json={"url": url, "secret": SECRET, **fields},
        auth=widget.basic,
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_every_message_is_delivered_signed_with_the_documented_headers_and_body(
    widgets, receiver
) -> None:
    widget = widgets()
    fake, url = receiver()
    hook = add_webhook(widget, url, events="message.new")
    room = widget.room([1, 2], room_type=1)

    sent = [widget.send(1, room, f"hello {i}") for i in range(5)]
    wait_for(lambda: len(fake.got) == 5)

    assert all(r.signed for r in fake.got)
    assert len({r.delivery for r in fake.got}) == 5
    first = fake.got[0]
    assert first.event == "message.new"
    assert set(first.body) == {"event", "imba_id", "data"}
    assert (first.body["event"], first.body["imba_id"]) == ("message.new", widget.imba_id)
    assert sorted(r.body["data"]["message"]["id"] for r in fake.got) == [m["id"] for m in sent]
    assert hook["events"] == ["message.new"] and len(hook["secret"]) >= 16


def test_failing_receivers_are_retried_until_delivered_and_the_log_says_so(
    widgets, receiver
) -> None:
    widget = widgets()
    fake, url = receiver(fail_first=2)  # every delivery fails twice, then succeeds
    add_webhook(widget, url)
    room = widget.room([1, 2], room_type=1)  # room.created
    widget.send(1, room, "persist")  # message.new

    wait_for(lambda: len(fake.got) == 2)

    def logged() -> list[dict[str, Any]]:
        log = widget.http.get(f"/api/v1/{widget.imba_id}/webhooks/deliveries", auth=widget.basic)
        return list(log.json()["data"])

    # The receiver has answered; the server records that right after.
    wait_for(lambda: all(d["status"] != "pending" for d in logged()))
    deliveries = logged()
    assert {d["event"] for d in deliveries} == {"room.created", "message.new"}
    assert all(d["status"] == "delivered" and d["attempts"] == 3 for d in deliveries)
    assert {fake.attempts[d["delivery_id"]] for d in deliveries} == {3}  # same id each retry


def test_events_can_be_chosen_and_other_widgets_events_never_arrive(widgets, receiver) -> None:
    mine, theirs = widgets(), widgets()
    fake, url = receiver()
    add_webhook(mine, url, events="room.created,member.added")
    room = mine.room([1, 2], room_type=1)
    mine.send(1, room, "not subscribed")
    mine.imba_rooms(room_id=room, users_ids=[3])
    theirs.room([1, 2], room_type=1)

    wait_for(lambda: len(fake.got) == 2)
    time.sleep(0.3)

    assert [r.event for r in fake.got] == ["room.created", "member.added"]
    assert fake.got[1].body["data"]["users"][0]["remote_user_id"] == "3"
    assert {r.body["imba_id"] for r in fake.got} == {mine.imba_id}


def test_a_hanging_receiver_never_slows_chat(widgets, receiver) -> None:
    widget = widgets()
    _hanging, url = receiver(hang_seconds=5)
    add_webhook(widget, url, events="message.new")
    room = widget.room([1, 2], room_type=1)

    started = time.monotonic()
    for i in range(5):
        widget.send(1, room, f"fast {i}")

    assert time.monotonic() - started < 2.0


def test_replay_sends_a_delivery_again_with_the_same_id(widgets, receiver) -> None:
    widget = widgets()
    fake, url = receiver()
    add_webhook(widget, url, events="message.new")
    room = widget.room([1], room_type=1)
    widget.send(1, room, "again please")
    wait_for(lambda: len(fake.got) == 1)
    [delivery] = widget.http.get(
        f"/api/v1/{widget.imba_id}/webhooks/deliveries", auth=widget.basic
    ).json()["data"]

    replayed = widget.http.post(
        f"/api/v1/{widget.imba_id}/webhooks/deliveries/{delivery['id']}/replay", auth=widget.basic
    )

    assert replayed.status_code == 200
    wait_for(lambda: len(fake.got) == 2)
    assert fake.got[0].delivery == fake.got[1].delivery == delivery["delivery_id"]


def test_pending_deliveries_survive_a_server_restart(
    start_server, widgets, receiver, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'restart.db'}"
    first = start_server(database_url=database)
    import httpx

    from tests.factories import WidgetFactory

    with httpx.Client(base_url=first.url, timeout=30) as http:
        widget = WidgetFactory(first, http)()
        fake, url = receiver()
        fake.stop()  # the site is down: deliveries stay pending
        add_webhook(widget, url, events="message.new")
        room = widget.room([1, 2], room_type=1)
        for i in range(3):
            widget.send(1, room, f"queued {i}")
        log_url = f"/api/v1/{widget.imba_id}/webhooks/deliveries"

        def all_tried() -> bool:
            log = http.get(log_url, auth=widget.basic).json()["data"]
            return len(log) == 3 and all(d["last_error"] for d in log)

        wait_for(all_tried)
        pending = http.get(log_url, auth=widget.basic).json()["data"]
        assert {d["status"] for d in pending} == {"pending"}
    first.stop()

    back = FakeReceiver(SECRET)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    assert back.start(port) == url  # the site comes back where it was registered
    second = start_server(database_url=database, port=first.port)
    try:
        wait_for(lambda: len(back.got) == 3, timeout=15)
        assert sorted(r.body["data"]["message"]["message"] for r in back.got) == [
            "queued 0", "queued 1", "queued 2",
        ]  # fmt: skip
    finally:
        back.stop()
        second.stop()


def test_webhook_management_validates_and_lists(widgets) -> None:
    widget = widgets()
    base = f"/api/v1/{widget.imba_id}/webhooks"

    bad_url = widget.http.post(base, json={"url": "ftp://x"}, auth=widget.basic)
    bad_event = widget.http.post(
        base, json={"url": "https://a.test/h", "events": "nope"}, auth=widget.basic
    )
    short = widget.http.post(
        base, json={"url": "https://a.test/h", "secret": "x"}, auth=widget.basic
    )
    unauthenticated = widget.http.get(base)
    made = add_webhook(widget, "https://a.test/h")
    removed = widget.http.delete(f"{base}/{made['id']}", auth=widget.basic)
    listed = widget.http.get(base, auth=widget.basic).json()["data"]

    assert (bad_url.status_code, bad_event.status_code, short.status_code) == (422, 422, 422)
    assert unauthenticated.status_code == 401
    assert removed.status_code == 200
    assert [(h["id"], h["active"]) for h in listed] == [(made["id"], False)]


def test_a_new_role_is_announced_to_bots(widgets, receiver) -> None:
    widget = widgets()
    fake, url = receiver()
    add_webhook(widget, url, events="member.role")
    room = widget.room([1, 2], room_type=1)
    answer = widget.http.put(
        f"/api/v1/{widget.imba_id}/rooms/{room}/members/2/role",
        data={"role": "moderator"},
        auth=widget.basic,
    )
    assert answer.status_code == 200, answer.text

    wait_for(lambda: len(fake.got) == 1)
    data = fake.got[0].body["data"]
    assert (fake.got[0].event, data["room_id"], data["user_id"], data["role"]) == (
        "member.role",
        room,
        2,
        "moderator",
    )
