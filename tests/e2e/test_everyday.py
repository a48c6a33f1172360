"""Issue 18 in a real browser: what people do around messages. Two (or three) members
in Chromium: reactions and mentions reach the other live (the "@" badge, the
highlight, an alert even in a muted room); the search finds a message by a Russian
and by an English word and opens its room at it; a blocked user's dialog refuses
sends with the reason; a report reaches the room's admin, who deletes the message;
a pinned message shows for everyone. The new views have no serious accessibility
violation."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import WATCH_ALERTS, loaded_page, screenshot
from tests.e2e.test_accessibility import serious_violations

QUIET = 1_500  # ms: longer than the widget waits before it alerts (at most 1.1 s)


def open_room(page: Any, room: int, tab: int = 2) -> None:
    page.click(".ic-launcher")
    page.click(f".ic-tab:nth-child({tab})")
    page.click(f'.ic-room[data-room="{room}"]')
    expect(page.locator(".ic-messages")).to_be_visible()


def message(page: Any, text: str) -> Any:
    return page.locator(".ic-msg:not(.ic-pending)", has_text=text)


def sent_frames(page: Any) -> list[dict[str, Any]]:
    """The frames the page's socket sends from now on (the page is reloaded to watch
    its socket from the start)."""
    sent: list[dict[str, Any]] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda text: sent.append(json.loads(text))))
    page.reload()
    page.wait_for_function("window.events.includes('resolved')")
    return sent


@pytest.fixture
def book_club(host_site: Any) -> tuple[Any, Any, int]:
    """Alice (1, the room's admin) and Bob (2) in the conference "Book club"."""
    site, widget = host_site
    room = widget.room([1, 2], room_type=1, room_title="Book club")
    widget.set_user(1, name="Alice")
    widget.set_user(2, name="Bob")
    return site, widget, room


def test_reactions_and_mentions_reach_the_other_member_live(book_club: Any, open_page: Any) -> None:
    site, widget, room = book_club
    widget.send(2, room, "Picnic on Sunday?")
    alice = open_page(site.page_url(1))
    sent = sent_frames(alice)
    bob = open_page(site.page_url(2))
    bob.click(".ic-launcher")
    bob.click(".ic-tab:nth-child(2)")
    open_room(alice, room)

    # "@" and a name's first letters: the members to mention; Enter puts the name in.
    alice.locator("textarea").press_sequentially("@Bo")
    suggestion = alice.get_by_role("option", name="Bob")
    expect(suggestion).to_be_visible()
    expect(alice.get_by_role("listbox", name="People to mention")).to_be_visible()
    alice.keyboard.press("Enter")
    expect(alice.locator("textarea")).to_have_value("@Bob ")
    alice.locator("textarea").press_sequentially("bring the blanket")
    alice.keyboard.press("Enter")
    expect(message(alice, "@Bob bring the blanket")).to_have_count(1)
    [send] = [f for f in sent if f["type"] == "send"]
    assert send["mentions"] == [2]

    # Bob's list: the room counts the mention ("@"), and the message is highlighted.
    line = bob.locator(f'.ic-room[data-room="{room}"]')
    expect(line.locator(".ic-badge.ic-at")).to_have_text("@")
    expect(line).to_have_attribute("aria-label", re.compile(r"1 mention$"))
    line.click()
    expect(message(bob, "@Bob bring the blanket")).to_have_class(re.compile("ic-mention"))
    expect(message(bob, "Picnic on Sunday?")).not_to_have_class(re.compile("ic-mention"))
    bob.click(".ic-back")
    expect(line.locator(".ic-badge.ic-at")).to_have_count(0)  # read: the count is gone
    line.click()

    # Alice reacts from the message's "add a reaction" button: Bob sees it live.
    picnic = message(alice, "Picnic on Sunday?")
    picnic.hover()
    picnic.get_by_role("button", name="Add a reaction").click()
    alice.get_by_role("menuitemcheckbox", name="👍").click()
    chip = message(bob, "Picnic on Sunday?").locator(".ic-react")
    expect(chip).to_have_text("👍 1")
    expect(chip).to_have_attribute("aria-pressed", "false")
    expect(chip).to_have_attribute("aria-label", "👍 1: Alice")
    mine = picnic.locator(".ic-react")
    expect(mine).to_have_attribute("aria-pressed", "true")

    chip.click()  # Bob adds his: two
    expect(mine).to_have_text("👍 2")
    expect(chip).to_have_attribute("aria-pressed", "true")
    expect(chip).to_have_attribute("title", "Alice, Bob")
    mine.click()  # Alice takes hers back
    expect(chip).to_have_text("👍 1")
    expect(chip).to_have_attribute("title", "Bob")
    assert alice.errors == [] and bob.errors == []


def test_the_message_menu_works_by_keyboard_and_a_long_press(
    book_club: Any, open_page: Any
) -> None:
    site, widget, room = book_club
    widget.send(2, room, "Chapter five tonight")
    alice = open_page(site.page_url(1))
    open_room(alice, room)
    shadow = "document.querySelector('[data-imbachat]').shadowRoot"

    # The focused element's label; "" when the focus left the widget.
    label = (
        f"{shadow}.activeElement ? ({shadow}.activeElement.getAttribute('aria-label') || '-') : ''"
    )
    for _ in range(3):  # the list drawn again meanwhile (news from the socket) drops focus
        alice.bring_to_front()  # the window focus, for the keyboard (see the report test)
        alice.locator(".ic-messages").focus()
        alice.keyboard.press("ArrowUp")
        expect(message(alice, "Chapter five tonight")).to_be_focused()
        for _ in range(5):  # the message's actions: Reply, the reaction, "More actions"
            alice.keyboard.press("Tab")
            if alice.evaluate(label) in ("More actions", ""):
                break
        if alice.evaluate(label) == "More actions":
            break
    alice.keyboard.press("Enter")
    menu = alice.get_by_role("menu", name="More actions")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("menuitemcheckbox", name="👍")).to_be_focused()
    alice.keyboard.press("ArrowDown")
    expect(menu.get_by_role("menuitemcheckbox", name="❤️")).to_be_focused()
    alice.keyboard.press("Escape")  # closes the menu, not the chat; focus goes back
    expect(menu).to_have_count(0)
    expect(alice.locator(".ic-panel")).to_be_visible()
    assert alice.evaluate(f"{shadow}.activeElement.getAttribute('aria-label')") == "More actions"

    # A long press (a touch screen's context menu) opens the same menu.
    message(alice, "Chapter five tonight").locator(".ic-bubble").dispatch_event("contextmenu")
    expect(menu.get_by_role("menuitem", name="Report")).to_be_visible()
    expect(menu.get_by_role("menuitem", name="Pin")).to_be_visible()  # Alice is the admin
    menu.get_by_role("menuitem", name="Reply").click()
    expect(alice.locator(".ic-bar")).to_contain_text("Chapter five tonight")
    assert alice.errors == []


