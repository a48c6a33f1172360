"""Issue 17 in a real browser: never miss a message. While the chat is closed or the
tab is in the background, a new message of someone else plays a short sound, counts
in the tab's title and shows a desktop notification (once the user allowed them);
nothing for the user's own messages, for muted rooms, or for the room they are
looking at. Their choices live in a settings panel behind the gear."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import WATCH_ALERTS, loaded_page, screenshot

TITLE = "Host site"
QUIET = 1_500  # ms: longer than the widget waits before it alerts (at most 1.1 s)


@pytest.fixture
def open_tab(browser):
    """A tab on a host-site page, in the browser of ``person``: tabs of one person
    share a context (storage, permissions), as tabs of one browser do. Their
    notifications are allowed unless ``permission`` says otherwise ("default": not
    asked yet, "denied").

    Chromium draws only the tab in front (a tab behind it about once a second, so a
    click there waits seconds for the page to hold still): a test brings the tab it
    acts on to the front, as a person does. Whether the widget thinks its tab is
    hidden is WATCH_ALERTS's ``setHidden``, not this."""
    contexts: dict[str, object] = {}

    def open_(url: str, person: str = "me", permission: str = "granted"):
        context = contexts.get(person)
        if context is None:
            context = browser.new_context(viewport={"width": 1100, "height": 760})
            origin = re.match(r"https?://[^/]+", url).group(0)  # type: ignore[union-attr]
            if permission == "granted":
                context.grant_permissions(["notifications"], origin=origin)
            else:
                context.add_init_script(f"window.fakePermission = {permission!r};")
            context.add_init_script(WATCH_ALERTS)
            contexts[person] = context
        return loaded_page(context, url)

    yield open_
    for context in contexts.values():
        context.close()


def counts(page) -> tuple[int, int]:
    """Sounds played and notifications shown so far."""
    played, shown = page.evaluate("[alerts.sounds.length, alerts.notes.length]")
    return played, shown


def arrived(page, room: int, text: str) -> None:
    """The message is in the room's line of the (closed) chat's list."""
    expect(page.locator(f'.ic-room[data-room="{room}"] .ic-room-preview')).to_contain_text(text)


def open_room(page, room: int, tab: int = 1) -> None:
    page.click(".ic-launcher")
    page.click(f".ic-tab:nth-child({tab})")
    page.click(f'.ic-room[data-room="{room}"]')
    expect(page.locator("textarea")).to_be_visible()


@pytest.fixture
def dialog(host_site):
    """User 1's dialog with Bob (user 2); user 1 reads the page."""
    site, widget = host_site
    room = widget.room([1, 2], room_type=0)
    widget.set_user(2, name="Bob")
    return site, widget, room


def test_a_message_to_a_closed_chat_sounds_counts_in_the_title_and_notifies(
    dialog, open_tab
) -> None:
    site, widget, room = dialog
    page = open_tab(site.page_url(1))
    expect(page).to_have_title(TITLE)

    widget.send(2, room, "Are you coming tonight?")

    expect(page).to_have_title(f"(1) {TITLE}")
    page.wait_for_function("alerts.notes.length === 1 && alerts.sounds.length === 1")
    note = page.evaluate("({title: alerts.notes[0].title, ...alerts.notes[0].options})")
    assert note["title"] == "Bob"
    assert note["body"] == "Are you coming tonight?"
    assert note["tag"] == f"imbachat-{widget.imba_id}-{room}"  # one per room: a newer replaces it
    [sound] = page.evaluate("alerts.sounds")
    assert re.fullmatch(rf"{site.chat_url}/imbachat/widget/alert\.wav\?v=\w+", sound)
    served = widget.http.get(sound)
    assert served.status_code == 200 and served.headers["content-type"] == "audio/wav"
    assert "immutable" in served.headers["cache-control"]

    widget.send(2, room, "Hello?")
    expect(page).to_have_title(f"(2) {TITLE}")
    open_room(page, room)  # reading the room: the page's own title again, exactly
    expect(page).to_have_title(TITLE)
    expect(page.locator(".ic-launcher .ic-badge")).to_be_hidden()
    assert page.errors == []


