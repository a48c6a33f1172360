"""SPEC §4: POST /imbachat/v2/{imba_id}/get_rooms, by Basic auth or a user's JWT."""

from __future__ import annotations

DOCUMENTED_ROOM_KEYS = {
    "id", "pipe", "name", "admin_id", "type", "tab", "is_public", "created_at",
    "updated_at", "deleted_at", "status", "imba_id",
}  # fmt: skip


def test_a_room_has_every_documented_field_with_documented_types(widgets) -> None:
    widget = widgets()
    room_id = widget.room([1, 2], room_type=3, room_title="Technical support")

    response = widget.post("get_rooms", {"imba_id": f'"{widget.imba_id}"', "room_type": '"3"'})

    body = response.json()
    assert body["success"] == "true"
    assert body["code"] == 200
    [room] = body["data"]
    assert set(room) >= DOCUMENTED_ROOM_KEYS
    assert room["id"] == room_id
    assert room["name"] == "Technical support"
    assert (room["type"], room["tab"], room["is_public"], room["status"]) == (3, 0, 0, 0)
    assert room["imba_id"] == widget.imba_id
    assert isinstance(room["pipe"], str)
    assert isinstance(room["admin_id"], int)
    assert room["deleted_at"] is None


def test_filters_by_type_member_count_and_last_message_date(widgets) -> None:
    widget = widgets()
    dialog = widget.room([1, 2], room_type=0)
    conference = widget.room([1, 2, 3], room_type=1)
    support = widget.room([3, 1], room_type=3)
    message = widget.send(1, conference, "hi")

    def ids(**filters: str) -> list[int]:
        return [r["id"] for r in widget.listed("get_rooms", **filters)]

    assert ids(room_type="0") == [dialog]
    assert ids(room_type="1") == [conference]
    assert ids(count_users="2") == [dialog, support]
    assert ids(count_users="2", room_type="3") == [support]
    assert ids(last_message_date=message["created_at"][:10]) == [conference]
    assert ids(status="0") == [dialog, conference, support]
    assert ids(status="1") == []


def test_banned_filter_finds_rooms_with_a_banned_member(widgets) -> None:
    widget = widgets()
    calm = widget.room([1, 2])
    troubled = widget.room([1, 3])
    widget.set_member(troubled, 3, is_banned=True)

    banned = [r["id"] for r in widget.listed("get_rooms", banned="1")]
    clean = [r["id"] for r in widget.listed("get_rooms", banned="0")]

    assert banned == [troubled]
    assert clean == [calm]


def test_with_a_jwt_a_user_sees_only_their_own_rooms(widgets, http) -> None:
    widget = widgets()
    shared = widget.room([1, 2])
    theirs = widget.room([2, 3])
    mine_only = widget.room([1], room_type=1)

    response = http.post(widget.v2("get_rooms"), headers={"JWT": widget.token(1)})

    assert response.status_code == 200
    assert [r["id"] for r in response.json()["data"]] == [shared, mine_only]
    assert theirs not in [r["id"] for r in response.json()["data"]]


def test_with_a_jwt_banned_means_the_users_own_ban(widgets, http) -> None:
    widget = widgets()
    fine = widget.room([1, 2])
    banned_here = widget.room([1, 3])
    someone_else_banned = widget.room([1, 4])
    widget.set_member(banned_here, 1, is_banned=True)
    widget.set_member(someone_else_banned, 4, is_banned=True)

    response = http.post(
        widget.v2("get_rooms"), data={"banned": "1"}, headers={"JWT": widget.token(1)}
    )

    assert [r["id"] for r in response.json()["data"]] == [banned_here]
    assert fine not in [r["id"] for r in response.json()["data"]]


def test_a_jwt_of_a_user_without_rooms_sees_nothing(widgets, http) -> None:
    widget = widgets()
    widget.room([1, 2])

    response = http.post(widget.v2("get_rooms"), headers={"JWT": widget.token(99)})

    assert response.status_code == 200
    assert response.json()["data"] == []


def test_rooms_of_other_widgets_are_never_listed(widgets) -> None:
    mine, theirs = widgets(), widgets()
    my_room = mine.room([1])
    theirs.room([1])

    assert [r["id"] for r in mine.listed("get_rooms")] == [my_room]
