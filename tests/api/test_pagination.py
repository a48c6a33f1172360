"""Every list takes limit (default 50, max 500), after_id or offset, and order."""

from __future__ import annotations

from imbachat.api.envelopes import NEXT_CURSOR_HEADER


def test_pages_follow_the_cursor_until_the_last_one(widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2])
    sent = [widget.send(1, room, f"m{i}")["id"] for i in range(7)]

    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        fields = {"limit": "3", **({"after_id": cursor} if cursor else {})}
        response = widget.post("get_messages", fields)
        seen += [m["id"] for m in response.json()["data"]]
        pages += 1
        cursor = response.headers.get(NEXT_CURSOR_HEADER)
        if cursor is None:
            break

    assert seen == sent
    assert pages == 3


def test_default_page_is_fifty_in_ascending_id_order(widgets) -> None:
    widget = widgets()
    widget.room(list(range(1, 61)))

    response = widget.post("get_users")

    ids = [u["id"] for u in response.json()["data"]]
    assert len(ids) == 50
    assert ids == sorted(ids)
    assert response.headers[NEXT_CURSOR_HEADER] == str(ids[-1])


def test_offset_and_descending_order(widgets) -> None:
    widget = widgets()
    room = widget.room([1])
    sent = [widget.send(1, room, f"m{i}")["id"] for i in range(5)]

    newest_first = widget.listed("get_messages", order="desc", limit="2")
    skipped = widget.listed("get_messages", offset="3")
    after_desc = widget.listed("get_messages", order="desc", after_id=str(sent[2]))

    assert [m["id"] for m in newest_first] == [sent[4], sent[3]]
    assert [m["id"] for m in skipped] == sent[3:]
    assert [m["id"] for m in after_desc] == [sent[1], sent[0]]


def test_limit_of_500_is_accepted(widgets) -> None:
    widget = widgets()
    widget.room([1])

    response = widget.post("get_rooms", {"limit": "500"})

    assert response.status_code == 200
    assert NEXT_CURSOR_HEADER not in response.headers