def test_the_title_is_the_pages_own_when_it_is_left_and_follows_the_pages_changes(
    dialog, open_tab
) -> None:
    site, widget, room = dialog
    page = open_tab(site.page_url(1))
    widget.send(2, room, "one")
    expect(page).to_have_title(f"(1) {TITLE}")

    page.evaluate("window.dispatchEvent(new PageTransitionEvent('pagehide'))")
    expect(page).to_have_title(TITLE)  # what the browser's history keeps
    page.evaluate("window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))")
    expect(page).to_have_title(f"(1) {TITLE}")

    page.evaluate("document.title = 'Inbox – Host site'")  # the page changes its own title
    widget.send(2, room, "two")
    expect(page).to_have_title("(2) Inbox – Host site")
    open_room(page, room)
    expect(page).to_have_title("Inbox – Host site")


def test_a_tab_in_the_background_alerts_for_the_open_room_until_it_is_back(
    dialog, open_tab
) -> None:
    site, widget, room = dialog
    page = open_tab(site.page_url(1))
    open_room(page, room)
    page.evaluate("setHidden(true)")

    widget.send(2, room, "Still there?")

    expect(page).to_have_title(f"(1) {TITLE}")
    page.wait_for_function("alerts.notes.length === 1 && alerts.sounds.length === 1")
    page.evaluate("setHidden(false)")  # back to the tab: the open room is read
    expect(page).to_have_title(TITLE)
    [listed] = widget.listed("get_rooms", room_id=str(room))
    assert listed["last_seq"] == 1


def test_nothing_alerts_for_the_users_own_messages(dialog, open_tab) -> None:
    site, widget, room = dialog
    closed = open_tab(site.page_url(1))
    writing = open_tab(site.page_url(1))  # another tab of the same user
    open_room(writing, room)

    writing.fill("textarea", "Written in my other tab")
    writing.keyboard.press("Enter")
    arrived(closed, room, "Written in my other tab")
    widget.send(1, room, "Sent by the site as me")  # send_msg as that user
    arrived(closed, room, "Sent by the site as me")
    closed.wait_for_timeout(QUIET)

    for page in (closed, writing):
        assert counts(page) == (0, 0)
        expect(page).to_have_title(TITLE)


def test_nothing_alerts_for_the_room_the_user_is_looking_at_in_any_tab(dialog, open_tab) -> None:
    site, widget, room = dialog
    closed = open_tab(site.page_url(1))
    looking = open_tab(site.page_url(1))
    open_room(looking, room)

    widget.send(2, room, "Seen at once")

    expect(looking.locator(".ic-msg .ic-bubble").last).to_have_text("Seen at once")
    arrived(closed, room, "Seen at once")
    closed.wait_for_timeout(QUIET)
    # The tab with the chat closed heard that the other one read it: no alert either.
    assert counts(looking) == (0, 0) and counts(closed) == (0, 0)
    expect(closed).to_have_title(TITLE)
    expect(looking).to_have_title(TITLE)


def test_one_tab_alerts_for_a_message_not_every_tab(dialog, open_tab) -> None:
    site, widget, room = dialog
    tabs = [open_tab(site.page_url(1)) for _ in range(3)]

    widget.send(2, room, "Once, please")

    for tab in tabs:
        expect(tab).to_have_title(f"(1) {TITLE}")  # each counts it
    tabs[0].wait_for_timeout(QUIET)
    assert sum(counts(tab)[1] for tab in tabs) == 1
    assert sum(counts(tab)[0] for tab in tabs) == 1


