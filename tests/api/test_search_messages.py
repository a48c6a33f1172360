"""POST /imbachat/v2/{imba_id}/search_messages (ours): the site's search, by Basic
auth, over the whole widget or one user's rooms, paged with ``next``/``after``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.factories import TestWidget


def found(widget: TestWidget, **fields: Any) -> dict[str, Any]:
    response = widget.post("search_messages", {k: str(v) for k, v in fields.items()})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def texts(body: dict[str, Any]) -> list[str]:
    return [message["message"] for message in body["data"]]


def test_results_come_in_the_list_envelope_with_a_next_cursor(widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_type=1)
    sent = widget.send(2, room, "Коллеги, привет! Отчёт готов")
    widget.send(2, room, "unrelated")

    body = found(widget, text="привет")
    assert body == {"success": "true", "data": [sent], "code": 200, "next": None}
    assert texts(found(widget, text="ОТЧЁТ")) == ["Коллеги, привет! Отчёт готов"]


def test_a_user_id_limits_the_search_to_that_users_rooms(widgets) -> None:
    widget = widgets()
    mine = widget.room([1, 2], room_type=1)
    theirs = widget.room([2, 3], room_type=1)
    widget.send(2, mine, "invoice for March")
    widget.send(3, theirs, "invoice for April")

    assert sorted(texts(found(widget, text="invoice"))) == [
        "invoice for April",
        "invoice for March",
    ]
    assert texts(found(widget, text="invoice", user_id=1)) == ["invoice for March"]
    assert texts(found(widget, text="invoice", room_id=theirs)) == ["invoice for April"]
    refused = widget.post("search_messages", {"text": "invoice", "user_id": "1", "room_id": theirs})
    assert refused.status_code == 403, refused.text
    unknown = widget.post("search_messages", {"text": "invoice", "user_id": "99"})
    assert unknown.status_code == 404, unknown.text
    assert unknown.json()["errors"] == {"user_id": ["No user with user_id 99."]}


def test_dates_narrow_the_search(widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_type=1)
    widget.send(2, room, "deadline tomorrow")
    today = datetime.now(UTC).date()
    yesterday = (today - timedelta(days=1)).isoformat()

    assert texts(found(widget, text="deadline", date=today.isoformat())) == ["deadline tomorrow"]
    assert texts(found(widget, text="deadline", date_from=today.isoformat())) == [
        "deadline tomorrow"
    ]
    assert texts(found(widget, text="deadline", date_to=yesterday)) == []
    assert texts(found(widget, text="deadline", date="2001-01-01")) == []


def test_pages_follow_next_as_after(widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_type=1)
    widget.store_many(room, 2, 7, text="ticket {i}")

    seen: list[str] = []
    cursor = None
    while True:
        fields: dict[str, Any] = {"text": "ticket", "limit": 3}
        if cursor is not None:
            fields["after"] = cursor
        body = found(widget, **fields)
        seen += texts(body)
        cursor = body["next"]
        if cursor is None:
            break
    assert seen == [f"ticket {i}" for i in reversed(range(7))]
    bad = widget.post("search_messages", {"text": "ticket", "after": "page two"})
    assert bad.status_code == 422 and "after" in bad.json()["errors"], bad.text


def test_bad_requests_are_refused_and_hostile_text_is_only_words(
    widgets, http: httpx.Client
) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_type=1)
    widget.send(2, room, "kiwi and lime")

    assert widget.post("search_messages", {}).status_code == 422
    assert widget.post("search_messages", {"text": "  "}).status_code == 422
    assert widget.post("search_messages", {"text": "x" * 201}).status_code == 413
    assert widget.post("search_messages", {"text": "a", "limit": "51"}).status_code == 422
    assert http.post(widget.v2("search_messages"), data={"text": "kiwi"}).status_code == 401
    other = widgets()
    assert widget.post("search_messages", {"text": "kiwi"}, auth=other.basic).status_code == 401
    for hostile in ['"kiwi', "kiwi*", "NEAR(kiwi lime)", "-lime", "kiwi OR x", "lime:", "🍋"]:
        assert texts(found(widget, text=hostile)) in ([], ["kiwi and lime"]), hostile


def test_the_operation_is_described(http: httpx.Client) -> None:
    description = http.get("/openapi.json").json()
    operation = description["paths"]["/imbachat/v2/{imba_id}/search_messages"]["post"]
    form = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form["required"] == ["text"]
    assert {"text", "user_id", "room_id", "date_from", "date_to", "limit", "after"} <= set(
        form["properties"]
    )
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["required"] == ["success", "data", "code", "next"]
