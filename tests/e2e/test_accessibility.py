"""Issue 15: the widget for every person. axe-core finds no serious or critical
violation in any view, in English and in Arabic, light and dark; everything works by
keyboard alone; screen readers hear new messages and unread counts; Arabic reads
right to left; reduced motion is honoured."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import axe_playwright_python
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import WATCH_ALERTS, screenshot
from tests.e2e.host_site import pdf, photo, send_files

AXE = Path(axe_playwright_python.__file__).with_name("axe.min.js")
SHADOW = "document.querySelector('[data-imbachat]').shadowRoot"


def serious_violations(page) -> list[str]:
    """axe-core over the widget (its shadow tree included): what is serious or worse."""
    if not page.evaluate("!!window.axe"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async () => {
          const result = await axe.run(document.querySelector('[data-imbachat]'),
                                       { resultTypes: ['violations'] });
          return result.violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => v.id + ': ' + v.nodes.map(n => JSON.stringify(n.target)).join(' '));
        }"""
    )
    return list(found)


def focused(page) -> str:
    """The focused element inside the widget: its class, or its tag."""
    active = f"{SHADOW}.activeElement"
    return str(page.evaluate(f"{active} ? {active}.className || {active}.tagName : ''"))


@pytest.fixture
def arranged(host_site):
    site, widget = host_site
    widget.room([1, 2], room_type=0)
    widget.set_user(2, name="Bob")
    conference = widget.room([1, 2, 3], room_type=1, room_title="Book club")
    widget.send(2, conference, "Shall we meet on Friday?")
    widget.send(1, conference, "Yes, at six")
    widget.send(2, conference, "See https://example.com/map")
    widget.room([1, 4], room_type=3, room_title="Support")
    return site, widget, conference


@pytest.mark.parametrize("lang", ["en", "ar"])
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_no_view_has_a_serious_accessibility_violation(arranged, open_page, lang, theme) -> None:
    site, _, conference = arranged
    page = open_page(site.page_url(1, lang=lang, theme=theme))
    problems: dict[str, list[str]] = {}

    def check(view: str) -> None:
        problems[view] = serious_violations(page)

    check("the launcher, with unread messages")
    page.click(".ic-launcher")
    expect(page.locator(".ic-room")).to_have_count(1)
    check("the dialogs")
    page.locator(".ic-find input").fill("Bo")
    expect(page.locator(".ic-found .ic-person")).to_have_count(1)
    check("a search for someone to write to")
    page.click(".ic-tab:nth-child(2)")
    check("the conferences")
    page.click(".ic-tools .ic-btn")
    expect(page.locator(".ic-form input[type=text]")).to_be_visible()
    check("the new conference form")
    page.click(".ic-back")
    page.click(f'.ic-room[data-room="{conference}"]')
    expect(page.locator(".ic-msg")).to_have_count(3)
    page.locator(".ic-msg").first.hover()  # the message's actions shown
    check("a conversation")
    page.click(".ic-bell")
    expect(page.locator(".ic-bell")).to_have_attribute("aria-pressed", "true")
    check("a muted conversation")
    page.click(".ic-gear")
    expect(page.locator(".ic-set legend")).to_be_visible()
    check("the settings")
    page.click(".ic-back")
    page.click(".ic-back")
    page.click(".ic-tab:nth-child(3)")
    check("support")
    screenshot(page, f"a11y-{lang}-{theme}")

    assert {view: found for view, found in problems.items() if found} == {}


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_a_visitors_first_screen_has_no_serious_violation(host_site, open_page, lang) -> None:
    site, widget = host_site
    widget.room([1, 2], room_type=1)
    widget.set_user(1, status="admin")
    page = open_page(f"{site.url}/?plugin=1&lang={lang}")
    page.click(".ic-launcher")
    expect(page.locator(".ic-guest input").first).to_be_visible()

    assert serious_violations(page) == []


