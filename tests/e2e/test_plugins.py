"""The WordPress plugin's code as it runs today, in Chromium, on a site of another
origin: everything on window.imbaApi with promises that settle, its two label
globals, the embedded-chat holder, and load() with no arguments for a visitor, who
then chats with support as a guest."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.host_site import HostSite

MSG = ".ic-msg .ic-bubble"


@pytest.fixture
def wordpress(server, widgets):
    """A site on another origin (``localhost``; the chat server is on 127.0.0.1)."""
    widget = widgets()
    site = HostSite(server.url, widget.imba_id, widget.secret_key)

    def page_url(**query: object) -> str:
        """The plugin's page, logged in as ``user`` (none: a visitor)."""
        text = "&".join(f"{k}={v}" for k, v in {"plugin": 1, **query}.items())
        return f"{site.url}/?{text}".replace("127.0.0.1", "localhost")

    yield site, widget, page_url
    site.stop()


@pytest.fixture
def console(browser):
    """Pages that record console errors and uncaught errors (promises included)."""
    contexts = []

    def open_(url: str, context=None):
        if context is None:
            context = browser.new_context(viewport={"width": 1100, "height": 760})
            contexts.append(context)
        page = context.new_page()
        page.problems = []
        page.on("pageerror", lambda error: page.problems.append(str(error)))
        page.on("console", lambda m: page.problems.append(m.text) if m.type == "error" else None)
        page.goto(url)
        page.wait_for_function("window.events && window.events.includes('resolved')")
        return page

    yield open_
    for context in contexts:
        context.close()


def state(page, button: str) -> str:
    page.wait_for_function(
        f"!['busy', undefined].includes(document.getElementById('{button}').dataset.state)",
        timeout=15_000,
    )
    return str(page.get_attribute(f"#{button}", "data-state"))


def test_the_plugins_buttons_work_on_imbaApi_and_their_promises_settle(wordpress, console) -> None:
    _, widget, page_url = wordpress
    page = console(page_url(user=1, other=2))

    assert page.text_content("#write") == "Chat with the user"  # gettext(...)
    assert page.text_content("#join") == "Join the group"  # imbaChatLangJson[...]
    page.click("#write")
    assert state(page, "write") == "done"
    expect(page.locator(".ic-head-title")).to_contain_text("User 2")
    page.click("#join")
    assert state(page, "join") == "done"
    expect(page.locator(".ic-head-title")).to_contain_text("Gardeners")
    page.click("#close")
    expect(page.locator(".ic-panel")).to_be_hidden()
    page.click("#open")
    expect(page.locator(".ic-panel")).to_be_visible()

    [dialog] = widget.listed("get_rooms", room_type="0")
    assert dialog["pipe"] == "dialog-1-2"
    [group] = widget.listed("get_rooms", room_pipe="wp-group-7")
    assert (group["name"], group["is_public"], group["type"]) == ("Gardeners", 1, 1)
    assert page.problems == []


def test_a_button_whose_work_fails_rejects_with_an_error_that_says_why(wordpress, console) -> None:
    _, _, page_url = wordpress
    page = console(page_url(user=1, other=2, dialog_secret="not-the-widget-secret-0123456789"))

    page.click("#write")

    assert state(page, "write").startswith("error: ")
    assert "token" in state(page, "write")


def test_labels_follow_the_pages_language(wordpress, console) -> None:
    _, _, page_url = wordpress
    page = console(page_url(user=1, lang="es-ES"))

    assert page.text_content("#write") == "Chatear con el usuario"
    assert page.text_content("#join") == "Unirse al grupo"


def test_the_embedded_chat_block_renders_inside_its_holder(wordpress, console) -> None:
    _, widget, page_url = wordpress
    widget.room([1, 3], room_type=1, room_title="Book club")
    page = console(page_url(user=1, holder=1))

    holder = page.locator("#imbachat_holder [data-imbachat]")
    expect(holder).to_have_count(1)
    expect(page.locator(".ic-launcher")).to_have_count(0)  # inline: no floating button
    page.click(".ic-tab:nth-child(2)")
    expect(page.locator(".ic-room")).to_have_count(1)


def test_a_visitor_who_is_not_logged_in_chats_with_support_as_a_guest(wordpress, console) -> None:
    _, widget, page_url = wordpress
    widget.room([1, 9], room_type=1)
    widget.set_user(1, status="admin")  # the site's operator
    visitor = console(page_url())

    visitor.click(".ic-launcher")
    visitor.fill("input[autocomplete=name]", "Ann")
    visitor.fill("input[autocomplete=email]", "ann@example.com")
    visitor.click(".ic-guest button")
    expect(visitor.locator("textarea")).to_be_visible()
    visitor.fill("textarea", "Do you ship to Spain?")
    visitor.keyboard.press("Enter")
    expect(visitor.locator(MSG).last).to_have_text("Do you ship to Spain?")

    operator = console(page_url(user=1))
    operator.click(".ic-launcher")
    operator.click(".ic-tab:nth-child(3)")
    operator.click(".ic-room")
    expect(operator.locator(MSG).last).to_have_text("Do you ship to Spain?")
    expect(operator.locator(".ic-head-sub")).to_contain_text("Ann (guest) · ann@example.com")
    operator.fill("textarea", "We do!")
    operator.keyboard.press("Enter")
    expect(visitor.locator(MSG).last).to_have_text("We do!")

    # The next page of the site: the same guest, the same conversation.
    again = console(page_url(), context=visitor.context)
    again.click(".ic-launcher")
    again.click(".ic-room")
    expect(again.locator(MSG)).to_have_count(2)
    [guest] = widget.listed("get_users", status="guest")
    assert guest["name"] == "Ann"
    assert visitor.problems == [] and operator.problems == [] and again.problems == []


def test_a_guest_who_logs_in_finds_their_conversation_in_their_account(wordpress, console) -> None:
    _, widget, page_url = wordpress
    visitor = console(page_url())
    visitor.click(".ic-launcher")
    visitor.click(".ic-guest button")
    visitor.fill("textarea", "my order 123 is late")
    visitor.keyboard.press("Enter")
    expect(visitor.locator(MSG).last).to_have_text("my order 123 is late")

    member = console(page_url(user=5), context=visitor.context)  # logged in, same browser
    member.click(".ic-launcher")
    member.click(".ic-tab:nth-child(3)")
    member.click(".ic-room")
    expect(member.locator(".ic-msg.ic-own " + ".ic-bubble")).to_have_text("my order 123 is late")
    [room] = widget.listed("get_rooms", room_type="3")
    assert room["pipe"] == "support-5"
    assert (
        member.evaluate("Object.keys(localStorage).filter(k => k.startsWith('imbachat.guest'))")
        == []
    )