def test_a_muted_room_alerts_nothing_and_stays_muted_after_reload(dialog, open_tab) -> None:
    site, widget, room = dialog
    page = open_tab(site.page_url(1))
    other_tab = open_tab(site.page_url(1))
    page.bring_to_front()  # the tab acted on (see open_tab)
    open_room(page, room)
    bell = page.get_by_role("button", name="Mute this conversation")
    expect(bell).to_have_attribute("aria-pressed", "false")

    bell.click()  # the alerts frame the server sends back turns it on

    expect(bell).to_have_attribute("aria-pressed", "true")
    other_tab.bring_to_front()
    other_tab.click(".ic-launcher")  # every tab of the user follows
    expect(other_tab.locator(f'.ic-room[data-room="{room}"]')).to_have_attribute(
        "aria-label", "Bob, muted"
    )
    page.bring_to_front()
    screenshot(page, "alerts-muted-room", of=".ic-panel")
    page.reload()
    page.wait_for_function("window.events.includes('resolved')")
    widget.send(2, room, "Nobody hears this")
    expect(page.locator(".ic-launcher .ic-badge")).to_have_text("1")  # counted in the chat
    page.wait_for_timeout(QUIET)
    assert counts(page) == (0, 0)
    expect(page).to_have_title(TITLE)  # but not in the title
    open_room(page, room)
    expect(bell).to_have_attribute("aria-pressed", "true")  # kept on the server

    bell.click()
    expect(bell).to_have_attribute("aria-pressed", "false")
    page.click(".ic-back")
    page.click(".ic-launcher")  # closed again
    widget.send(2, room, "Heard again")
    page.wait_for_function("alerts.notes.length === 1 && alerts.sounds.length === 1")


def test_the_owners_switch_turns_the_sound_and_its_toggle_off(dialog, open_tab) -> None:
    site, widget, room = dialog
    changed = widget.http.put(
        f"/api/v1/{widget.imba_id}/settings", data={"notify_sound": "0"}, auth=widget.basic
    )
    assert changed.status_code == 200, changed.text
    page = open_tab(site.page_url(1))
    page.wait_for_timeout(1_100)  # the server keeps a widget's settings for a second
    page.reload()
    page.wait_for_function("window.events.includes('resolved')")

    widget.send(2, room, "Silently")

    page.wait_for_function("alerts.notes.length === 1")
    page.wait_for_timeout(QUIET)
    assert counts(page) == (0, 1)
    page.click(".ic-launcher")
    page.click(".ic-gear")
    expect(page.get_by_role("radio", name="Every message")).to_be_visible()
    expect(page.get_by_role("checkbox", name="Play a sound for new messages")).to_have_count(0)


def test_the_users_sound_switch_is_kept_in_this_browser(dialog, open_tab) -> None:
    site, widget, room = dialog
    page = open_tab(site.page_url(1))
    page.click(".ic-launcher")
    page.click(".ic-gear")
    sound = page.get_by_role("checkbox", name="Play a sound for new messages")
    expect(sound).to_be_checked()
    expect(sound).to_be_focused()  # the panel takes the focus

    sound.uncheck()
    page.reload()
    page.wait_for_function("window.events.includes('resolved')")
    widget.send(2, room, "No sound for me")

    page.wait_for_function("alerts.notes.length === 1")
    page.wait_for_timeout(QUIET)
    assert counts(page) == (0, 1)
    page.click(".ic-launcher")
    page.click(".ic-gear")
    expect(sound).not_to_be_checked()
    sound.check()
    page.keyboard.press("Escape")  # closes the settings, not the chat
    expect(page.get_by_role("checkbox", name="Play a sound for new messages")).to_be_hidden()
    expect(page.locator(".ic-panel")).to_be_visible()
    expect(page.locator(".ic-gear")).to_be_focused()


def test_clicking_the_notification_opens_its_room(host_site, open_tab) -> None:
    site, widget = host_site
    widget.room([1, 2], room_type=0)
    conference = widget.room([1, 2, 3], room_type=1, room_title="Book club")
    widget.set_user(3, name="Carol")
    page = open_tab(site.page_url(1))

    widget.send(3, conference, "Chapter 4 for Friday")

    page.wait_for_function("alerts.notes.length === 1")
    note = page.evaluate("({title: alerts.notes[0].title, body: alerts.notes[0].options.body})")
    assert note == {"title": "Book club", "body": "Carol: Chapter 4 for Friday"}
    page.evaluate("alerts.notes[0].onclick()")

    expect(page.locator(".ic-panel")).to_be_visible()
    expect(page.locator(".ic-head-title")).to_contain_text("Book club")
    expect(page.locator(".ic-msg .ic-bubble").last).to_have_text("Chapter 4 for Friday")
    expect(page).to_have_title(TITLE)  # read
    assert page.evaluate("alerts.notes[0].closed")
    assert page.errors == []