def test_a_mention_alerts_even_in_a_muted_room(book_club: Any, browser: Any) -> None:
    site, widget, room = book_club
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    origin = re.match(r"https?://[^/]+", site.url).group(0)  # type: ignore[union-attr]
    context.grant_permissions(["notifications"], origin=origin)
    context.add_init_script(WATCH_ALERTS)
    try:
        bob = loaded_page(context, site.page_url(2))
        open_room(bob, room)
        bob.click(".ic-bell")  # Bob mutes the room
        expect(bob.locator(".ic-bell")).to_have_attribute("aria-pressed", "true")
        bob.click(".ic-back")
        bob.click(".ic-icon-btn[aria-label='Close']")

        widget.send(1, room, "Anyone reading this?")
        bob.wait_for_timeout(QUIET)
        assert bob.evaluate("alerts.notes.length") == 0  # muted

        widget.send(1, room, "@Bob are you coming?", **{"mentions[0]": "2"})
        bob.wait_for_function("alerts.notes.length === 1")
        note = bob.evaluate("alerts.notes[0].options.body")
        assert note == "Alice: @Bob are you coming?"
        expect(bob).to_have_title("(1) Host site")  # a muted room counts its mentions
    finally:
        context.close()


@pytest.fixture
def long_room(host_site: Any) -> tuple[Any, Any, int, dict[str, Any], dict[str, Any]]:
    """Alice (1) and Bob (2) with two messages worth finding, then 60 more by Carol (3):
    the two are not in the room's latest page."""
    site, widget = host_site
    room = widget.room([1, 2, 3], room_type=1, room_title="Travel plans")
    widget.set_user(2, name="Bob")
    russian = widget.send(2, room, "Встречаемся у библиотеки в субботу утром")
    english = widget.send(2, room, "The lighthouse tour starts at nine")
    widget.store_many(room, 3, 60, text="filler {i}")
    return site, widget, room, russian, english


