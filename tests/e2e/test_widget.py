"""Issue 4 in a real browser: two people chat through the embedded widget, exactly
as a site's visitors would, on a host page with a hostile stylesheet."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.host_site import HostSite
from tests.fakes import FakeHostSite

MSG = ".ic-msg .ic-bubble"


def open_room(page, room_id: int) -> None:
    page.click(".ic-launcher")
    page.click(f".ic-tab:nth-child({ {0: 1, 1: 2, 3: 3}[1] })")
    page.click(f'.ic-room[data-room="{room_id}"]')
    expect(page.locator("textarea")).to_be_visible()


def test_two_users_see_each_others_messages_live(host_site, open_page) -> None:
    site, widget = host_site
    room = widget.room([1, 2], room_type=1, room_title="Book club")
    alice, bob = open_page(site.page_url(1)), open_page(site.page_url(2))
    open_room(alice, room)
    open_room(bob, room)

    alice.fill("textarea", "Hi Bob, are you there?")
    alice.keyboard.press("Enter")
    expect(bob.locator(MSG).last).to_have_text("Hi Bob, are you there?")
    bob.fill("textarea", "Yes!\nTwo lines, sent with Enter")
    bob.keyboard.press("Enter")
    expect(alice.locator(MSG).last).to_have_text("Yes!\nTwo lines, sent with Enter")

    expect(alice.locator(".ic-msg.ic-own")).to_have_count(1)
    assert [m["message"] for m in widget.listed("get_messages", room_id=str(room))] == [
        "Hi Bob, are you there?",
        "Yes!\nTwo lines, sent with Enter",
    ]
    screenshot(bob, "conversation")
    assert alice.errors == [] and bob.errors == []


def test_shift_enter_makes_a_new_line_without_sending(host_site, open_page) -> None:
    site, widget = host_site
    room = widget.room([1, 2], room_type=1)
    alice = open_page(site.page_url(1))
    open_room(alice, room)

    alice.type("textarea", "first")
    alice.keyboard.press("Shift+Enter")
    alice.type("textarea", "second")

    expect(alice.locator("textarea")).to_have_value("first\nsecond")
    assert widget.listed("get_messages", room_id=str(room)) == []


def test_the_unread_badge_counts_up_and_clears_on_reading(host_site, open_page) -> None:
    site, widget = host_site
    room = widget.room([1, 2], room_type=1)
    bob = open_page(site.page_url(2))
    badge = bob.locator(".ic-launcher .ic-badge")
    expect(badge).to_be_hidden()

    widget.send(1, room, "one")
    widget.send(1, room, "two")
    expect(badge).to_have_text("2")
    screenshot(bob, "unread-badge")

    open_room(bob, room)
    expect(badge).to_be_hidden()
    [listed] = widget.listed("get_rooms", room_id=str(room))
    # The read mark is stored: a fresh page load shows nothing unread either.
    bob.reload()
    bob.wait_for_function("window.events.includes('resolved')")
    expect(bob.locator(".ic-launcher .ic-badge")).to_be_hidden()
    assert listed["last_seq"] == 2


def test_history_loads_when_scrolling_up(host_site, open_page) -> None:
    site, widget = host_site
    room = widget.room([1, 2], room_type=1)
    for i in range(1, 76):
        widget.send(1, room, f"message {i}")
    bob = open_page(site.page_url(2))
    open_room(bob, room)
    expect(bob.locator(MSG).last).to_have_text("message 75")
    expect(bob.locator(".ic-msg")).to_have_count(30)

    for expected in (60, 75):
        bob.locator(".ic-messages").evaluate(
            "box => { box.scrollTop = 0; box.dispatchEvent(new Event('scroll')); }"
        )
        expect(bob.locator(".ic-msg")).to_have_count(expected)
    expect(bob.locator(MSG).first).to_have_text("message 1")


def test_write_a_message_opens_a_dialog_with_that_user(host_site, open_page) -> None:
    site, widget = host_site
    widget.room([1], room_type=1)
    alice = open_page(site.page_url(1, other=3))

    alice.click("#write")  # the profile page's button calls imbaChat.openDialog('3')

    expect(alice.locator(".ic-head-title")).to_contain_text("User 3")
    alice.fill("textarea", "Hello user 3")
    alice.keyboard.press("Enter")
    expect(alice.locator(MSG).last).to_have_text("Hello user 3")
    [dialog] = widget.listed("get_rooms", room_type="0")
    assert dialog["count_users"] == 2
    alice.click("#write")  # the same dialog again, not a second one
    assert len(widget.listed("get_rooms", room_type="0")) == 1


def test_markup_in_messages_is_shown_as_text_and_never_run(host_site, open_page) -> None:
    site, widget = host_site
    room = widget.room([1, 2], room_type=1)
    bob = open_page(site.page_url(2))
    open_room(bob, room)
    attack = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script> see https://example.com/a?b=1'

    widget.send(1, room, attack)

    bubble = bob.locator(MSG).last
    expect(bubble).to_have_text(attack)
    assert bubble.locator("img, script").count() == 0
    link = bubble.locator("a")
    expect(link).to_have_attribute("href", "https://example.com/a?b=1")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    assert bob.evaluate("window.pwned") is None


def test_the_widget_recovers_after_the_server_restarts(start_server, widgets, open_page) -> None:
    from tests.e2e.host_site import HostSite

    chat = start_server()
    widget = widgets()
    room = widget.room([1, 2], room_type=1)
    site = HostSite(chat.url, widget.imba_id, widget.secret_key)
    try:
        bob = open_page(site.page_url(2))
        open_room(bob, room)
        chat.stop()
        expect(bob.locator(".ic-offline")).to_be_visible()
        again = start_server(port=chat.port)
        again.run(lambda s: _send(s, widget.imba_id, room, "while you were away"))
        expect(bob.locator(MSG).last).to_have_text("while you were away", timeout=20_000)
        expect(bob.locator(".ic-offline")).to_be_hidden()
        bob.fill("textarea", "back online")
        bob.keyboard.press("Enter")
        expect(bob.locator(".ic-msg.ic-own:not(.ic-pending) .ic-bubble")).to_have_text(
            "back online"
        )
        assert [m["seq"] for m in widget.listed("get_messages", room_id=str(room))] == [1, 2]
    finally:
        site.stop()


async def _send(services, imba_id: int, room: int, text: str) -> None:
    from imbachat.services.messages import SendCommand

    widget = await services.widgets.get(imba_id)
    await services.messages.send(widget, SendCommand(1, room, text))


def test_the_plugin_api_surface(host_site, open_page) -> None:
    site, widget = host_site
    widget.room([1, 2], room_type=1)
    page = open_page(site.page_url(1))

    # onInitSuccess first, as the plugins expect; the promise and the event follow.
    events = page.evaluate("window.events")
    assert events[0] == "onInitSuccess"
    assert sorted(events) == ["imbaChat.loaded", "onInitSuccess", "resolved"]
    assert page.evaluate("window.imbaChat === window.ImbaChat")
    assert page.evaluate("window.imbaChat.room_type") == {
        "dialog": 0,
        "conference": 1,
        "support": 3,
    }
    late = page.evaluate("new Promise(r => window.imbaApi.on('imbaChat.loaded', () => r('late')))")
    assert late == "late"  # listeners registered after loading still fire

    page.evaluate("window.imbaChat.openChat()")
    expect(page.locator(".ic-panel").first).to_be_visible()
    page.evaluate(
        "window.imbaChat.addToRoom({pipe: 'public-lobby', title: 'Lobby', is_public: 1,"
        " type: window.imbaChat.room_type.conference, users_ids: [{user_id: 2}]})"
    )
    expect(page.locator(".ic-head-title")).to_contain_text("Lobby")
    [lobby] = widget.listed("get_rooms", room_pipe="public-lobby")
    assert (lobby["name"], lobby["is_public"], lobby["count_users"]) == ("Lobby", 1, 2)

    page.evaluate("window.imbaApi.placeHolder('public-chat', 'Public chat')")
    inline = page.locator("#public-chat .ic-inline .ic-head-title")
    expect(inline).to_contain_text("Public chat")
    expect(page.locator("#public-chat .ic-inline textarea")).to_be_visible()
    [public] = widget.listed("get_rooms", room_pipe="public-public-chat")
    assert (public["name"], public["is_public"], public["type"]) == ("Public chat", 1, 1)


def test_options_language_position_open_and_container(host_site, open_page) -> None:
    site, widget = host_site
    widget.room([1, 2], room_type=1)

    spanish = open_page(site.page_url(1, lang="es", position="left", open=1))
    expect(spanish.locator(".ic-tab").first).to_have_text(re.compile("Diálogos"))
    expect(spanish.locator(".ic-panel")).to_be_visible()
    assert "ic-start" in spanish.locator(".ic-float").get_attribute("class")

    russian = open_page(site.page_url(1, lang="ru", container="public-chat"))
    expect(russian.locator("#public-chat .ic-inline .ic-tab").first).to_have_text(
        re.compile("Диалоги")
    )
    assert russian.locator(".ic-launcher").count() == 0
    screenshot(spanish, "room-list-es")


def test_the_host_pages_css_does_not_reach_the_widget(host_site, open_page) -> None:
    site, widget = host_site
    widget.room([1, 2], room_type=1)
    page = open_page(site.page_url(1, open=1))

    tab = page.locator(".ic-tab").first
    font = tab.evaluate("node => getComputedStyle(node).fontFamily")
    transform = tab.evaluate("node => getComputedStyle(node).textTransform")

    assert "Comic Sans" not in font
    assert transform == "none"


def test_a_user_creates_a_conference_with_people_they_know(host_site, open_page) -> None:
    site, widget = host_site
    widget.room([1, 2], room_type=0)
    widget.room([1, 3], room_type=0)
    alice = open_page(site.page_url(1))
    alice.click(".ic-launcher")
    alice.get_by_role("tab", name="Conferences").click()

    alice.get_by_role("button", name="+ New conference").click()
    alice.fill(".ic-form input[type=text]", "Weekend trip")
    alice.locator(".ic-pick", has_text="User 2").locator("input").check()
    alice.locator(".ic-pick", has_text="User 3").locator("input").check()
    alice.get_by_role("button", name="Create").click()

    expect(alice.locator(".ic-head-title")).to_contain_text("Weekend trip")
    [trip] = widget.listed("get_rooms", room_type="1")
    assert (trip["name"], trip["count_users"]) == ("Weekend trip", 3)


def test_a_dialog_opens_by_typing_a_user_id(host_site, open_page) -> None:
    site, widget = host_site
    widget.room([1], room_type=1)
    alice = open_page(site.page_url(1))
    alice.click(".ic-launcher")

    alice.fill(".ic-tools input", "8")
    alice.get_by_role("button", name="Write", exact=True).click()

    expect(alice.locator(".ic-head-title")).to_contain_text("User 8")


def test_someone_to_write_to_is_found_by_name(host_site, open_page) -> None:
    site, widget = host_site
    room = widget.room([1, 2], room_type=1, room_title="Band")
    widget.set_user(2, name="Bob Marley")
    alice = open_page(site.page_url(1))
    alice.click(".ic-launcher")

    alice.fill(".ic-tools input", "marl")
    result = alice.locator(".ic-found .ic-person")
    expect(result).to_have_text("BBob Marley")  # the avatar's initial, then the name
    widget.send(2, room, "a message meanwhile re-renders the list")
    expect(alice.locator(".ic-badge").first).to_have_text("1")
    expect(alice.locator(".ic-tools input")).to_have_value("marl")
    result.click()

    expect(alice.locator(".ic-head-title")).to_contain_text("Bob Marley")
    assert alice.errors == []


def test_authors_reply_edit_and_delete_from_the_message_menu(host_site, open_page) -> None:
    site, widget = host_site
    room = widget.room([1, 2], room_type=1)
    question = widget.send(2, room, "Lunch at noon?")
    alice = open_page(site.page_url(1))
    open_room(alice, room)
    alice.on("dialog", lambda dialog: dialog.accept())

    alice.locator(".ic-msg", has_text="Lunch at noon?").hover()
    alice.locator(".ic-msg", has_text="Lunch at noon?").get_by_role("button", name="Reply").click()
    alice.fill("textarea", "Yes, noon works")
    alice.keyboard.press("Enter")
    mine = alice.locator(".ic-msg.ic-own:not(.ic-pending)", has_text="noon works")
    expect(mine.locator(".ic-quote")).to_contain_text("Lunch at noon?")
    mine.hover()
    mine.get_by_role("button", name="Edit").click()
    alice.fill("textarea", "Yes, 12:30 works better")
    alice.keyboard.press("Enter")
    expect(alice.locator(".ic-msg.ic-own .ic-bubble").last).to_contain_text("12:30 works better")
    alice.locator(".ic-msg.ic-own").last.hover()
    alice.locator(".ic-msg.ic-own").last.get_by_role("button", name="Delete").click()
    expect(alice.locator(".ic-msg.ic-deleted")).to_have_count(1)

    stored = widget.listed("get_messages", room_id=str(room))
    assert [m["id"] for m in stored] == [question["id"]]  # the reply was deleted


def test_a_name_the_host_site_changes_shows_up_without_a_reload(server, widgets, open_page) -> None:
    people = FakeHostSite(people={1: {"user_id": 1, "name": "Alice"}})
    widget = widgets(users_info_url=f"{people.start()}/u?ids=")
    site = HostSite(server.url, widget.imba_id, widget.secret_key)
    try:
        room = widget.room([1, 2], room_type=0)
        bob = open_page(site.page_url(2))
        bob.click(".ic-launcher")
        dialog = bob.locator(f'.ic-room[data-room="{room}"]')
        expect(dialog).to_be_visible()

        people.people[1] = {"user_id": 1, "name": "Alice Cooper"}

        async def refresh(services) -> None:
            owner = await services.widgets.get(widget.imba_id)
            await services.profiles.refresh(owner, [1])

        server.run(refresh)
        expect(dialog).to_contain_text("Alice Cooper")
        assert bob.evaluate("window.events.filter(e => e === 'imbaChat.loaded').length") == 1
        assert bob.errors == []
    finally:
        site.stop()
        people.stop()


def test_when_the_token_expires_the_widget_asks_the_page_for_a_new_one(
    start_server, widgets, open_page
) -> None:
    """Close 4003: the widget calls load()'s getToken, reconnects with the fresh
    token and resumes; the person keeps chatting."""
    server = start_server(token_leeway_seconds=0, ws_credentials_check_seconds=0.2)
    widget = widgets()
    site = HostSite(server.url, widget.imba_id, widget.secret_key)
    try:
        room = widget.room([1, 2], room_type=1)
        # The token outlives a slow page load on a loaded machine, then expires.
        alice = open_page(site.page_url(1, ttl=4, renew=1))
        open_room(alice, room)
        alice.wait_for_function("window.events.includes('getToken')", timeout=10_000)
        expect(alice.locator(".ic-offline")).to_be_hidden()  # back, with the new token
        alice.fill("textarea", "still here")
        alice.keyboard.press("Enter")
        stored = alice.locator(".ic-msg.ic-own:not(.ic-pending) .ic-bubble")
        expect(stored.last).to_have_text("still here")  # acknowledged: stored
        messages = widget.listed("get_messages", room_id=str(room))
        assert [m["message"] for m in messages] == ["still here"]
        assert alice.errors == []
    finally:
        site.stop()
