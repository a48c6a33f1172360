"""Issue 15: the widget on a phone. In Chromium with touch at device scale 2, the
open chat lies within the screen in every view, upright and on its side, the
composer stays above the on-screen keyboard, the page behind does not scroll, and
the back gesture goes back one level, then closes the chat."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.host_site import pdf, photo, send_files

PHONES = {
    "375x667": (375, 667),
    "390x844": (390, 844),
    "667x375-landscape": (667, 375),
    "320x568-text-at-200-percent": (320, 568),  # WCAG's reflow width
}
LONG_NAME = "Maximiliana Alexandrovna Konstantinopolskaya-Worthington"
LONG_TITLE = "The neighbourhood gardening, seed swapping and compost enthusiasts"
KEYBOARD = 260

# What sticks out: elements wider than their box that do not scroll, and controls
# beyond the screen's sides (or, outside the scrolling lists, its top and bottom).
OUTSIDE = """([width, height]) => {
  const root = document.querySelector('[data-imbachat]').shadowRoot;
  const shown = [...root.querySelectorAll('.ic-panel *')].filter(el => el.getClientRects().length);
  const name = el => el.className || el.tagName;
  const scrolls = ['auto', 'scroll', 'hidden', 'clip'];
  const wide = shown.filter(el => el.scrollWidth > el.clientWidth + 1
    && !scrolls.includes(getComputedStyle(el).overflowX)).map(name);
  const lists = '.ic-rooms, .ic-messages, .ic-form, .ic-settings, .ic-found';
  const out = shown.filter(el => el.matches('button, input, textarea, a, .ic-head-title'))
    .filter(el => {
      const r = el.getBoundingClientRect();
      const sideways = r.left < -0.5 || r.right > width + 0.5;
      const beyond = !el.closest(lists) && (r.top < -0.5 || r.bottom > height + 0.5);
      return sideways || beyond;
    }).map(name);
  return { wide, out };
}"""


def within_screen(page, what: str) -> None:
    """The panel, and every control in it that is shown, lie inside the viewport,
    and nothing in it is wider than the panel (no sideways scrolling)."""
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    panel = page.locator(".ic-panel").bounding_box()
    assert panel is not None, what
    assert panel["x"] >= 0 and panel["y"] >= 0, (what, panel)
    assert panel["x"] + panel["width"] <= width + 0.5, (what, panel)
    assert panel["y"] + panel["height"] <= height + 0.5, (what, panel)
    outside = page.evaluate(OUTSIDE, [width, height])
    assert outside == {"wide": [], "out": []}, what


def tap(page, selector: str) -> None:
    page.locator(selector).first.tap()


@pytest.fixture
def arranged(host_site):
    site, widget = host_site
    widget.room([1, 2], room_type=0)
    widget.set_user(2, name=LONG_NAME)
    conference = widget.room([1, 2, 3], room_type=1, room_title=LONG_TITLE)
    for n in range(12):
        widget.send(2, conference, f"message {n}: " + "a long line that wraps " * (n % 3 + 1))
    widget.send(2, conference, "https://example.com/" + "x" * 120)  # an unbroken word
    return site, widget, conference


@pytest.mark.parametrize("phone", PHONES, ids=list(PHONES))
def test_every_view_lies_within_the_screen(arranged, open_phone, phone: str) -> None:
    site, _, conference = arranged
    width, height = PHONES[phone]
    page = open_phone(site.page_url(1, tall=1), width, height)

    tap(page, ".ic-launcher")
    expect(page.locator(".ic-panel")).to_be_visible()
    expect(page.locator(".ic-room")).to_have_count(1)
    within_screen(page, "the dialogs")

    page.locator(".ic-find input").fill("Maxi")
    expect(page.locator(".ic-found .ic-person")).to_have_count(1)
    within_screen(page, "a search for someone to write to")

    tap(page, ".ic-tab:nth-child(2)")
    expect(page.locator(".ic-room")).to_have_count(1)
    within_screen(page, "the conferences")

    tap(page, ".ic-tools .ic-btn")
    expect(page.locator(".ic-form input[type=text]")).to_be_visible()
    within_screen(page, "the new conference form")
    tap(page, ".ic-back")

    tap(page, f'.ic-room[data-room="{conference}"]')
    expect(page.locator(".ic-msg")).to_have_count(13)
    within_screen(page, "a conversation")
    title = page.locator(".ic-head-title")
    assert title.evaluate("el => el.scrollWidth > el.clientWidth"), "a long title is cut short"
    screenshot(page, f"phone-{phone}-conversation")

    tap(page, ".ic-gear")
    settings = page.locator(".ic-settings")
    expect(settings.locator("legend")).to_be_visible()
    within_screen(page, "the settings")
    screenshot(page, f"phone-{phone}-settings")
    page.go_back()  # the back gesture closes the settings: the conversation again
    expect(settings).to_be_hidden()
    expect(page.locator(".ic-msg")).to_have_count(13)

    tap(page, ".ic-back")
    tap(page, ".ic-tab:nth-child(3)")
    within_screen(page, "support")
    assert page.errors == []


@pytest.mark.parametrize("phone", ["375x667", "390x844"])
def test_the_composer_stays_above_the_keyboard(arranged, open_phone, phone: str) -> None:
    site, _, conference = arranged
    width, height = PHONES[phone]
    page = open_phone(site.page_url(1, tall=1), width, height)
    tap(page, ".ic-launcher")
    tap(page, ".ic-tab:nth-child(2)")
    tap(page, f'.ic-room[data-room="{conference}"]')
    tap(page, "textarea")

    page.evaluate(f"window.showKeyboard({KEYBOARD})")

    above_keyboard = height - KEYBOARD
    for part in ("textarea", ".ic-composer .ic-btn", ".ic-head-title"):
        box = page.locator(part).bounding_box()
        assert box is not None and box["y"] >= 0, part
        assert box["y"] + box["height"] <= above_keyboard + 0.5, (part, box)
    last = page.locator(".ic-msg").last.bounding_box()
    assert last is not None and last["y"] + last["height"] <= above_keyboard
    screenshot(page, f"phone-{phone}-keyboard")

    page.fill("textarea", "typed above the keyboard")
    tap(page, ".ic-composer .ic-btn")
    expect(page.locator(".ic-msg.ic-own:not(.ic-pending) .ic-bubble").last).to_have_text(
        "typed above the keyboard"
    )
    page.evaluate("window.showKeyboard(0)")
    box = page.locator(".ic-panel").bounding_box()
    assert box is not None and abs(box["height"] - height) < 1  # the whole screen again


def test_the_page_behind_the_chat_does_not_scroll(arranged, open_phone) -> None:
    site, _, conference = arranged
    page = open_phone(site.page_url(1, tall=1), 375, 667)
    page.evaluate("window.scrollTo(0, 400)")
    page.wait_for_function("window.scrollY === 400")
    seen = "document.querySelector('h1').getBoundingClientRect().top"  # where the page shows
    before = page.evaluate(seen)
    tap(page, ".ic-launcher")
    tap(page, ".ic-tab:nth-child(2)")
    tap(page, f'.ic-room[data-room="{conference}"]')
    expect(page.locator(".ic-msg")).to_have_count(13)
    cdp = page.context.new_cdp_session(page)

    for where in (".ic-head", ".ic-messages", ".ic-composer"):
        box = page.locator(where).bounding_box()
        assert box is not None
        for distance in (-600, 600):  # a finger swiping up, then down, past the end
            cdp.send(
                "Input.synthesizeScrollGesture",
                {"x": box["x"] + 20, "y": box["y"] + box["height"] / 2, "yDistance": distance,
                 "gestureSourceType": "touch", "speed": 3000},
            )  # fmt: skip
            assert page.evaluate(seen) == before, (where, distance)

    page.go_back()  # the room, back to the list
    page.go_back()  # the list: the chat closes
    expect(page.locator(".ic-panel")).to_be_hidden()
    assert page.evaluate("window.scrollY") == 400  # where they were
    page.mouse.wheel(0, 300)
    page.wait_for_function("window.scrollY > 400")  # the page scrolls again


def test_the_back_gesture_goes_back_one_level_then_closes(arranged, open_phone) -> None:
    site, _, conference = arranged
    page = open_phone(site.page_url(1), 390, 844)
    address = page.url

    tap(page, ".ic-launcher")
    tap(page, ".ic-tab:nth-child(2)")
    tap(page, f'.ic-room[data-room="{conference}"]')
    expect(page.locator("textarea")).to_be_visible()

    page.go_back()
    expect(page.locator("textarea")).to_be_hidden()
    expect(page.locator(".ic-room")).to_have_count(1)  # the list again
    tap(page, ".ic-tools .ic-btn")  # the new conference form is a level too
    expect(page.locator(".ic-form input[type=text]")).to_be_visible()
    page.go_back()
    expect(page.locator(".ic-form")).to_be_hidden()
    expect(page.locator(".ic-panel")).to_be_visible()
    tap(page, ".ic-gear")  # the settings are a level too
    expect(page.locator(".ic-settings legend")).to_be_visible()
    page.go_back()
    expect(page.locator(".ic-settings")).to_be_hidden()
    expect(page.locator(".ic-room")).to_have_count(1)
    page.go_back()
    expect(page.locator(".ic-panel")).to_be_hidden()
    assert page.url == address  # still on the site's page
    focused = page.evaluate(
        "document.querySelector('[data-imbachat]').shadowRoot.activeElement?.className"
    )
    assert focused == "ic-launcher"

    tap(page, ".ic-launcher")  # the close button unwinds the chat's history too
    tap(page, '.ic-icon-btn[aria-label="Close"]')
    expect(page.locator(".ic-panel")).to_be_hidden()
    assert page.evaluate("history.state") is None  # back on the site's own entry
    assert page.errors == []


def test_the_launcher_keeps_clear_of_the_pages_bottom_bar(host_site, open_phone) -> None:
    site, _ = host_site
    page = open_phone(site.page_url(1, tall=1, offset=56), 375, 667)
    launcher = page.locator(".ic-launcher").bounding_box()
    bar = page.locator("#bottom-bar").bounding_box()
    assert launcher is not None and bar is not None
    assert launcher["y"] + launcher["height"] <= bar["y"]
    assert launcher["width"] >= 44 and launcher["height"] >= 44


@pytest.mark.parametrize("phone", ["375x667", "320x568-text-at-200-percent"])
def test_photos_and_files_fit_the_screen(host_site, open_phone, phone: str) -> None:
    site, widget = host_site
    width, height = PHONES[phone]
    room = widget.room([1, 2], room_type=1, room_title=LONG_TITLE)
    send_files(widget, 2, room, {"panorama.jpg": photo(2000, 500)}, "The view from the hill")
    send_files(widget, 2, room, {"tall.jpg": photo(600, 1400)})
    send_files(widget, 1, room, {LONG_TITLE + ".pdf": pdf()}, "https://example.com/" + "x" * 80)
    page = open_phone(site.page_url(1), width, height)
    tap(page, ".ic-launcher")
    tap(page, ".ic-tab:nth-child(2)")
    tap(page, f'.ic-room[data-room="{room}"]')
    expect(page.locator(".ic-thumb img")).to_have_count(2)
    expect(page.locator(".ic-file")).to_have_count(1)
    page.set_input_files(
        ".ic-composer input[type=file]",
        files=[{"name": LONG_NAME + ".pdf", "mimeType": "application/pdf", "buffer": pdf()}],
    )
    expect(page.locator(".ic-tray .ic-up")).to_have_count(1)

    within_screen(page, "a conversation with photos and files")
    for shown in page.locator(".ic-files > *").all():  # nothing cut off at the sides
        box = shown.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box
    name = page.locator(".ic-file-name")
    assert name.evaluate("el => el.scrollWidth > el.clientWidth"), "a long name is cut short"
    screenshot(page, f"phone-{phone}-files")

    tap(page, ".ic-thumb")
    viewer = page.get_by_role("dialog", name="panorama.jpg")
    expect(viewer).to_be_visible()
    for part in (viewer, viewer.locator("img"), viewer.get_by_role("button", name="Close")):
        box = part.bounding_box()
        assert box is not None and box["x"] >= 0 and box["y"] >= 0, box
        assert box["x"] + box["width"] <= width + 0.5 and box["y"] + box["height"] <= height + 0.5
    tap(page, '.ic-viewer .ic-icon-btn[aria-label="Close"]')
    expect(viewer).to_have_count(0)
    assert page.errors == []
