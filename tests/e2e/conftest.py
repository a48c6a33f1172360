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
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One Chromium per module. Playwright's sync API runs an event loop in this
    thread while it is open, so it is closed before other tests use asyncio.run."""
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


@pytest.fixture
def open_page(browser):
    """A fresh browser context (like a separate person) on a host-site page."""
    contexts = []

    def open_(url: str, ready: str = "window.events && window.events.includes('resolved')"):
        context = browser.new_context(viewport={"width": 1100, "height": 760})
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(url)
        page.wait_for_function(ready)
        return page

    yield open_
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
