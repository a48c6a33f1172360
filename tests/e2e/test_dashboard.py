"""Issue 19 in Chromium: the owner runs their chat from the dashboard. Signs in, sees
the charts, bans a user, points the Users info URL at their site, adds a webhook and
replays a delivery, answers a support visitor who sees it live, rotates the secret.

Screenshots go to test-artifacts/, or to docs/screenshots/ (the README's) with
IMBACHAT_SCREENSHOTS=docs."""

from __future__ import annotations

import asyncio
import os
import queue
import re
import threading
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from imbachat.auth.tokens import issue_user_token
from tests.e2e.conftest import ARTIFACTS
from tests.fakes import FakeHostSite, FakeReceiver
from tests.realtime.client import ChatClient

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def shot(page, name: str) -> None:
    folder = DOCS if os.environ.get("IMBACHAT_SCREENSHOTS") == "docs" else ARTIFACTS
    folder.mkdir(exist_ok=True)
    page.screenshot(path=str(folder / f"dashboard-{name}.png"), full_page=False)


class Visitor:
    """A support visitor's chat socket, in a thread of its own (Playwright's sync API
    holds this thread's event loop): every message frame it gets is queued."""

    def __init__(self, ws_url: str, imba_id: int, token: str) -> None:
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._run(ws_url, imba_id, token)), daemon=True
        )
        self._thread.start()
        assert self.ready.wait(15), "the visitor's socket did not open"

    async def _run(self, ws_url: str, imba_id: int, token: str) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        client = await ChatClient.connect(ws_url, imba_id, token)
        self.ready.set()
        while not self._stop.is_set():
            try:
                frame = await client.next("message", timeout=0.2)
            except AssertionError:
                continue
            self.messages.put(frame)
        await client.ws.close()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def wait_until(check, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_the_owner_runs_the_chat_from_the_dashboard(browser, server, widgets) -> None:
    people = {
        77: {"user_id": 77, "name": "Nadia from the site", "chat_role": "user"},
        50: {"user_id": 50, "name": "Olga (support)", "chat_role": "admin"},
    }
    site = FakeHostSite(people=people)
    site_url = site.start()
    receiver = FakeReceiver(secret="set once the webhook exists")
    hook_url = receiver.start()
    widget = widgets()
    other = widgets()
    book_club = widget.room([1, 2, 3], room_type=1, room_title="Book club", room_is_public=1)
    for author, text in [
        (1, "Who has read chapter 3?"),
        (2, "Me!"),
        (3, "Not yet"),
        (2, "It is great"),
    ]:
        widget.send(author, book_club, text)

    async def open_support(services):
        stored = await services.widgets.get(widget.imba_id)
        [visitor_user] = await services.users.ensure(stored, [9])
        return (await services.support.open(stored, visitor_user)).room.id

    support = server.run(open_support)  # as the widget's "support" button does
    widget.send(9, support, "Hello, my order #12 has not arrived")
    visitor = Visitor(server.ws_url, widget.imba_id, issue_user_token(widget.secret_key, 9, 3600))
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())
    dash = f"{server.url}/dashboard"
    try:
        # Sign in; the overview's two charts are drawn.
        page.goto(f"{dash}/")
        shot(page, "sign-in")
        page.fill("input[name=imba_id]", str(widget.imba_id))
        page.fill("input[name=login]", widget.login)
        page.fill("input[name=password]", widget.password)
        page.click("button[type=submit]")
        expect(page).to_have_url(f"{dash}/{widget.imba_id}/")
        expect(page.locator("svg.chart")).to_have_count(2)
        expect(page.locator("svg.chart.messages rect.bar")).to_have_count(30)
        expect(page.locator('[data-stat="support"]')).to_have_text("1")
        shot(page, "overview")

        # Another owner's widget is not there; a form without its token is refused.
        assert page.goto(f"{dash}/{other.imba_id}/").status == 404
        forged = page.request.post(f"{dash}/{widget.imba_id}/users/2/ban", form={"x": "1"})
        assert forged.status == 403
        page.goto(f"{dash}/{widget.imba_id}/")

        # Ban user 2: their next send is refused with 403.
        page.click("nav.menu >> text=Users")
        expect(page.locator("table.list")).to_contain_text("User 2")
        shot(page, "users")
        page.get_by_role("link", name="User 2", exact=True).click()
        expect(page.locator("h1")).to_contain_text("User 2")
        page.click("button:has-text('Ban from the chat')")
        expect(page.locator(".flash")).to_be_visible()
        expect(page.locator("h1 .badge.bad")).to_be_visible()
        refused = widget.post("send_msg", {"user_id": 2, "room_id": book_club, "message": "hi"})
        assert refused.status_code == 403

        # Point the Users info URL at the site: a new user's name comes from it.
        page.click("nav.menu >> text=Settings")
        page.fill("input[name=users_info_url]", f"{site_url}/users?ids=")
        page.fill("input[name=accent_color]", "#0f766e")
        page.fill("input[name=title]", "Ask us")
        page.select_option("select[name=position]", "left")
        expect(page.locator("#preview .p-head")).to_have_text("Ask us")
        expect(page.locator("#preview")).to_have_class(re.compile(r"\bleft\b"))
        expect(page.locator("#preview")).to_have_css("--accent", "#0f766e")
        expect(page.locator("#snippet")).to_contain_text('"title": "Ask us"')
        shot(page, "settings")
        page.click("#settings-form button[type=submit]")
        expect(page.locator(".flash")).to_be_visible()
        widget.room([1, 77], room_title="Hello Nadia")
        page.click("nav.menu >> text=Users")

        def named() -> bool:
            page.reload()
            return "Nadia from the site" in page.content()

        wait_until(named)

        # Add a webhook; a delivery reaches it, and is replayed from the log.
        page.click("nav.menu >> text=Webhooks")
        page.fill("input[name=url]", hook_url)
        page.check("form:has(input[name=url]) input[value='message.new']")
        page.click("form:has(input[name=url]) button[type=submit]")
        expect(page.locator(".flash")).to_be_visible()
        page.click("summary:has-text('Signing secret')")
        receiver.secret = page.locator("code.secret").first.inner_text()
        widget.send(1, book_club, "Webhook, are you there?")
        wait_until(lambda: len(receiver.events("message.new")) == 1)
        page.click("text=Delivery log")
        expect(page.locator("tr.delivery").first).to_contain_text("delivered")
        expect(page.locator("tr.delivery").first).to_contain_text("HTTP 200")
        shot(page, "webhooks")
        page.locator("tr.delivery").first.locator("button:has-text('Replay')").click()
        expect(page.locator(".flash")).to_be_visible()
        first = receiver.events("message.new")[0].delivery
        wait_until(lambda: receiver.attempts.get(first) == 2)

        # Answer the support visitor, who sees the reply live on their socket.
        page.click("nav.menu >> text=Support")
        page.click("ul.inbox a.row")
        expect(page.locator("ol.messages")).to_contain_text("my order #12")
        expect(page.locator("h1")).to_contain_text("User 9")
        page.fill("input[name=as_user]", "50")
        page.fill("textarea[name=text]", "Sorry! It ships today.")
        page.click("form.reply button[type=submit]")
        expect(page.locator("ol.messages")).to_contain_text("Sorry! It ships today.")
        frame = visitor.messages.get(timeout=10)
        assert frame["message"]["message"] == "Sorry! It ships today."
        assert frame["room_id"] == support
        shot(page, "support")
        page.click("button:has-text('Close as solved')")
        expect(page.locator("h1 .badge.bad")).to_be_visible()

        # Moderation and the audit log.
        page.click("nav.menu >> text=Moderation")
        page.fill("textarea[name=words]", "spoiler")
        page.click("form:has(textarea[name=words]) button[type=submit]")
        expect(page.locator(".flash")).to_be_visible()
        page.click("nav.menu >> text=Audit log")
        for entry in (
            "user banned",
            "settings changed",
            "webhook added",
            "webhook delivery replayed",
            "support reply sent",
            "blocklist changed",
        ):
            expect(page.locator("table.list")).to_contain_text(entry)
        shot(page, "audit")

        # Rotate the secret key: tokens signed with the old one are refused.
        page.click("nav.menu >> text=Settings")
        page.check("input[name=confirm]")
        page.click("button:has-text('Rotate the secret key')")
        expect(page.locator(".flash")).to_contain_text("rotated")
        old_token = widget.token(1)
        wait_until(
            lambda: (
                widget.http.post(widget.v2("get_rooms"), headers={"JWT": old_token}).status_code
                == 401
            )
        )

        # On a phone the same pages fit the screen.
        phone = browser.new_context(
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            storage_state=context.storage_state(),
        )
        small = phone.new_page()
        small.goto(f"{dash}/{widget.imba_id}/")
        expect(small.locator("svg.chart")).to_have_count(2)
        overflow = small.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        shot(small, "phone")
        phone.close()
        assert errors == []
    finally:
        visitor.stop()
        context.close()
        receiver.stop()
        site.stop()


def test_wrong_passwords_are_throttled_in_the_browser(browser, server, widgets) -> None:
    widget = widgets()
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{server.url}/dashboard/?lang=es")
        for attempt in range(6):
            page.fill("input[name=imba_id]", str(widget.imba_id))
            page.fill("input[name=login]", widget.login)
            page.fill("input[name=password]", f"wrong {attempt}")
            page.click("button[type=submit]")
            expect(page.locator(".error")).to_be_visible()
        expect(page.locator(".error")).to_contain_text("Demasiadas contraseñas incorrectas")
    finally:
        context.close()