def test_search_finds_a_message_by_a_russian_and_an_english_word_and_opens_it(
    long_room: Any, open_page: Any
) -> None:
    site, _, room, russian, english = long_room
    alice = open_page(site.page_url(1))
    alice.click(".ic-launcher")

    alice.get_by_role("button", name="Search messages").click()
    field = alice.get_by_role("searchbox", name="Words to find")
    expect(field).to_be_focused()
    field.fill("библиотеки")
    results = alice.locator(".ic-result")
    expect(results).to_have_count(1)
    expect(results.locator("mark")).to_have_text("библиотеки")
    expect(results).to_contain_text("Travel plans")
    expect(results).to_have_attribute("data-room", str(room))
    expect(results).to_contain_text("Bob")
    expect(alice.locator(".ic-form [role=status]")).to_have_text("1 message found")

    field.fill("lighthouse")
    expect(results).to_have_count(1)
    expect(results.locator("mark")).to_have_text("lighthouse")
    field.fill("nothingmatcheshere")
    expect(alice.locator(".ic-form [role=status]")).to_have_text("No messages found.")
    field.fill("lighthouse")
    results.click()

    # The room opens at the message (loaded around it), shown and focused.
    found = alice.locator(f'.ic-msg[data-seq="{english["seq"]}"]')
    expect(found).to_be_visible()
    expect(found).to_be_in_viewport()
    expect(found).to_be_focused()
    expect(alice.locator(".ic-head-title")).to_contain_text("Travel plans")
    expect(alice.locator(f'.ic-msg[data-seq="{russian["seq"]}"]')).to_have_count(1)
    # Scrolling down loads the later messages, up to the latest.
    latest = message(alice, "filler 59")
    for _ in range(10):
        if latest.count():
            break
        alice.locator(".ic-messages").evaluate("box => { box.scrollTop = box.scrollHeight; }")
        alice.wait_for_timeout(300)
    expect(latest).to_have_count(1)
    assert alice.errors == []


def test_a_blocked_users_dialog_refuses_sends_with_the_reason(
    host_site: Any, open_page: Any
) -> None:
    site, widget = host_site
    dialog = widget.room([1, 2], room_type=0)
    widget.set_user(1, name="Alice")
    widget.set_user(2, name="Bob")
    widget.send(2, dialog, "Hi Alice")
    alice = open_page(site.page_url(1))
    bob = open_page(site.page_url(2))
    open_room(alice, dialog, tab=1)
    alice.on("dialog", lambda d: d.accept())

    alice.get_by_role("button", name="Conversation menu").click()
    alice.get_by_role("menuitem", name="Block").click()
    notice = alice.locator(".ic-readonly", has_text="You blocked this user.")
    expect(notice).to_be_visible()
    expect(alice.locator(".ic-composer")).to_be_hidden()

    open_room(bob, dialog, tab=1)
    bob.fill("textarea", "Hello?")
    bob.keyboard.press("Enter")
    refused = bob.locator(".ic-msg.ic-failed .ic-meta")
    expect(refused).to_contain_text("You cannot send messages to this user.")

    # Alice's settings list Bob, with Unblock; unblocking gives her the composer back.
    alice.click(".ic-gear")
    blocked = alice.get_by_role("group", name="Blocked users")
    expect(blocked.locator(".ic-pick")).to_have_text(re.compile("Bob"))
    blocked.get_by_role("button", name="Unblock Bob").click()
    expect(blocked).to_contain_text("You have not blocked anyone.")
    alice.click(".ic-back")
    expect(alice.locator(".ic-composer")).to_be_visible()
    expect(notice).to_be_hidden()
    assert alice.errors == [] and bob.errors == []


def test_the_notice_unblocks_in_place(host_site: Any, open_page: Any) -> None:
    site, widget = host_site
    dialog = widget.room([1, 2], room_type=0)
    widget.set_user(2, name="Bob")
    alice = open_page(site.page_url(1))
    open_room(alice, dialog, tab=1)
    alice.on("dialog", lambda d: d.accept())
    alice.get_by_role("button", name="Conversation menu").click()
    alice.get_by_role("menuitem", name="Block").click()
    expect(alice.locator(".ic-composer")).to_be_hidden()

    alice.locator(".ic-readonly").get_by_role("button", name="Unblock").click()
    expect(alice.locator(".ic-composer")).to_be_visible()
    expect(alice.locator("textarea")).to_be_focused()
    alice.fill("textarea", "Sorry, wrong button")
    alice.keyboard.press("Enter")
    expect(message(alice, "Sorry, wrong button")).to_have_count(1)


