"""SPEC §7: names and avatars come from the widget's Users info URL, in the background."""

from __future__ import annotations

import asyncio
import base64
import time

import httpx
import pytest

from imbachat.webhooks.host_site import parse_profiles, users_info_url
from tests.fakes import FakeHostSite

JOHN = {
    "user_id": 6,
    "name": "John",
    "avatar_url": "https://site.test/john.png",
    "profile_url": "https://site.test/u/6",
    "chat_role": "admin",
}
JANE = {"user_id": 7, "name": "Jane", "avatar_url": False, "chat_role": "user"}


@pytest.fixture
def host_site():
    site = FakeHostSite(people={6: JOHN, 7: JANE})
    base = site.start()
    yield site, base
    site.stop()


def wait_for_users(widget, predicate, timeout: float = 10.0) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    while True:
        users = {u["remote_user_id"]: u for u in widget.listed("get_users")}
        if predicate(users) or time.monotonic() > deadline:
            return users
        time.sleep(0.05)


def named(users: dict[str, dict]) -> bool:
    return bool(users) and all(u["login"] != "NULL" for u in users.values())


def test_the_generic_php_url_gets_the_ids_appended_with_basic_auth(widgets, host_site) -> None:
    site, base = host_site
    widget = widgets(
        users_info_url=f"{base}/users.php?user_ids=", api_login="api", api_password="pw"
    )

    widget.room([6, 7], room_type=1)
    users = wait_for_users(widget, named)

    assert users["6"]["login"] == "John"
    assert users["6"]["avatar_url"] == "https://site.test/john.png"
    assert users["6"]["status"] == "admin"
    assert users["6"]["user_data"] == {"profile_url": "https://site.test/u/6"}
    assert users["7"]["login"] == "Jane"
    assert users["7"]["avatar_url"] is None
    assert users["7"]["status"] == "user"
    [request] = site.seen
    assert request.path == "/users.php?user_ids=6,7"
    assert request.authorization == "Basic " + base64.b64encode(b"api:pw").decode()


def test_the_wordpress_url_gets_the_ids_as_a_path(widgets, host_site) -> None:
    site, base = host_site
    widget = widgets(
        users_info_url=f"{base}/wp-json/imbachat/v1/getusers/", api_login="a", api_password="b"
    )

    widget.room([6])
    users = wait_for_users(widget, named)

    assert users["6"]["login"] == "John"
    assert [r.path for r in site.seen] == ["/wp-json/imbachat/v1/getusers/6"]


def test_an_ids_placeholder_is_filled_in_place(widgets, host_site) -> None:
    site, base = host_site
    widget = widgets(users_info_url=f"{base}/api/users/{{ids}}/info")

    widget.room([7])
    users = wait_for_users(widget, named)

    assert users["7"]["login"] == "Jane"
    assert [r.path for r in site.seen] == ["/api/users/7/info"]
    assert site.seen[0].authorization is None


def test_known_users_are_not_asked_again(widgets, host_site) -> None:
    site, base = host_site
    widget = widgets(users_info_url=f"{base}/u?ids=")
    widget.room([6])
    wait_for_users(widget, named)

    widget.room([6, 7])
    wait_for_users(widget, lambda users: len(users) == 2 and named(users))

    assert [r.path for r in site.seen] == ["/u?ids=6", "/u?ids=7"]


