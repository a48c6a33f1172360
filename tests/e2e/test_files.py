"""Photos and files in the widget, in a real browser: picked, pasted or dropped into
the composer, uploaded with progress (and cancelled), refused with a clear message,
shown to the other member live as a thumbnail that opens full size or as a card
that downloads; what reaches them has no location in it."""

from __future__ import annotations

import io
import re

import httpx
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.host_site import HostSite, pdf, photo, send_files

PICKER = ".ic-composer input[type=file]"
SEND = ".ic-composer .ic-btn"
GPS = 0x8825


def open_room(page, room_id: int) -> None:
    page.click(".ic-launcher")
    page.click(".ic-tab:nth-child(2)")
    page.click(f'.ic-room[data-room="{room_id}"]')
    expect(page.locator("textarea")).to_be_visible()


def uploads_to(page) -> list[str]:
    """The upload requests the page makes, as they go."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.method) if r.url.endswith("/files") else None)
    return seen


def fetch(url: str) -> httpx.Response:
    answer = httpx.get(url, timeout=30)
    assert answer.status_code == 200, (url, answer.status_code, answer.text[:200])
    return answer


def test_a_photo_reaches_the_other_member_live_without_its_location(host_site, open_page) -> None:
    site, widget = host_site
    room = widget.room([1, 2], room_type=1, room_title="Holiday")
    alice, bob = open_page(site.page_url(1)), open_page(site.page_url(2))
    open_room(alice, room)
    open_room(bob, room)
    taken = photo(1200, 800, orientation=6)  # the camera was held upright
    assert Image.open(io.BytesIO(taken)).getexif().get_ifd(GPS)  # the test's own photo has GPS

    attach = alice.locator(".ic-attach")
    expect(attach).to_have_attribute("aria-label", "Attach files")
    box = attach.bounding_box()
    assert box is not None and box["width"] >= 44 and box["height"] >= 44
    alice.set_input_files(
        PICKER, files=[{"name": "beach.jpg", "mimeType": "image/jpeg", "buffer": taken}]
    )
    tray = alice.locator(".ic-tray .ic-up")
    expect(tray).to_have_count(1)
    expect(tray.locator(".ic-up-name")).to_have_text("beach.jpg")
    expect(tray.locator("progress")).to_have_count(0)  # uploaded
    expect(tray.get_by_role("button")).to_have_attribute("aria-label", "Remove beach.jpg")
    alice.click(SEND)  # no text: the photo alone
    expect(alice.locator(".ic-tray")).to_be_hidden()

    thumb = bob.locator(".ic-msg .ic-thumb img")
    expect(thumb).to_have_count(1)
    expect(thumb).to_have_attribute("alt", "beach.jpg")
    # Sized before it loads, upright: 800x1200 shown within 260x320.
    assert (thumb.get_attribute("width"), thumb.get_attribute("height")) == ("213", "320")
    bob.wait_for_function(
        "() => document.querySelector('[data-imbachat]').shadowRoot"
        ".querySelector('.ic-thumb img').naturalWidth > 0"
    )
    thumbnail = Image.open(io.BytesIO(fetch(thumb.get_attribute("src") or "").content))
    assert max(thumbnail.size) <= 480 and thumbnail.width < thumbnail.height

    screenshot(bob, "photo-in-conversation", of=".ic-panel")
    bob.locator(".ic-thumb").focus()
    bob.keyboard.press("Enter")
    viewer = bob.get_by_role("dialog", name="beach.jpg")
    expect(viewer).to_be_visible()
    expect(viewer).to_have_attribute("aria-modal", "true")
    expect(viewer.get_by_role("button", name="Close")).to_be_focused()
    full = viewer.locator("img")
    bob.wait_for_function(
        "() => document.querySelector('[data-imbachat]').shadowRoot"
        ".querySelector('.ic-viewer img').naturalWidth === 800"
    )
    original = viewer.get_by_role("link", name="Open original")
    assert original.get_attribute("href") == full.get_attribute("src")
    screenshot(bob, "image-viewer")

    image = Image.open(io.BytesIO(fetch(full.get_attribute("src") or "").content))
    assert image.size == (800, 1200)  # the rotation applied to the pixels
    assert image.getpixel((780, 20))[0] > 150  # red corner now top right, as seen upright
    exif = image.getexif()
    assert GPS not in exif and not exif.get_ifd(GPS), dict(exif)

    bob.keyboard.press("Escape")
    expect(viewer).to_have_count(0)
    expect(bob.locator(".ic-thumb")).to_be_focused()  # focus back where it was
    expect(bob.locator(".ic-panel")).to_be_visible()  # Esc closed the viewer only

    bob.click(".ic-back")
    expect(bob.locator(".ic-room-preview")).to_have_text("User 1: 📷 Photo")
    assert alice.errors == [] and bob.errors == []


def test_a_file_shows_as_a_card_that_downloads(host_site, open_page) -> None:
    site, widget = host_site
    room = widget.room([1, 2], room_type=1)
    alice, bob = open_page(site.page_url(1)), open_page(site.page_url(2))
    open_room(alice, room)
    bob.click(".ic-launcher")
    bob.click(".ic-tab:nth-child(2)")
    content = pdf(2048)

    alice.set_input_files(
        PICKER,
        files=[
            {"name": "minutes of the meeting.pdf", "mimeType": "application/pdf", "buffer": content}
        ],
    )
    expect(alice.locator(".ic-up-note")).to_have_text("2 kB")
    alice.fill("textarea", "the minutes")
    alice.keyboard.press("Enter")
    expect(alice.locator(".ic-msg.ic-own:not(.ic-pending) .ic-file")).to_have_count(1)

    preview = bob.locator(".ic-room-preview")
    expect(preview).to_have_text("User 1: the minutes")
    bob.click(f'.ic-room[data-room="{room}"]')
    card = bob.locator(".ic-msg .ic-file")
    expect(card.locator(".ic-file-name")).to_have_text("minutes of the meeting.pdf")
    expect(card.locator(".ic-file-size")).to_have_text("2 kB")
    expect(card.locator(".ic-file-icon")).to_have_text("PDF")
    expect(bob.locator(".ic-msg .ic-bubble").last).to_contain_text("the minutes")
    screenshot(bob, "file-card", of=".ic-panel")
    with bob.expect_download() as downloading:
        card.click()
    download = downloading.value
    assert download.suggested_filename == "minutes of the meeting.pdf"
    with open(download.path(), "rb") as saved:
        assert saved.read() == content

    assert alice.errors == [] and bob.errors == []


def test_a_file_over_the_limit_is_refused_before_uploading(
    start_server, widgets, open_page
) -> None:
    chat = start_server(max_upload_bytes=50_000)
    widget = widgets()
    room = widget.room([1, 2], room_type=1)
    site = HostSite(chat.url, widget.imba_id, widget.secret_key)
    try:
        alice = open_page(site.page_url(1))
        open_room(alice, room)
        requests = uploads_to(alice)

        alice.set_input_files(
            PICKER,
            files=[{"name": "scan.pdf", "mimeType": "application/pdf", "buffer": pdf(60_000)}],
        )

        note = alice.locator(".ic-up-error .ic-up-note")
        expect(note).to_have_text("“scan.pdf” is too large: files may be up to 50 kB.")
        expect(note).to_have_attribute("role", "alert")
        screenshot(alice, "file-too-large", of=".ic-panel")
        alice.click(SEND)
        alice.keyboard.press("Enter")
        expect(alice.locator(".ic-msg")).to_have_count(0)
        assert requests == []
        assert widget.listed("get_messages", room_id=str(room)) == []
        alice.click(".ic-up-error .ic-icon-btn")  # dismissed
        expect(alice.locator(".ic-tray")).to_be_hidden()
    finally:
        site.stop()


def test_a_refused_type_says_so_clearly(host_site, open_page) -> None:
    site, widget = host_site
    changed = widget.http.put(
        f"/api/v1/{widget.imba_id}/settings", data={"file_types": "image"}, auth=widget.basic
    )
    assert changed.status_code == 200, changed.text
    room = widget.room([1, 2], room_type=1)
    alice = open_page(site.page_url(1, lang="fr"))
    open_room(alice, room)
    expect(alice.locator(PICKER)).to_have_attribute("accept", "image/*")

    alice.set_input_files(
        PICKER, files=[{"name": "contrat.pdf", "mimeType": "application/pdf", "buffer": pdf()}]
    )

    expect(alice.locator(".ic-up-error .ic-up-note")).to_have_text(
        "« contrat.pdf » n’a pas été envoyé : les fichiers de ce type ne sont pas acceptés ici."
    )
    alice.fill("textarea", "voici")
    alice.keyboard.press("Enter")  # the text goes; the refused file does not
    expect(alice.locator(".ic-msg.ic-own:not(.ic-pending) .ic-bubble")).to_have_text("voici")
    expect(alice.locator(".ic-msg .ic-file")).to_have_count(0)
    expect(alice.locator(".ic-tray")).to_be_hidden()


def test_files_are_off_when_the_owner_takes_none(host_site, open_page) -> None:
    site, widget = host_site
    widget.http.put(
        f"/api/v1/{widget.imba_id}/settings", data={"file_types": "none"}, auth=widget.basic
    )
    room = widget.room([1, 2], room_type=1)
    alice = open_page(site.page_url(1))
    open_room(alice, room)
    expect(alice.locator(".ic-attach")).to_be_hidden()


def test_an_upload_in_progress_can_be_cancelled(host_site, open_page) -> None:
    site, widget = host_site
    room = widget.room([1, 2], room_type=1)
    alice = open_page(site.page_url(1))
    open_room(alice, room)
    held = []
    alice.route("**/files", lambda route: held.append(route))  # the upload never ends

    alice.set_input_files(
        PICKER, files=[{"name": "big.jpg", "mimeType": "image/jpeg", "buffer": photo(640, 480)}]
    )

    item = alice.locator(".ic-tray .ic-up")
    expect(item.locator("progress")).to_be_visible()
    expect(item.locator("progress")).to_have_attribute("aria-label", "Uploading big.jpg")
    expect(alice.locator(SEND)).to_be_disabled()  # sending waits for the upload
    screenshot(alice, "upload-in-progress", of=".ic-panel")
    cancel = item.get_by_role("button", name="Cancel the upload of big.jpg")
    cancel.click()
    expect(alice.locator(".ic-tray")).to_be_hidden()
    expect(alice.locator(SEND)).to_be_enabled()
    expect(alice.locator("textarea")).to_be_focused()
    alice.keyboard.press("Enter")
    expect(alice.locator(".ic-msg")).to_have_count(0)
    assert len(held) == 1
    assert widget.listed("get_messages", room_id=str(room)) == []


PASTE_AND_DROP = """async () => {
  const root = document.querySelector('[data-imbachat]').shadowRoot;
  const canvas = Object.assign(document.createElement('canvas'), { width: 300, height: 200 });
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#3a7'; ctx.fillRect(0, 0, 300, 200);
  const png = await new Promise(done => canvas.toBlob(done, 'image/png'));
  const pasted = new DataTransfer();
  pasted.items.add(new File([png], 'image.png', { type: 'image/png' }));
  root.querySelector('textarea').dispatchEvent(
    new ClipboardEvent('paste', { clipboardData: pasted, bubbles: true, cancelable: true }));
  const dropped = new DataTransfer();
  dropped.items.add(new File(['%PDF-1.4\\n' + 'x'.repeat(500) + '\\n%%EOF\\n'], 'notes.pdf',
                             { type: 'application/pdf' }));
  const messages = root.querySelector('.ic-messages');
  for (const type of ['dragover', 'drop']) {
    const event = { dataTransfer: dropped, bubbles: true, cancelable: true };
    messages.dispatchEvent(new DragEvent(type, event));
  }
}"""


def test_an_image_pasted_and_a_file_dropped_go_in_one_message(host_site, open_page) -> None:
    site, widget = host_site
    room = widget.room([1, 2], room_type=1)
    alice, bob = open_page(site.page_url(1)), open_page(site.page_url(2))
    open_room(alice, room)
    open_room(bob, room)

    alice.evaluate(PASTE_AND_DROP)
    names = alice.locator(".ic-tray .ic-up-name")
    expect(names).to_have_text(["image.png", "notes.pdf"])
    expect(alice.locator(".ic-tray progress")).to_have_count(0)
    expect(alice.locator(".ic-conv[data-drop]")).to_have_class("ic-conv")  # the drop hint gone
    expect(alice.locator(".ic-up-note").last).to_have_text("516 bytes")
    alice.fill("textarea", "both")
    alice.keyboard.press("Enter")

    message = bob.locator(".ic-msg").last
    expect(message.locator(".ic-thumb img")).to_have_attribute("alt", "image.png")
    expect(message.locator(".ic-file-name")).to_have_text("notes.pdf")
    expect(message.locator(".ic-bubble")).to_contain_text("both")
    [stored] = widget.listed("get_messages", room_id=str(room))
    assert stored["message"] == "both"


def test_an_image_that_fails_to_load_is_shown_again_with_fresh_links(host_site, open_page) -> None:
    site, widget = host_site
    room = widget.room([1, 2], room_type=1)
    send_files(widget, 1, room, {"old.jpg": photo(600, 400)}, "from yesterday")
    bob = open_page(site.page_url(2))
    bob.evaluate(
        """() => {
          const send = WebSocket.prototype.send;
          window.sent = [];
          WebSocket.prototype.send = function (d) { sent.push(d); return send.call(this, d); };
        }"""
    )  # the frames the widget sends from now on
    refused: list[str] = []

    def expired_once(route) -> None:  # the link ran out while the page was open
        if not refused:
            refused.append(route.request.url)
            route.fulfill(status=403, body="expired")
        else:
            route.continue_()

    bob.route("**/files/*/thumbnail*", expired_once)
    bob.route("**/files/*/original*", expired_once)
    open_room(bob, room)

    bob.wait_for_function(
        "() => document.querySelector('[data-imbachat]').shadowRoot"
        ".querySelector('.ic-thumb img')?.naturalWidth > 0"
    )
    assert len(refused) == 1
    asked = [f for f in bob.evaluate("window.sent") if '"history"' in f]
    assert len(asked) == 2, asked  # the room's messages, then again for fresh links
    assert bob.errors == []


def test_a_guest_sends_a_file_to_support(host_site, open_page) -> None:
    site, widget = host_site
    widget.room([1, 9], room_type=1)
    widget.set_user(1, status="admin")  # the site's operator
    visitor = open_page(f"{site.url}/?plugin=1")
    visitor.click(".ic-launcher")
    visitor.click(".ic-guest button")
    expect(visitor.locator("textarea")).to_be_visible()

    visitor.set_input_files(
        PICKER, files=[{"name": "order.pdf", "mimeType": "application/pdf", "buffer": pdf()}]
    )
    expect(visitor.locator(".ic-up-note")).to_have_text("2 kB")  # uploaded with the guest's token
    visitor.keyboard.press("Enter")
    expect(visitor.locator(".ic-msg.ic-own:not(.ic-pending) .ic-file-name")).to_have_text(
        "order.pdf"
    )

    operator = open_page(site.page_url(1))
    operator.click(".ic-launcher")
    operator.click(".ic-tab:nth-child(3)")
    expect(operator.locator(".ic-room-preview")).to_have_text(
        re.compile(r"^Guest \d+: 📎 order.pdf$")
    )
    operator.click(".ic-room")
    expect(operator.locator(".ic-msg .ic-file-name")).to_have_text("order.pdf")
    assert visitor.errors == [] and operator.errors == []


def test_too_many_uploads_say_when_to_try_again(start_server, widgets, open_page) -> None:
    chat = start_server(uploads_per_minute=1)
    widget = widgets()
    room = widget.room([1, 2], room_type=1)
    site = HostSite(chat.url, widget.imba_id, widget.secret_key)
    try:
        alice = open_page(site.page_url(1))
        open_room(alice, room)

        alice.set_input_files(
            PICKER,
            files=[{"name": f"{n}.pdf", "mimeType": "application/pdf", "buffer": pdf()}
                   for n in ("one", "two")],
        )  # fmt: skip

        expect(alice.locator(".ic-up-error .ic-up-note")).to_have_text(
            re.compile(r"^Too many files at once: try again in \d+ s\.$")
        )
        expect(alice.locator(".ic-up:not(.ic-up-error) .ic-up-note")).to_have_text("2 kB")
        alice.keyboard.press("Enter")  # the one that went up is sent
        expect(alice.locator(".ic-msg.ic-own:not(.ic-pending) .ic-file")).to_have_count(1)
    finally:
        site.stop()
