"""Browser fixtures: Playwright driving Debian's Chromium (never a downloaded one)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import service_missing
from tests.e2e.host_site import HostSite

CHROMIUM = os.environ.get("IMBACHAT_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A camera and a microphone that play a test pattern and a tone, allowed without
    # asking (calls); no other test uses them.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One Chromium for the run (every test opens contexts of its own). Playwright's
    sync API runs an event loop in this thread while it is open: browser tests run
    last (tests/conftest.py), after every test that uses asyncio.run here."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_missing("playwright is not installed (pip install -e '.[dev]')")
    if not Path(CHROMIUM).exists():
        service_missing(f"Chromium is not at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def host_site(server, widgets) -> Iterator[tuple[HostSite, object]]:
    widget = widgets()
    site = HostSite(server.url, widget.imba_id, widget.secret_key)
    yield site, widget
    site.stop()


WIDGET_READY = "window.events && window.events.includes('resolved')"


def loaded_page(context, url: str, ready: str = WIDGET_READY):
    """A new page of ``context`` at ``url`` once ``ready`` holds, recording the page's
    script errors in ``page.errors`` (tests assert there are none)."""
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(url)
    page.wait_for_function(ready)
    return page


@pytest.fixture
def open_page(browser):
    """A fresh browser context (like a separate person) on a host-site page."""
    contexts = []

    def open_(url: str, ready: str = WIDGET_READY):
        context = browser.new_context(viewport={"width": 1100, "height": 760})
        contexts.append(context)
        page = loaded_page(context, url, ready)
        # In front, as a page just opened is: with one browser for the run, an earlier
        # window may still hold the focus, and keyboard focus would read "inactive".
        page.bring_to_front()
        return page

    yield open_
    for context in contexts:
        context.close()


# The on-screen keyboard, emulated: Chromium has no virtual keyboard to open, so the
# page gets a visual viewport whose height the test shrinks, as a phone's keyboard
# does (the layout viewport stays as it is, as on Android and iOS).
KEYBOARD = """(() => {
  const viewport = new EventTarget();
  let keyboard = 0;
  Object.defineProperties(viewport, {
    width: { get: () => window.innerWidth },
    height: { get: () => window.innerHeight - keyboard },
    offsetTop: { get: () => 0 }, offsetLeft: { get: () => 0 },
    pageTop: { get: () => window.scrollY }, pageLeft: { get: () => window.scrollX },
    scale: { get: () => 1 },
  });
  Object.defineProperty(window, "visualViewport", { get: () => viewport });
  window.showKeyboard = (height) => {
    keyboard = height;
    viewport.dispatchEvent(new Event("resize"));
  };
})();"""


# Counts what the widget does: sounds played (HTMLAudioElement.prototype.play) and
# notifications made (window.Notification, wrapped: the browser's permission, or
# ``window.fakePermission`` when a test sets one in an init script). ``setHidden``
# sends the tab to the background and back, as switching tabs does.
WATCH_ALERTS = """(() => {
  window.alerts = { sounds: [], notes: [], asked: 0 };
  const play = HTMLAudioElement.prototype.play;
  HTMLAudioElement.prototype.play = function () {
    window.alerts.sounds.push(this.src);
    return play.apply(this, arguments);
  };
  const Real = window.Notification;
  function Counted(title, options) {
    this.title = title;
    this.options = options || {};
    this.closed = false;
    window.alerts.notes.push(this);
  }
  Counted.prototype.close = function () { this.closed = true; };
  Object.defineProperty(Counted, "permission", {
    get: () => window.fakePermission || (Real ? Real.permission : "denied"),
  });
  Counted.requestPermission = () => {
    window.alerts.asked += 1;
    if (!window.fakePermission) { return Real.requestPermission(); }
    window.fakePermission = "granted";
    return Promise.resolve("granted");
  };
  window.Notification = Counted;
  let hidden = false;
  Object.defineProperty(Document.prototype, "hidden", { get: () => hidden });
  Object.defineProperty(Document.prototype, "visibilityState",
    { get: () => (hidden ? "hidden" : "visible") });
  window.setHidden = (value) => {
    hidden = value;
    document.dispatchEvent(new Event("visibilitychange"));
  };
})();"""


@pytest.fixture
def open_phone(browser):
    """A page on a phone: touch, device scale 2, and an on-screen keyboard to show."""
    contexts = []

    def open_(url: str, width: int, height: int, **options):
        context = browser.new_context(
            viewport={"width": width, "height": height}, device_scale_factor=2,
            is_mobile=True, has_touch=True, **options,
        )  # fmt: skip
        contexts.append(context)
        context.add_init_script(KEYBOARD)
        return loaded_page(context, url)

    yield open_
    for context in contexts:
        context.close()


def screenshot(page, name: str, of: str | None = None) -> None:
    """The page (or the element ``of`` selects) as test-artifacts/<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = str(ARTIFACTS / f"{name}.png")
    if of is None:
        page.screenshot(path=path)
    else:
        page.locator(of).screenshot(path=path)
