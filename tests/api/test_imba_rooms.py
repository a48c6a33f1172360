"""SPEC §1-2: POST /imbachat/v1/widget/imba_rooms creates rooms and adds members."""

from __future__ import annotations

from tests.factories import TestWidget


def test_creating_a_room_answers_the_documented_shape(widgets) -> None:
    widget: TestWidget = widgets()

    response = widget.imba_rooms(users_ids=[3, 4], room_type=1, room_title="Test API group 9")

    assert response.status_code == 200
    body = response.json()
    room_id = body["data"][0]["room_id"]
    assert body == {
        "code": 200,
        "message": "Success",
        "data": [{"success": True, "roomId": room_id, "room_id": room_id}],
    }
    assert isinstance(room_id, int)


def test_a_new_room_has_its_title_type_members_and_first_user_as_admin(widgets) -> None:
    widget = widgets()

    room_id = widget.room([7, 8, 9], room_type=1, room_title="Book club", room_is_public=1)

    [room] = widget.listed("get_rooms", room_id=room_id)
    users = {u["remote_user_id"]: u["id"] for u in widget.listed("get_users")}
    assert room["name"] == "Book club"
    assert room["type"] == 1
    assert room["is_public"] == 1
    assert room["count_users"] == 3
    assert room["admin_id"] == users["7"]
    assert set(users) == {"7", "8", "9"}


def test_defaults_are_a_closed_dialog_named_new_room_with_a_random_pipe(widgets) -> None:
    widget = widgets()

    first = widget.room([1, 2])
    second = widget.room([1, 2])

    rooms = {r["id"]: r for r in widget.listed("get_rooms")}
    assert first != second
    assert rooms[first]["name"] == "New room"
    assert rooms[first]["type"] == 0
    assert rooms[first]["is_public"] == 0
    assert rooms[first]["pipe"] != rooms[second]["pipe"]


def test_adding_by_room_id_answers_the_second_documented_shape_without_duplicates(widgets) -> None:
    widget = widgets()
    room_id = widget.room([1, 2], room_type=1)

    response = widget.imba_rooms(room_id=room_id, users_ids=[2, 3])

    assert response.status_code == 200
    assert response.json() == {
        "code": 200,
        "message": "Success",
        "data": [{"error": False, "success": True, "room_id": str(room_id)}],
    }
    [room] = widget.listed("get_rooms", room_id=room_id)
    assert room["count_users"] == 3


def test_a_known_pipe_adds_to_that_room_and_a_new_pipe_creates_it(widgets) -> None:
    widget = widgets()

    created = widget.imba_rooms(room_pipe="lobby", users_ids=[1], room_type=1)
    joined = widget.imba_rooms(room_pipe="lobby", users_ids=[2])

    assert created.json()["data"][0]["success"] is True
    assert "roomId" in created.json()["data"][0]
    room_id = created.json()["data"][0]["room_id"]
    assert joined.json()["data"][0] == {"error": False, "success": True, "room_id": str(room_id)}
    [room] = widget.listed("get_rooms", room_pipe="lobby")
    assert room["count_users"] == 2


def test_an_unknown_room_id_is_not_found(widgets) -> None:
    widget = widgets()

    response = widget.imba_rooms(room_id=999_999, users_ids=[1])

    assert response.status_code == 404
    assert response.json()["errors"] == {"room_id": [response.json()["message"]]}


def test_another_widgets_room_cannot_be_joined(widgets) -> None:
    mine, theirs = widgets(), widgets()
    their_room = theirs.room([1, 2], room_type=1)

    response = mine.imba_rooms(room_id=their_room, users_ids=[5])

    assert response.status_code == 404
    [room] = theirs.listed("get_rooms", room_id=their_room)
    assert room["count_users"] == 2


def test_wrong_password_is_401_and_creates_nothing(widgets, http) -> None:
    widget = widgets()

    response = http.post(
        "/imbachat/v1/widget/imba_rooms",
        data={**widget.owner_fields(), "password": "wrong", "users_ids[0]": "1"},
    )

    assert response.status_code == 401
    assert response.json()["code"] == 401
    assert widget.listed("get_rooms") == []
    assert widget.listed("get_users") == []


def test_another_owners_login_cannot_act_on_this_widget(widgets, http) -> None:
    mine, theirs = widgets(), widgets()

    response = http.post(
        "/imbachat/v1/widget/imba_rooms",
        data={"imba_id": str(mine.imba_id), "login": theirs.login, "password": theirs.password},
    )

    assert response.status_code == 401