def test_a_report_reaches_the_rooms_admin_who_deletes_the_message(
    host_site: Any, open_page: Any
) -> None:
    site, widget = host_site
    room = widget.room([3, 1, 2], room_type=1, room_title="Garden club")  # Carol: admin
    for user, name in ((1, "Alice"), (2, "Bob"), (3, "Carol")):
        widget.set_user(user, name=name)
    widget.send(2, room, "Cheap watches at spam.example")
    carol = open_page(site.page_url(3))
    open_room(carol, room)
    carol.get_by_role("button", name="Conversation menu").click()
    carol.get_by_role("menuitem", name="Reports").click()
    expect(carol.locator(".ic-form [role=status]")).to_have_text("No open reports.")

    alice = open_page(site.page_url(1))
    open_room(alice, room)
    spam = message(alice, "Cheap watches")
    spam.hover()
    spam.get_by_role("button", name="More actions").click()
    alice.get_by_role("menuitem", name="Report").click()
    report = alice.get_by_role("dialog", name="Report this message")
    expect(report).to_be_visible()
    report.get_by_role("button", name="Send the report").click()
    expect(report.get_by_role("alert")).to_have_text("Choose a reason or describe the problem.")
    report.get_by_role("radio", name="Spam or advertising").check()
    report.get_by_role("textbox", name="Details").fill("third time today")
    report.get_by_role("button", name="Send the report").click()
    expect(report).to_have_count(0)
    expect(alice.locator(".ic-toast")).to_have_text("Thank you: the moderators will look at it.")
    # (Alice's window in front: another page of the one browser may hold the
    # window focus, and a focused element would then read "inactive".)
    alice.bring_to_front()
    expect(spam).to_be_focused()  # focus back on the message

    # Carol's open reports view gets it live.
    item = carol.locator(".ic-report")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Bob: Cheap watches at spam.example")
    expect(item).to_contain_text("Reported by Alice: Spam or advertising: third time today")
    carol.on("dialog", lambda d: d.accept())
    item.get_by_role("button", name="Delete the message").click()
    expect(item).to_contain_text("Done")
    expect(alice.locator(".ic-msg.ic-deleted")).to_have_count(1)
    assert alice.errors == [] and carol.errors == []


def test_a_pinned_message_shows_for_everyone(book_club: Any, open_page: Any) -> None:
    site, widget, room = book_club
    widget.send(1, room, "House rules: be kind")
    for n in range(5):
        widget.send(2, room, f"chat {n}")
    alice = open_page(site.page_url(1))
    bob = open_page(site.page_url(2))
    open_room(alice, room)
    open_room(bob, room)
    expect(alice.locator(".ic-pin")).to_be_hidden()

    alice.bring_to_front()  # the page acted on is in front, as a person's is
    rules = message(alice, "House rules")
    rules.hover()
    rules.get_by_role("button", name="More actions").click()
    alice.get_by_role("menuitem", name="Pin").click()
    for page in (alice, bob):
        expect(page.locator(".ic-pin")).to_have_text(
            "Pinned message: 📌 Alice: House rules: be kind"
        )

    bob.bring_to_front()
    bob.reload()  # from the room list's item, after a reload too
    bob.wait_for_function("window.events.includes('resolved')")
    open_room(bob, room)
    expect(bob.locator(".ic-pin")).to_contain_text("House rules: be kind")
    bob.locator(".ic-pin").click()  # shows the message in place
    expect(message(bob, "House rules")).to_be_focused()
    message(bob, "House rules").get_by_role("button", name="More actions").click()
    expect(bob.get_by_role("menuitem", name="Report")).to_be_visible()
    expect(bob.get_by_role("menuitem", name="Pin")).to_have_count(0)  # admins only
    bob.keyboard.press("Escape")

    rules.hover()
    rules.get_by_role("button", name="More actions").click()
    alice.get_by_role("menuitem", name="Unpin").click()
    for page in (alice, bob):
        expect(page.locator(".ic-pin")).to_be_hidden()
    assert alice.errors == [] and bob.errors == []


