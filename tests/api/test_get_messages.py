"""SPEC §5: POST /imbachat/v2/{imba_id}/get_messages, by Basic auth or a user's JWT."""

from __future__ import annotations


def test_messages_come_in_the_list_envelope_shaped_as_send_msg(widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_type=1)
    sent = widget.send(1, room, "hello")

    response = widget.post("get_messages", {"room_id": str(room)})

    body = response.json()
    assert (body["success"], body["code"]) == ("true", 200)
    assert body["data"] == [sent]


def test_filters_by_id_room_type_author_name_role_and_date(widgets) -> None:
    widget = widgets()
    dialog = widget.room([1, 2], room_type=0)
    conference = widget.room([1, 2, 3], room_type=1)
    widget.set_user(1, name="Alice")
    widget.set_user(2, name="Bob")
    a = widget.send(1, dialog, "a")["id"]
    b = widget.send(2, dialog, "b")["id"]
    c = widget.send(1, conference, "c")["id"]
    d = widget.send(3, conference, "d")["id"]

    def ids(**filters: str) -> list[int]:
        return [m["id"] for m in widget.listed("get_messages", **filters)]

    today = widget.listed("get_messages", id=str(a))[0]["created_at"][:10]
    assert ids(id=str(b)) == [b]
    assert ids(room_type="0") == [a, b]
    assert ids(room_type="1") == [c, d]
    assert ids(user_name="Alice") == [a, c]
    assert ids(user_name="Alice", room_type="1") == [c]
    # User 1 created both rooms, so is their admin; the others are members.
    assert ids(user_role="admin") == [a, c]
    assert ids(user_role="member") == [b, d]
    assert ids(user_id="3") == [d]
    assert ids(date=today) == [a, b, c, d]
    assert ids(date="2001-01-01") == []


def test_with_a_jwt_a_user_reads_only_their_rooms(widgets, http) -> None:
    widget = widgets()
    mine = widget.room([1, 2])
    other = widget.room([2, 3])
    visible = widget.send(2, mine, "for you")["id"]
    widget.send(2, other, "not for you")

    response = http.post(widget.v2("get_messages"), headers={"JWT": widget.token(1)})
    asked_for_other = http.post(
        widget.v2("get_messages"), data={"room_id": str(other)}, headers={"JWT": widget.token(1)}
    )

    assert [m["id"] for m in response.json()["data"]] == [visible]
    assert asked_for_other.json()["data"] == []


def test_messages_of_other_widgets_are_never_listed(widgets) -> None:
    mine, theirs = widgets(), widgets()
    theirs_room = theirs.room([1])
    theirs.send(1, theirs_room, "secret")

    assert mine.listed("get_messages") == []
    assert mine.listed("get_messages", room_id=str(theirs_room)) == []
