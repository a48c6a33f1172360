"""Finding someone to write to: ``search_users`` answers the people the user shares
a room with, by name or host id, then whoever the host site's Users search URL
finds; never anyone of another widget."""

from __future__ import annotations

import base64
import time

import httpx
import pytest

from tests.factories import WidgetFactory
from tests.fakes import FakeHostSite
from tests.realtime.client import answer_code, connect, live


@pytest.fixture
def host_site():
    site = FakeHostSite(
        people={
            7: {"user_id": 7, "name": "Bobbie Host", "avatar_url": "https://a/7.png"},
            1: {"user_id": 1, "name": "Bob the searcher himself"},
            8: {"user_id": "8", "name": "  "},  # unusable: no name
        }
    )
    base = site.start()
    yield site, base
    site.stop()


async def search(client, text: str) -> list[dict]:
    await client.send_frame({"type": "search_users", "text": text})
    found = await client.next("users_found", text=text)
    return found["users"]


def names(found: list[dict]) -> list[str]:
    return [person["name"] for person in found]


def test_people_you_share_a_room_with_are_found_by_name_or_id(server, widgets) -> None:
    widget, other = widgets(), widgets()
    widget.room([1, 2, 3, 6], room_type=1)
    widget.room([4, 5], room_type=1)
    for remote_id, name in ((2, "Bob Marley"), (3, "bobby tables"), (4, "Bob Stranger")):
        widget.set_user(remote_id, name=name)
    widget.set_user(6, name="100% sure")
    other.room([1, 9], room_type=1)
    other.set_user(9, name="Bob of another site")

    async def scenario() -> None:
        alice = await connect(server, widget, 1)
        assert names(await search(alice, "bob")) == ["Bob Marley", "bobby tables"]
        assert names(await search(alice, "3")) == ["bobby tables"]
        assert names(await search(alice, "%")) == ["100% sure"]  # no wildcards
        assert await search(alice, "nobody here") == []
        [bob] = await search(alice, "marley")
        assert bob == {"user_id": 2, "name": "Bob Marley", "avatar_url": None}
        await alice.close()

    live(scenario)


def test_the_host_sites_search_url_finds_more_people(server, widgets, host_site) -> None:
    site, base = host_site
    widget = widgets(
        users_search_url=f"{base}/wp-json/imbachat/v1/searchusers/",
        api_login="api",
        api_password="pw",
    )
    widget.room([1, 2], room_type=1)
    widget.set_user(2, name="Bob Marley")

    async def scenario() -> None:
        alice = await connect(server, widget, 1)
        found = await search(alice, "bob")
        # Contacts first, then the site's answer; never the searcher themself.
        assert found == [
            {"user_id": 2, "name": "Bob Marley", "avatar_url": None},
            {"user_id": 7, "name": "Bobbie Host", "avatar_url": "https://a/7.png"},
        ]
        await search(alice, "a b/c")
        await alice.close()

    live(scenario)
    searches = [seen for seen in site.seen if seen.method == "POST"]
    assert [seen.path for seen in searches] == [
        "/wp-json/imbachat/v1/searchusers/bob",
        "/wp-json/imbachat/v1/searchusers/a%20b%2Fc",
    ]
    assert searches[0].authorization == "Basic " + base64.b64encode(b"api:pw").decode()


@pytest.mark.parametrize("mode", ["garbage", "401", "hang"])
def test_a_broken_search_url_still_answers_contacts(start_server, host_site, mode) -> None:
    site, base = host_site
    site.mode = mode
    # Only a hanging site needs the short timeout; the others answer at once, and a
    # short one could cut off even the connect on a loaded machine.
    server = start_server(host_site_timeout_seconds=0.5 if mode == "hang" else 2)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        widget = WidgetFactory(server, client)(users_search_url=f"{base}/search?q=")
        widget.room([1, 2], room_type=1)
        widget.set_user(2, name="Bob Marley")

        async def scenario() -> None:
            alice = await connect(server, widget, 1)
            started = time.monotonic()
            assert names(await search(alice, "bob")) == ["Bob Marley"]
            assert time.monotonic() - started < 3
            await alice.close()

        live(scenario)
    assert [seen.path for seen in site.seen if seen.method == "POST"] == ["/search?q=bob"]


def test_search_text_is_1_to_100_characters(server, widgets) -> None:
    widget = widgets()

    async def scenario() -> None:
        alice = await connect(server, widget, 1)
        for text in ("   ", "x" * 101):
            assert await answer_code(alice, {"type": "search_users", "text": text}) == 422
        assert await answer_code(alice, {"type": "search_users"}) == 422
        await alice.close()

    live(scenario)