def test_everything_works_by_keyboard_alone(arranged, open_page) -> None:
    site, _, conference = arranged
    page = open_page(site.page_url(1))
    page.focus("#write")
    page.keyboard.press("Tab")  # from the page's last control to the launcher
    assert focused(page) == "ic-launcher"
    outline = page.evaluate(f"getComputedStyle({SHADOW}.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible

    page.keyboard.press("Enter")
    expect(page.locator(".ic-panel")).to_be_visible()
    assert focused(page) == "ic-tab"  # focus moved into the chat
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")  # the conferences tab
    expect(page.locator(f'.ic-room[data-room="{conference}"]')).to_be_visible()
    order = []
    for _ in range(6):
        page.keyboard.press("Tab")
        order.append(focused(page))
    assert "ic-room" in order  # the room is reached in order, after the tools
    assert order.index("ic-btn ic-btn-ghost") < order.index("ic-room")
    while focused(page) != "ic-room":
        page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    expect(page.locator("textarea")).to_be_focused()
    page.keyboard.type("Written without a mouse")
    page.keyboard.press("Enter")
    expect(page.locator(".ic-msg.ic-own:not(.ic-pending) .ic-bubble").last).to_have_text(
        "Written without a mouse"
    )

    for _ in range(3):  # back past the links in messages, to the messages: one stop
        page.keyboard.press("Shift+Tab")
        if focused(page) == "ic-messages":
            break
    assert focused(page) == "ic-messages"
    for _ in range(3):
        page.keyboard.press("ArrowUp")
    expect(page.locator(".ic-msg").nth(-3)).to_be_focused()
    page.keyboard.press("Tab")  # that message's actions
    assert page.evaluate(f"{SHADOW}.activeElement.textContent") == "Reply"
    page.keyboard.press("Enter")
    expect(page.locator(".ic-bar")).to_contain_text("Yes, at six")
    page.keyboard.press("Escape")  # Esc first drops the reply
    expect(page.locator(".ic-bar")).to_be_hidden()
    expect(page.locator(".ic-panel")).to_be_visible()

    page.keyboard.press("Escape")
    expect(page.locator(".ic-panel")).to_be_hidden()
    assert focused(page) == "ic-launcher"  # focus returns to the launcher
    assert page.errors == []


def test_screen_readers_hear_unread_counts_and_new_messages_politely(arranged, open_page) -> None:
    site, widget, conference = arranged
    page = open_page(site.page_url(1))
    launcher = page.locator(".ic-launcher")
    expect(launcher).to_have_attribute("aria-label", "Open chat, 1 unread message")
    expect(launcher).to_have_attribute("aria-expanded", "false")

    launcher.click()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(page.locator(".ic-panel")).to_have_attribute("role", "dialog")
    room = page.locator(f'.ic-room[data-room="{conference}"]')
    page.click(".ic-tab:nth-child(2)")
    expect(room).to_have_attribute("aria-label", "Book club, 1 unread message")
    room.click()
    log = page.locator(".ic-messages")
    expect(log).to_have_attribute("role", "log")
    expect(log).to_have_attribute("aria-live", "polite")
    widget.send(3, conference, "A new message, read out")
    expect(log.locator(".ic-bubble").last).to_have_text("A new message, read out")


def test_arabic_reads_right_to_left_with_the_chat_on_the_mirrored_side(arranged, open_page) -> None:
    site, _, conference = arranged
    page = open_page(site.page_url(1, lang="ar"))
    root = page.locator(".ic").first
    expect(root).to_have_attribute("dir", "rtl")
    launcher = page.locator(".ic-launcher").bounding_box()
    assert launcher is not None and launcher["x"] < 100  # the end side is the left

    page.click(".ic-launcher")
    page.click(".ic-tab:nth-child(2)")
    page.click(f'.ic-room[data-room="{conference}"]')
    expect(page.locator(".ic-msg")).to_have_count(3)
    # The list may be drawn again as the socket's news comes in (a bubble measured
    # while it is replaced has no box), so the four boxes are read until all are there.
    boxes: list[Any] = []
    for _ in range(50):
        boxes = [
            page.locator(selector).first.bounding_box()
            for selector in (
                ".ic-panel",
                ".ic-msg.ic-own .ic-bubble",
                ".ic-msg:not(.ic-own) .ic-bubble",
                ".ic-back",
            )
        ]
        if all(boxes):
            break
        page.wait_for_timeout(100)
    panel, own, other, back = boxes
    assert panel and own and other and back
    middle = panel["x"] + panel["width"] / 2
    assert own["x"] + own["width"] / 2 < middle < other["x"] + other["width"] / 2
    assert back["x"] > middle  # back sits at the start: the right
    expect(page.locator(".ic-tabs")).to_have_attribute("aria-label", "أنواع المحادثات")
    screenshot(page, "rtl-conversation", of=".ic-panel")


def test_reduced_motion_turns_off_transitions(arranged, browser) -> None:
    site, _, _ = arranged
    context = browser.new_context(reduced_motion="reduce")
    try:
        page = context.new_page()
        page.goto(site.page_url(1))
        page.wait_for_function("window.events && window.events.includes('resolved')")
        every = f"[...{SHADOW}.querySelectorAll('*')]"
        durations = page.evaluate(f"{every}.map(el => getComputedStyle(el).transitionDuration)")
        assert set(durations) <= {"0s"}
    finally:
        context.close()


def test_the_checker_sees_inside_the_widgets_shadow_root(host_site, open_page) -> None:
    """Else the checks above could pass by seeing nothing."""
    site, _ = host_site
    page = open_page(site.page_url(1))
    page.evaluate(
        f"{SHADOW}.querySelector('.ic').append(Object.assign(document.createElement('button'),"
        " { style: 'color:#ccc;background:#fff', textContent: 'faint' }),"
        " document.createElement('button'))"
    )
    found = serious_violations(page)
    assert any(v.startswith("color-contrast") for v in found), found
    assert any(v.startswith("button-name") for v in found), found


@pytest.mark.parametrize("accent", ["#facc15", "#0f766e"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_owners_colour_applies_in_light_and_dark_and_stays_readable(
    arranged, browser, accent, scheme
) -> None:
    """The page's preference picks light or dark (theme auto); the owner's colour is
    used in both, with text on it and in it that keeps AA contrast."""
    site, widget, conference = arranged
    changed = widget.http.put(
        f"/api/v1/{widget.imba_id}/settings", data={"accent_color": accent}, auth=widget.basic
    )
    assert changed.status_code == 200, changed.text
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1100, "height": 760})
    try:
        page = context.new_page()
        page.goto(site.page_url(1))
        page.wait_for_function("window.events && window.events.includes('resolved')")
        page.click(".ic-launcher")
        page.click(".ic-tab:nth-child(2)")
        page.click(f'.ic-room[data-room="{conference}"]')
        expect(page.locator(".ic-msg")).to_have_count(3)

        red, green, blue = (int(accent[i : i + 2], 16) for i in (1, 3, 5))
        expect(page.locator(".ic-head")).to_have_css(
            "background-color", f"rgb({red}, {green}, {blue})"
        )
        panel = page.locator(".ic-panel").evaluate("el => getComputedStyle(el).backgroundColor")
        assert panel == ("rgb(22, 26, 34)" if scheme == "dark" else "rgb(255, 255, 255)")
        assert serious_violations(page) == []
        screenshot(page, f"accent-{accent[1:]}-{scheme}", of=".ic-panel")
    finally:
        context.close()


def test_the_owners_theme_applies_unless_the_page_chooses_one(arranged, browser) -> None:
    site, widget, _ = arranged
    widget.http.put(f"/api/v1/{widget.imba_id}/settings", data={"theme": "dark"}, auth=widget.basic)
    context = browser.new_context(color_scheme="light")
    try:
        page = context.new_page()
        page.goto(site.page_url(1))
        page.wait_for_function("window.events && window.events.includes('resolved')")
        root = page.locator(".ic").first
        expect(root).to_have_attribute("data-theme", "dark")  # the owner's, over the page's light

        page.evaluate("imbaApi.setTheme('light')")  # the site's own dark-mode switch
        expect(root).to_have_attribute("data-theme", "light")
        page.click(".ic-launcher")
        panel = page.locator(".ic-panel").evaluate("el => getComputedStyle(el).backgroundColor")
        assert panel == "rgb(255, 255, 255)"
    finally:
        context.close()


def archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as packed:
        packed.writestr("notes.txt", "seeds to swap")
    return out.getvalue()


@pytest.mark.parametrize("lang", ["en", "ar"])
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_photos_files_and_the_image_viewer_have_no_serious_violation(
    host_site, open_page, lang, theme
) -> None:
    site, widget = host_site
    room = widget.room([1, 2], room_type=1, room_title="Garden")
    send_files(widget, 2, room, {"garden.jpg": photo(900, 600)}, "Our garden")
    send_files(widget, 1, room, {"plan.pdf": pdf(), "seeds.zip": archive()})
    page = open_page(site.page_url(1, lang=lang, theme=theme))
    page.click(".ic-launcher")
    page.click(".ic-tab:nth-child(2)")
    page.click(f'.ic-room[data-room="{room}"]')
    expect(page.locator(".ic-thumb img")).to_have_count(1)
    expect(page.locator(".ic-file")).to_have_count(2)
    # The composer's tray: one file ready to send, one refused (a program: not taken).
    page.set_input_files(
        ".ic-composer input[type=file]",
        files=[{"name": "ready.pdf", "mimeType": "application/pdf", "buffer": pdf()},
               {"name": "tool.bin", "mimeType": "application/octet-stream",
                "buffer": b"\x7fELF\x02\x01\x01" + bytes(200)}],
    )  # fmt: skip
    expect(page.locator(".ic-up-error")).to_have_count(1)
    expect(page.locator(".ic-tray progress")).to_have_count(0)
    problems = {"a conversation with files": serious_violations(page)}
    screenshot(page, f"a11y-files-{lang}-{theme}", of=".ic-panel")

    page.click(".ic-thumb")
    expect(page.get_by_role("dialog", name="garden.jpg")).to_be_visible()
    problems["the image viewer"] = serious_violations(page)

    assert {view: found for view, found in problems.items() if found} == {}


@pytest.mark.parametrize("lang", ["en", "ar"])
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_settings_and_the_offer_of_notifications_have_no_serious_violation(
    arranged, browser, lang, theme
) -> None:
    """Every state of the desktop notifications: not asked yet (a button), offered
    after the user's first message, allowed (a switch)."""
    site, _, conference = arranged
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    context.add_init_script("window.fakePermission = 'default';")
    context.add_init_script(WATCH_ALERTS)
    try:
        page = context.new_page()
        page.goto(site.page_url(1, lang=lang, theme=theme))
        page.wait_for_function("window.events && window.events.includes('resolved')")
        page.click(".ic-launcher")
        page.click(".ic-gear")
        expect(page.locator(".ic-set .ic-btn")).to_be_visible()
        problems = {"the settings, notifications not asked yet": serious_violations(page)}
        page.click(".ic-back")
        page.click(".ic-tab:nth-child(2)")
        page.click(f'.ic-room[data-room="{conference}"]')
        page.fill("textarea", "A first message")
        page.keyboard.press("Enter")
        expect(page.locator(".ic-ask")).to_be_visible()
        problems["the offer of notifications"] = serious_violations(page)
        screenshot(page, f"a11y-offer-{lang}-{theme}", of=".ic-panel")
        page.click(".ic-ask .ic-btn")
        page.click(".ic-gear")
        expect(page.locator(".ic-settings input[type=checkbox]")).to_have_count(2)
        problems["the settings, notifications allowed"] = serious_violations(page)
        screenshot(page, f"a11y-settings-{lang}-{theme}", of=".ic-panel")

        assert {view: found for view, found in problems.items() if found} == {}
    finally:
        context.close()


def test_the_settings_work_by_keyboard_alone(arranged, open_page) -> None:
    site, _, _ = arranged
    page = open_page(site.page_url(1))
    page.focus("#write")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the launcher: focus on the chosen tab
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(f"{SHADOW}.activeElement.getAttribute('aria-label')") == "Settings"

    page.keyboard.press("Enter")
    sound = page.get_by_role("checkbox", name="Play a sound for new messages")
    expect(sound).to_be_focused()  # the panel takes the focus
    expect(page.locator(".ic-head-title")).to_contain_text("Settings")
    page.keyboard.press("Space")
    expect(sound).not_to_be_checked()
    page.keyboard.press("Tab")  # desktop notifications: not asked yet
    expect(page.get_by_role("button", name="Turn on notifications")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("radio", name="Every message")).to_be_focused()
    page.keyboard.press("ArrowDown")  # the server keeps it and says so
    expect(page.get_by_role("radio", name="Only when I am mentioned")).to_be_checked()
    expect(page.get_by_role("radio", name="Only when I am mentioned")).to_be_focused()

    page.keyboard.press("Escape")  # the settings close, the chat stays open
    expect(sound).to_be_hidden()
    expect(page.locator(".ic-panel")).to_be_visible()
    assert page.evaluate(f"{SHADOW}.activeElement.getAttribute('aria-label')") == "Settings"
    page.keyboard.press("Escape")
    expect(page.locator(".ic-panel")).to_be_hidden()
    assert page.errors == []
