"""Issue 18 in a real browser: the composer's emoji picker. Its script (with the data)
is fetched from our server only when the picker is first opened; it shows the
Unicode emoji by category, finds them by English name, puts the chosen one at the
caret, keeps the recently used in this browser; it works by keyboard alone, on a
phone's screen, and passes the accessibility audit, light and dark, in Arabic too."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import loaded_page, screenshot
from tests.e2e.test_accessibility import SHADOW, focused, serious_violations

PICKER = ".ic-emoji"
BUTTON = ".ic-composer .ic-smile"
CATEGORIES = [
    "Smileys & emotion",
    "People & body",
    "Animals & nature",
    "Food & drink",
    "Travel & places",
    "Activities",
    "Objects",
    "Symbols",
    "Flags",
]
LOADED = "performance.getEntriesByType('resource').filter(e => e.name.includes('/emoji.js')).length"


@pytest.fixture
def conference(host_site):
    site, widget = host_site
    room = widget.room([1, 2], room_type=1, room_title="Emoji club")
    widget.set_user(1, name="Alice")
    widget.set_user(2, name="Bob")
    return site, widget, room


def open_room(page, room: int) -> None:
    page.click(".ic-launcher")
    page.click(".ic-tab:nth-child(2)")
    page.click(f'.ic-room[data-room="{room}"]')
    expect(page.locator("textarea")).to_be_visible()


def emoji_button(page, name: str):
    return page.locator(f'{PICKER} .ic-emoji-grid button[aria-label="{name}"]:visible')


def test_the_picker_loads_on_first_use_and_puts_the_emoji_at_the_caret(
    conference, open_page
) -> None:
    site, _, room = conference
    alice, bob = open_page(site.page_url(1)), open_page(site.page_url(2))
    open_room(alice, room)
    open_room(bob, room)
    assert alice.evaluate(LOADED) == 0  # not fetched with the widget, nor on opening a room
    asked: list[str] = []
    alice.on("request", lambda request: asked.append(request.url))
    button = alice.locator(BUTTON)
    expect(button).to_have_attribute("aria-label", "Emoji")
    expect(button).to_have_attribute("aria-expanded", "false")
    box = button.bounding_box()
    assert box is not None and box["width"] >= 44 and box["height"] >= 44

    alice.locator("textarea").fill("Hello world")
    alice.locator("textarea").evaluate("field => field.setSelectionRange(6, 6)")
    button.click()
    picker = alice.locator(PICKER)
    expect(picker).to_be_visible()
    expect(picker).to_have_attribute("role", "dialog")
    expect(button).to_have_attribute("aria-expanded", "true")
    scripts = [url for url in asked if "/emoji.js" in url]
    assert len(scripts) == 1 and "/imbachat/widget/emoji.js?v=" in scripts[0]
    assert all(url.startswith(site.chat_url) for url in asked), asked  # ours alone
    expect(picker.locator(".ic-emoji-list h3:visible")).to_have_text(CATEGORIES)  # no recents yet
    expect(picker.locator(".ic-emoji-cats button:visible")).to_have_count(len(CATEGORIES))
    assert picker.locator(".ic-emoji-grid button").count() > 1800  # the whole set
    expect(emoji_button(alice, "grinning face")).to_have_text("😀")
    expect(emoji_button(alice, "flag Japan")).to_have_text("🇯🇵")

    picker.locator(".ic-emoji-cats button[aria-label=Flags]").click()
    expect(picker.locator(".ic-emoji-cats button[aria-current=true]")).to_have_attribute(
        "aria-label", "Flags"
    )
    picker.locator("input[type=search]").fill("thumbs")
    expect(picker.locator(".ic-emoji-grid button:visible")).to_have_text(["👍", "👎"])
    expect(picker.locator(".ic-emoji-status")).to_have_text("2 emoji found")
    picker.locator("input[type=search]").fill("lol")  # keywords count too
    expect(emoji_button(alice, "face with tears of joy")).to_be_visible()
    picker.locator("input[type=search]").fill("no such emoji")
    expect(picker.locator(".ic-emoji-status")).to_have_text("No emoji found")
    expect(picker.locator(".ic-emoji-status")).to_be_visible()
    picker.locator("input[type=search]").fill("thumbs up")
    screenshot(alice, "emoji-search", of=".ic-panel")
    emoji_button(alice, "thumbs up").click()

    expect(picker).to_have_count(0)  # closed
    expect(button).to_have_attribute("aria-expanded", "false")
    field = alice.locator("textarea")
    expect(field).to_be_focused()
    expect(field).to_have_value("Hello 👍world")
    assert field.evaluate("f => [f.selectionStart, f.selectionEnd]") == [8, 8]  # after it
    alice.keyboard.press("Enter")
    expect(bob.locator(".ic-msg .ic-bubble").last).to_have_text("Hello 👍world")

    button.click()  # again: the recently used first
    expect(picker.locator(".ic-emoji-list h3:visible").first).to_have_text("Recently used")
    recent = picker.locator("section").first.locator(".ic-emoji-grid button")
    expect(recent).to_have_text(["👍"])
    expect(recent).to_have_attribute("aria-label", "thumbs up")
    assert alice.evaluate("ImbaEmoji.recent()") == ["👍"]
    assert len([url for url in asked if "/emoji.js" in url]) == 1  # fetched once
    emoji_button(alice, "grinning face").click()
    expect(field).to_have_value("😀")  # the sent text went; the caret was at the start
    button.click()
    expect(recent).to_have_text(["😀", "👍"])  # the latest first

    alice.click(".ic-back")  # a click elsewhere closes it
    expect(picker).to_have_count(0)
    # Kept in this browser: another page of the site shows them.
    again = loaded_page(alice.context, site.page_url(1))
    open_room(again, room)
    again.click(BUTTON)
    expect(again.locator(f"{PICKER} section").first.locator("button")).to_have_text(["😀", "👍"])
    assert alice.errors == [] and bob.errors == [] and again.errors == []


def test_the_picker_works_by_keyboard_alone(conference, open_page) -> None:
    site, _, room = conference
    page = open_page(site.page_url(1))
    open_room(page, room)
    page.locator("textarea").fill("Hi ")
    page.keyboard.press("Tab")  # from the field to the emoji button
    assert focused(page) == "ic-icon-btn ic-smile"

    page.keyboard.press("Enter")
    picker = page.locator(PICKER)
    search = picker.locator("input[type=search]")
    expect(search).to_be_focused()
    page.keyboard.press("Escape")  # closes the picker, not the chat
    expect(picker).to_have_count(0)
    expect(page.locator(".ic-panel")).to_be_visible()
    assert focused(page) == "ic-icon-btn ic-smile"

    page.keyboard.press("Space")
    expect(search).to_be_focused()
    page.keyboard.press("Tab")  # the category bar: one stop
    expect(picker.locator(".ic-emoji-cats button:visible").first).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(picker.locator(".ic-emoji-cats button[aria-label='People & body']")).to_be_focused()
    page.keyboard.press("Tab")  # the emoji: one stop
    grid = picker.locator(".ic-emoji-grid button")
    expect(grid.first).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(grid.nth(1)).to_be_focused()
    page.keyboard.press("ArrowDown")  # the row below, in line
    below = page.evaluate(
        f"""(() => {{
          const el = {SHADOW}.activeElement;
          const first = {SHADOW}.querySelector('.ic-emoji-grid button');
          return [el.offsetTop > first.offsetTop, el.offsetLeft];
        }})()"""
    )
    second = grid.nth(1).evaluate("b => b.offsetLeft")
    assert below == [True, second]
    page.keyboard.press("Tab")  # round again: the search
    expect(search).to_be_focused()
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(f"{SHADOW}.activeElement.closest('.ic-emoji-grid') !== null")

    search.focus()
    page.keyboard.type("thumbs up")
    page.keyboard.press("ArrowDown")  # into the results
    expect(picker.locator(".ic-emoji-grid button:focus")).to_have_attribute(
        "aria-label", "thumbs up"
    )
    page.keyboard.press("Enter")
    expect(picker).to_have_count(0)
    expect(page.locator("textarea")).to_have_value("Hi 👍")
    expect(page.locator("textarea")).to_be_focused()

    page.locator(BUTTON).focus()
    page.keyboard.press("Enter")
    page.keyboard.type("red heart")
    page.keyboard.press("Enter")  # the first result, straight from the search
    expect(page.locator("textarea")).to_have_value("Hi 👍❤️")
    page.keyboard.press("Escape")  # the chat's own Escape still works
    expect(page.locator(".ic-panel")).to_be_hidden()
    assert page.errors == []


@pytest.mark.parametrize("lang", ["en", "ar"])
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_open_picker_has_no_serious_accessibility_violation(
    conference, open_page, lang, theme
) -> None:
    site, _, room = conference
    page = open_page(site.page_url(1, lang=lang, theme=theme))
    open_room(page, room)
    page.click(BUTTON)
    picker = page.locator(PICKER)
    expect(picker).to_be_visible()
    if lang == "ar":
        expect(picker).to_have_attribute("dir", "rtl")
        expect(picker).to_have_attribute("aria-label", "الرموز التعبيرية")
        expect(picker.locator("h3:visible").first).to_have_text("الوجوه والمشاعر")
    colours = picker.evaluate("el => getComputedStyle(el).backgroundColor")
    assert colours == ("rgb(22, 26, 34)" if theme == "dark" else "rgb(255, 255, 255)")
    problems = {"open": serious_violations(page)}
    picker.locator("input[type=search]").fill("cat")
    problems["searched"] = serious_violations(page)
    screenshot(page, f"emoji-{lang}-{theme}", of=".ic-panel")

    assert {view: found for view, found in problems.items() if found} == {}
    assert page.errors == []


@pytest.mark.parametrize("phone", [(375, 667), (320, 568), (667, 375)], ids=str)
def test_the_picker_fits_a_phone(conference, open_phone, phone: tuple[int, int]) -> None:
    site, _, room = conference
    width, height = phone
    page = open_phone(site.page_url(1), width, height)
    page.locator(".ic-launcher").tap()
    page.locator(".ic-tab:nth-child(2)").tap()
    page.locator(f'.ic-room[data-room="{room}"]').tap()
    page.locator(BUTTON).tap()
    picker = page.locator(PICKER)
    expect(picker).to_be_visible()
    box = picker.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, box
    assert box["y"] >= 0 and box["y"] + box["height"] <= height + 0.5, box
    assert box["height"] >= 150, box  # room for a few rows
    first = picker.locator(".ic-emoji-grid button").first.bounding_box()
    assert first is not None and first["width"] >= 44 and first["height"] >= 44
    wide = picker.evaluate("el => el.scrollWidth > el.clientWidth")
    assert not wide  # nothing sideways
    screenshot(page, f"emoji-phone-{width}x{height}")

    emoji_button(page, "grinning face").tap()
    expect(picker).to_have_count(0)
    expect(page.locator("textarea")).to_have_value("😀")
    assert page.errors == []
