"""Issue 4 §4: `imbachat demo`'s host site, opened as two users, chatting."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from imbachat.demo.seed import seed_demo
from tests.e2e.conftest import screenshot


@pytest.fixture
def demo(start_server, tmp_path: Path):
    server = start_server(database_url=f"sqlite:///{tmp_path / 'demo.db'}", demo=True)
    server.run(lambda services: seed_demo(services.db))
    return server


WIDGET_SHOWN = "window.imbaChat && document.querySelector('[data-imbachat]')"


def test_alice_writes_to_bob_from_his_profile_and_bob_answers(demo, open_page) -> None:
    alice = open_page(f"{demo.url}/?user=1", WIDGET_SHOWN)
    bob = open_page(f"{demo.url}/?user=2", WIDGET_SHOWN)
    expect(alice.get_by_text("Logged in as Alice")).to_be_visible()
    expect(bob.locator(".ic-launcher .ic-badge")).to_have_text("2")  # unread demo history

    alice.locator(".profile", has_text="Bob").get_by_role("button").click()
    expect(alice.locator(".ic-head-title")).to_contain_text("Bob")
    alice.fill("textarea", "Hi Bob, from your profile page")
    alice.keyboard.press("Enter")

    bob.click(".ic-launcher")
    bob.locator(".ic-room", has_text="Alice").click()
    expect(bob.locator(".ic-msg .ic-bubble").last).to_have_text("Hi Bob, from your profile page")
    bob.fill("textarea", "Hello Alice!")
    bob.keyboard.press("Enter")
    expect(alice.locator(".ic-msg .ic-bubble").last).to_have_text("Hello Alice!")
    screenshot(alice, "demo-dialog")


def test_the_demo_has_a_conference_and_a_support_room_with_history(demo, open_page) -> None:
    carol = open_page(f"{demo.url}/?user=3", WIDGET_SHOWN)
    carol.click(".ic-launcher")

    carol.get_by_role("tab", name="Conferences").click()
    expect(carol.locator(".ic-room")).to_contain_text("Team chat")
    carol.get_by_role("tab", name="Support").click()
    carol.locator(".ic-room", has_text="Technical support").click()
    expect(carol.locator(".ic-msg")).to_have_count(2)