@pytest.mark.parametrize("mode", ["hang", "garbage", "401"])
def test_a_broken_host_site_never_delays_or_breaks_chat(widgets, host_site, mode) -> None:
    site, base = host_site
    site.mode = mode
    widget = widgets(users_info_url=f"{base}/users?ids=")

    started = time.monotonic()
    room = widget.room([6, 7], room_type=1)
    message = widget.send(6, room, "still works")
    elapsed = time.monotonic() - started

    assert elapsed < 2.0  # the hanging site takes 10 s; chat must not wait for it
    assert message["user_name"] == "User 6"
    time.sleep(0.3)
    assert {u["login"] for u in widget.listed("get_users")} == {"NULL"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"not json", []),
        (b'{"user_id": 6, "name": "x"}', []),
        (b'[1, "two", null]', []),
        (b'[{"user_id": 6}]', []),
        (b'[{"user_id": 6, "name": ""}]', []),
        (b'[{"user_id": true, "name": "Bool"}]', []),
        (b'[{"user_id": 99, "name": "Not asked"}]', []),
        (b'[{"user_id": "6", "name": " Six ", "chat_role": "root"}]', [(6, "Six", None, None)]),
        (
            b'[{"user_id": 6, "name": "X", "avatar_url": "javascript:alert(1)"}]',
            [(6, "X", None, None)],
        ),
        (
            b'[{"user_id": 6, "name": "Y", "avatar_url": "https://a/b.png", "chat_role": "admin"}]',
            [(6, "Y", "https://a/b.png", "admin")],
        ),
    ],
)
def test_only_well_formed_entries_for_asked_ids_are_kept(body, expected) -> None:
    profiles = parse_profiles(body, {6, 7})

    assert [(p.remote_user_id, p.name, p.avatar_url, p.status) for p in profiles] == expected


def test_ids_are_appended_or_substituted() -> None:
    assert (
        users_info_url("https://s/users.php?user_ids=", [1, 2])
        == "https://s/users.php?user_ids=1,2"
    )
    assert users_info_url("https://s/getusers/", [3]) == "https://s/getusers/3"
    assert users_info_url("https://s/u/{ids}?x=1", [4, 5]) == "https://s/u/4,5?x=1"


def test_users_asked_together_go_in_one_request(server, widgets, host_site) -> None:
    site, base = host_site
    widget = widgets(users_info_url=f"{base}/u?ids=")

    async def two_lookups(services) -> None:
        owner = await services.widgets.get(widget.imba_id)
        # e.g. two users connecting at once (one after the other could fall outside
        # the window on a loaded machine, each ensure being a write)
        await asyncio.gather(services.users.ensure(owner, [6]), services.users.ensure(owner, [7]))

    server.run(two_lookups)
    wait_for_users(widget, lambda users: len(users) == 2 and named(users))

    assert [r.path for r in site.seen] == ["/u?ids=6,7"]


def test_stale_profiles_are_asked_again_after_the_cache_ttl(start_server, host_site) -> None:
    import asyncio

    from tests.factories import WidgetFactory
    from tests.realtime.client import ChatClient

    site, base = host_site
    server = start_server(host_site_cache_seconds=0.5)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        widget = WidgetFactory(server, client)(users_info_url=f"{base}/u?ids=")
        widget.room([6], room_type=1)
        wait_for_users(widget, named)
        site.people[6] = {**JOHN, "name": "John Renamed"}
        time.sleep(0.6)

        async def connect() -> None:
            john = await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(6))
            await john.close()

        asyncio.run(connect())  # a stale profile is refreshed when the user shows up
        users = wait_for_users(widget, lambda u: u["6"]["login"] == "John Renamed")

    assert users["6"]["login"] == "John Renamed"
    assert len(site.seen) == 2


def test_a_failing_host_site_is_left_alone_for_a_while(widgets, host_site) -> None:
    site, base = host_site
    site.mode = "401"
    widget = widgets(users_info_url=f"{base}/u?ids=")

    for user in (11, 12, 13):
        widget.room([user], room_type=1)
        time.sleep(0.15)  # separate requests
    asked_while_failing = len(site.seen)
    for user in (14, 15):
        widget.room([user], room_type=1)
    time.sleep(0.3)

    assert asked_while_failing == 3
    assert len(site.seen) == 3  # the circuit is open: chat goes on without asking
    assert {u["name"] for u in widget.listed("get_users")} == {f"User {i}" for i in range(11, 16)}
