"""SPEC §3: POST /imbachat/v2/{imba_id}/get_users lists users with AND-ed filters."""

from __future__ import annotations

DOCUMENTED_USER_KEYS = {
    "id", "deleted_at", "created_at", "updated_at", "remote_user_id", "user_data",
    "imba_id", "login", "password", "status", "avatar_url",
}  # fmt: skip


def test_a_user_has_every_documented_field_with_documented_types(widgets) -> None:
    widget = widgets()
    widget.room([42])
    widget.set_user(42, name="John", avatar_url="https://example.test/a.png", status="admin")

    response = widget.post("get_users", {"imba_id": str(widget.imba_id)})

    assert response.status_code == 200
    body = response.json()
    assert body["success"] == "true"
    assert body["code"] == 200
    [user] = body["data"]
    assert set(user) >= DOCUMENTED_USER_KEYS
    assert user["remote_user_id"] == "42"
    assert user["imba_id"] == widget.imba_id
    assert user["login"] == "John"
    assert user["password"] == "NULL"
    assert user["status"] == "admin"
    assert user["avatar_url"] == "https://example.test/a.png"
    assert user["deleted_at"] is None
    assert len(user["created_at"]) == len("2020-11-23 05:26:41")


def test_an_unnamed_user_shows_login_null_as_documented(widgets) -> None:
    widget = widgets()
    widget.room([5])

    [user] = widget.listed("get_users")

    assert user["login"] == "NULL"
    assert user["name"] == "User 5"


def test_filters_combine_with_and(widgets) -> None:
    widget = widgets()
    widget.room([1, 2, 3, 4])
    widget.set_user(1, status="admin", name="Ann")
    widget.set_user(2, status="admin", name="Ben", is_banned=True)
    widget.set_user(3, name="Ann")

    def remote_ids(**filters: str) -> set[str]:
        return {u["remote_user_id"] for u in widget.listed("get_users", **filters)}

    assert remote_ids(status="admin") == {"1", "2"}
    assert remote_ids(status="user") == {"3", "4"}
    assert remote_ids(login="Ann") == {"1", "3"}
    assert remote_ids(login="Ann", status="admin") == {"1"}
    assert remote_ids(banned="1") == {"2"}
    assert remote_ids(banned="0", status="admin") == {"1"}
    assert remote_ids(user_id="4") == {"4"}


def test_id_filter_is_the_imbachat_id(widgets) -> None:
    widget = widgets()
    widget.room([10, 11])
    ids = {u["remote_user_id"]: u["id"] for u in widget.listed("get_users")}

    [user] = widget.listed("get_users", id=str(ids["11"]))

    assert user["remote_user_id"] == "11"


def test_last_message_date_matches_the_day_of_the_last_message(widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2])
    message = widget.send(1, room, "hello")
    today = message["created_at"][:10]

    on_day = widget.listed("get_users", last_message_date=today)
    other_day = widget.listed("get_users", last_message_date="2001-01-01")
    since = widget.listed("get_users", last_message_date_from=today)

    assert [u["remote_user_id"] for u in on_day] == ["1"]
    assert on_day[0]["last_message_date"] == message["created_at"]
    assert other_day == []
    assert [u["remote_user_id"] for u in since] == ["1"]


def test_users_of_other_widgets_are_never_listed(widgets) -> None:
    mine, theirs = widgets(), widgets()
    mine.room([1])
    theirs.room([1, 2])

    listed = mine.listed("get_users")

    assert [(u["remote_user_id"], u["imba_id"]) for u in listed] == [("1", mine.imba_id)]


def test_the_documented_quoted_values_work(widgets) -> None:
    widget = widgets()
    widget.room([1, 2])
    widget.set_user(2, status="admin")

    response = widget.post("get_users", {"imba_id": f'"{widget.imba_id}"', "status": '"user"'})

    assert [u["remote_user_id"] for u in response.json()["data"]] == ["1"]