def test_the_email_choice_goes_to_the_server_and_shows_after_reload(dialog, open_tab) -> None:
    site, _, _ = dialog
    page = open_tab(site.page_url(1))
    sent: list[dict[str, object]] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda text: sent.append(json.loads(text))))
    page.reload()  # its socket watched from the start
    page.wait_for_function("window.events.includes('resolved')")
    watching = open_tab(site.page_url(1))
    for tab in (page, watching):
        tab.bring_to_front()  # see open_tab
        tab.click(".ic-launcher")
        tab.click(".ic-gear")
        expect(tab.get_by_role("radio", name="Every message")).to_be_checked()
    expect(page.get_by_role("group", name="E-mail me about new messages")).to_be_visible()

    page.bring_to_front()
    page.get_by_role("radio", name="Only when I am mentioned").check()

    # The other tab shows what the server keeps, from its alerts frame.
    expect(watching.get_by_role("radio", name="Only when I am mentioned")).to_be_checked()
    assert {"type": "alerts", "email": "mentions"} in sent
    page.reload()
    page.wait_for_function("window.events.includes('resolved')")
    page.click(".ic-launcher")
    page.click(".ic-gear")
    expect(page.get_by_role("radio", name="Only when I am mentioned")).to_be_checked()
    expect(page.get_by_role("radio", name="Every message")).not_to_be_checked()
    page.get_by_role("radio", name="Never").check()
    expect(watching.get_by_role("radio", name="Never")).to_be_checked()


def test_notifications_are_offered_after_the_first_message_never_on_load(dialog, open_tab) -> None:
    site, widget, room = dialog
    page = open_tab(site.page_url(1), permission="default")
    page.wait_for_timeout(500)
    assert page.evaluate("alerts.asked") == 0  # nothing asked on load
    page.click(".ic-launcher")
    page.click(".ic-gear")
    desktop = page.get_by_role("group", name="Desktop notifications")
    expect(desktop).to_contain_text("Not turned on in this browser yet.")
    expect(desktop.get_by_role("button", name="Turn on notifications")).to_be_visible()
    page.click(".ic-back")
    page.click(f'.ic-room[data-room="{room}"]')
    offer = page.locator(".ic-ask")
    expect(offer).to_have_count(0)

    page.fill("textarea", "My first message")
    page.keyboard.press("Enter")

    expect(offer).to_contain_text("Get a notification when someone answers?")
    assert page.evaluate("alerts.asked") == 0
    screenshot(page, "alerts-offer", of=".ic-panel")
    offer.get_by_role("button", name="Turn on notifications").click()
    expect(offer).to_have_count(0)
    assert page.evaluate("alerts.asked") == 1
    page.click(".ic-gear")
    allowed = desktop.get_by_role("checkbox", name="Show a notification for new messages")
    expect(allowed).to_be_checked()
    page.click(".ic-head [aria-label='Close']")
    widget.send(2, room, "An answer")
    page.wait_for_function("alerts.notes.length === 1")


def test_the_offer_of_notifications_once_declined_is_not_made_again(dialog, open_tab) -> None:
    site, _, room = dialog
    page = open_tab(site.page_url(1), permission="default")
    open_room(page, room)
    page.fill("textarea", "first")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Not now").click()
    expect(page.locator(".ic-ask")).to_have_count(0)
    expect(page.locator("textarea")).to_be_focused()

    page.reload()
    page.wait_for_function("window.events.includes('resolved')")
    open_room(page, room)
    page.fill("textarea", "second")
    page.keyboard.press("Enter")
    expect(page.locator(".ic-msg.ic-own:not(.ic-pending) .ic-bubble").last).to_have_text("second")
    page.wait_for_timeout(500)
    expect(page.locator(".ic-ask")).to_have_count(0)
    assert page.evaluate("alerts.asked") == 0


def test_blocked_notifications_say_where_to_allow_them(dialog, open_tab) -> None:
    site, _, _ = dialog
    page = open_tab(site.page_url(1), permission="denied")
    page.click(".ic-launcher")
    page.click(".ic-gear")

    desktop = page.get_by_role("group", name="Desktop notifications")
    expect(desktop).to_contain_text("Blocked: allow notifications for this site")
    expect(desktop.get_by_role("button")).to_have_count(0)
    screenshot(page, "alerts-settings", of=".ic-panel")
