"""Issue 21 in a real browser: calls in dialogs. Two people in Chromium with a fake
camera and microphone: Alice calls Bob from the dialog's header, Bob's widget rings,
he answers, each sees the other's video playing over a connected connection, and
hanging up leaves "Video call, m:ss" in the dialog for both; a call Bob does not
answer ends as missed; with caller and callee on two servers joined by Redis, the
call connects all the same. The call's window has no serious accessibility
violation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import redis_problem, service_missing
from tests.e2e.host_site import HostSite
from tests.e2e.test_accessibility import serious_violations

REDIS_URL = "redis://127.0.0.1:6379"
RECORD = re.compile(r"Video call, \d+:\d\d")  # a slow machine's call may last 10 s or more
REMOTE_PLAYING = """() => {
  const root = document.querySelector('[data-imbachat]').shadowRoot;
  const video = root.querySelector('.ic-call-remote');
  return !!video && video.videoWidth > 0 && !video.paused;
}"""


def open_dialog(page: Any, dialog: int) -> None:
    page.click(".ic-launcher")
    page.click(".ic-tab:nth-child(1)")
    page.click(f'.ic-room[data-room="{dialog}"]')
    expect(page.locator("textarea")).to_be_visible()


def call(page: Any, kind: str = "Video call") -> None:
    page.get_by_role("button", name="Call", exact=True).click()
    page.get_by_role("menuitem", name=kind).click()


def connected(page: Any) -> None:
    """The call's connection is up and the other's video plays."""
    expect(page.locator('.ic-callbox[data-state="connected"]')).to_be_visible(timeout=15_000)
    page.wait_for_function(REMOTE_PLAYING, timeout=15_000)


def people(widget: Any) -> int:
    dialog = int(widget.room([1, 2], room_type=0))
    widget.set_user(1, name="Alice")
    widget.set_user(2, name="Bob")
    return dialog


@pytest.fixture
def quick_site(start_server: Any, widgets: Any) -> Iterator[tuple[HostSite, Any]]:
    """A server whose calls ring 2 seconds, and a host site using it."""
    quick = start_server(call_ring_seconds=2.0, call_check_seconds=0.2)
    widget = widgets()
    site = HostSite(quick.url, widget.imba_id, widget.secret_key)
    yield site, widget
    site.stop()


def test_alice_calls_bob_who_answers_and_hanging_up_leaves_the_record(
    host_site: Any, open_page: Any
) -> None:
    site, widget = host_site
    dialog = people(widget)
    alice = open_page(site.page_url(1))
    bob = open_page(site.page_url(2))
    open_dialog(alice, dialog)

    call(alice)
    ringing = bob.get_by_role("dialog", name="Video call: Alice")
    expect(ringing.get_by_text("Incoming call")).to_be_visible()
    expect(alice.get_by_role("dialog", name="Video call: Bob")).to_contain_text("Calling…")
    ringing.get_by_role("button", name="Accept").click()

    for page in (alice, bob):
        connected(page)
        state = page.locator(".ic-callbox").evaluate("box => box.getAttribute('data-state')")
        assert state == "connected"
        expect(page.locator(".ic-call-timer")).to_have_text(re.compile(r"^\d+:\d\d$"))
        # The timer ticks outside the live region, which says the call's state only.
        expect(page.locator(".ic-call-status[role=status]")).to_have_text("Connected")
    assert serious_violations(bob) == []
    mute = alice.get_by_role("button", name="Mute microphone")
    mute.click()
    expect(mute).to_have_attribute("aria-pressed", "true")
    camera = alice.get_by_role("button", name="Turn camera off")
    camera.click()
    expect(camera).to_have_attribute("aria-pressed", "true")

    alice.get_by_role("button", name="Hang up").click()

    expect(alice.locator(".ic-callbox")).to_have_count(0)
    expect(bob.locator(".ic-callbox")).to_have_count(0)
    open_dialog(bob, dialog)
    for page in (alice, bob):
        record = page.locator(".ic-msg", has_text=RECORD)
        expect(record).to_have_count(1)
    assert alice.errors == [] and bob.errors == []


def test_a_call_bob_does_not_answer_ends_as_missed(quick_site: Any, open_page: Any) -> None:
    site, widget = quick_site
    dialog = people(widget)
    alice = open_page(site.page_url(1))
    bob = open_page(site.page_url(2))
    open_dialog(alice, dialog)

    call(alice, "Audio call")
    expect(bob.get_by_role("button", name="Accept")).to_be_visible()

    expect(bob.locator(".ic-callbox")).to_have_count(0, timeout=10_000)
    expect(alice.locator(".ic-callbox")).to_have_count(0)
    expect(alice.locator(".ic-msg", has_text="Missed call")).to_have_count(1)
    open_dialog(bob, dialog)
    expect(bob.locator(".ic-msg", has_text="Missed call")).to_have_count(1)
    assert alice.errors == [] and bob.errors == []


def test_a_caller_and_a_callee_on_two_servers_connect(
    start_server: Any, widgets: Any, open_page: Any
) -> None:
    problem = redis_problem(REDIS_URL)
    if problem:
        service_missing(problem)
    node_a = start_server(bus_url=REDIS_URL)
    node_b = start_server(bus_url=REDIS_URL)
    widget = widgets()
    dialog = people(widget)
    on_a = HostSite(node_a.url, widget.imba_id, widget.secret_key)
    on_b = HostSite(node_b.url, widget.imba_id, widget.secret_key)
    try:
        alice = open_page(on_a.page_url(1))
        bob = open_page(on_b.page_url(2))
        open_dialog(alice, dialog)

        call(alice)
        bob.get_by_role("button", name="Accept").click()

        for page in (alice, bob):
            connected(page)
        bob.get_by_role("button", name="Hang up").click()
        expect(alice.locator(".ic-msg", has_text=RECORD)).to_have_count(1)
    finally:
        on_a.stop()
        on_b.stop()