@pytest.mark.parametrize(("lang", "theme"), [("en", "light"), ("ar", "dark")])
def test_the_new_views_have_no_serious_accessibility_violation(
    host_site: Any, open_page: Any, lang: str, theme: str
) -> None:
    site, widget = host_site
    room = widget.room([1, 2], room_type=1, room_title="Book club")
    dialog = widget.room([1, 2], room_type=0)
    widget.set_user(1, name="Alice")
    widget.set_user(2, name="Bob")
    yes = widget.send(1, room, "Friday then?")  # before the others: sending reads the room
    widget.send(2, room, "Shall we meet on Friday?")
    widget.send(2, room, "@Alice see you there", **{"mentions[0]": "1"})
    reacted = widget.post("react", {"user_id": 2, "message_id": yes["id"], "emoji": "🎉"})
    assert reacted.status_code == 200, reacted.text
    page = open_page(site.page_url(1, lang=lang, theme=theme))
    problems: dict[str, list[str]] = {}

    def check(view: str) -> None:
        problems[view] = serious_violations(page)
        shot = re.sub(r"\W+", "-", view.split(",")[0]).strip("-")
        screenshot(page, f"everyday-{lang}-{theme}-{shot}", of=".ic-panel")

    page.click(".ic-launcher")
    page.click(".ic-tab:nth-child(2)")
    expect(page.locator(".ic-badge.ic-at")).to_be_visible()
    check("the room list with a mention")
    page.click(f'.ic-room[data-room="{room}"]')
    expect(page.locator(".ic-react")).to_have_count(1)
    bobs = page.locator(".ic-msg:not(.ic-own)").first
    items = page.locator(".ic-popup > [role=menuitem]")  # Reply, Delete, Report, Pin
    bobs.hover()
    bobs.locator(".ic-actions button").last.click()
    expect(page.locator(".ic-popup")).to_be_visible()
    check("a message's menu, reactions and a mention")
    items.nth(3).click()  # pin (Alice is the admin)
    expect(page.locator(".ic-pin")).to_be_visible()
    bobs.hover()
    bobs.locator(".ic-actions button").last.click()
    items.nth(2).click()  # report
    expect(page.locator(".ic-dialog")).to_be_visible()
    check("the report dialog, the pinned message")
    page.keyboard.press("Escape")
    page.locator("textarea").press_sequentially("@B")
    expect(page.locator(".ic-suggest")).to_be_visible()
    check("the mention list")
    page.keyboard.press("Escape")
    page.locator(".ic-menu").click()
    check("the room's menu")
    items.first.click()  # search in this room
    page.locator(".ic-form input[type=search]").fill("Friday")
    expect(page.locator(".ic-result")).to_have_count(2)
    check("the search")
    page.click(".ic-back")
    page.locator(".ic-menu").click()
    items.last.click()  # reports
    expect(page.locator(".ic-form [role=status]")).not_to_be_empty()
    check("the reports")
    page.click(".ic-back")
    page.click(".ic-back")
    page.click(".ic-tab:nth-child(1)")
    page.click(f'.ic-room[data-room="{dialog}"]')
    page.on("dialog", lambda d: d.accept())
    page.locator(".ic-menu").click()
    items.last.click()  # block
    expect(page.locator(".ic-composer")).to_be_hidden()
    check("a dialog with a blocked user")
    page.click(".ic-gear")
    expect(page.locator(".ic-blocked-list .ic-pick")).to_have_count(1)
    check("the settings with the people blocked")

    assert {view: found for view, found in problems.items() if found} == {}
    assert page.errors == []


def test_on_a_phone_the_menus_panels_and_dialog_fit_the_screen(
    book_club: Any, open_phone: Any
) -> None:
    """The message's actions by a tap (or a long press), the menus, the search and the
    report dialog lie within a phone's screen."""
    from tests.e2e.test_phone import within_screen

    site, widget, room = book_club
    widget.send(2, room, "A long line from Bob that wraps on a narrow phone screen " * 2)
    page = open_phone(site.page_url(1), 375, 667)
    page.locator(".ic-launcher").tap()
    page.locator(".ic-tab:nth-child(2)").tap()
    page.locator(f'.ic-room[data-room="{room}"]').tap()
    bobs = page.locator(".ic-msg:not(.ic-own)").first
    bobs.locator(".ic-bubble").tap()  # a tap shows the message's actions
    bobs.get_by_role("button", name="More actions").tap()
    expect(page.get_by_role("menu", name="More actions")).to_be_visible()
    within_screen(page, "a message's menu")
    screenshot(page, "everyday-phone-menu")
    page.get_by_role("menuitem", name="Report").tap()
    expect(page.get_by_role("dialog", name="Report this message")).to_be_visible()
    within_screen(page, "the report dialog")
    page.get_by_role("button", name="Cancel").tap()
    page.locator(".ic-menu").tap()
    page.get_by_role("menuitem", name="Search in this conversation").tap()
    page.get_by_role("searchbox", name="Words to find").fill("narrow")
    expect(page.locator(".ic-result")).to_have_count(1)
    within_screen(page, "the search")
    screenshot(page, "everyday-phone-search")
    page.locator(".ic-result").tap()
    expect(page.locator(".ic-messages")).to_be_visible()
    assert page.errors == []
