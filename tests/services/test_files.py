"""Files, in-process: an upload no message takes is removed after a day; one taken
stays; the usage counter follows."""

from __future__ import annotations

import io

import pytest

from imbachat.events import MessageNew
from imbachat.files.links import Variant
from imbachat.services.files import Upload, clean_name
from imbachat.services.messages import SendCommand

pytestmark = pytest.mark.anyio

PDF = b"%PDF-1.4\n%%EOF\n"


async def upload(chat, widget, remote_id: int, content: bytes = PDF, name: str = "a.pdf"):
    user = await chat.user(widget, remote_id)
    return await chat.services.files.upload(
        widget, user, Upload(io.BytesIO(content), name, len(content))
    )


async def test_an_upload_no_message_took_is_removed_after_a_day(chat) -> None:
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    kept = await upload(chat, widget, 1)
    left = await upload(chat, widget, 1)
    await chat.services.messages.send(
        widget, SendCommand(1, room.id, "with a file", attachments=(kept.id,))
    )

    owner_view = dict(owner=True)
    chat.clock.advance(23 * 3600)
    await chat.services.files.sweep()
    await chat.services.files.for_download(widget, left.id, Variant.ORIGINAL, **owner_view)
    chat.clock.advance(2 * 3600)
    assert await chat.services.files.sweep() >= 1  # the database may hold other tests' too

    with pytest.raises(Exception, match="No file"):
        await chat.services.files.for_download(widget, left.id, Variant.ORIGINAL, **owner_view)
    found = await chat.services.files.for_download(widget, kept.id, Variant.ORIGINAL, **owner_view)
    assert (
        b"".join([c async for c in chat.services.files.read(found, Variant.ORIGINAL, 0, None)])
        == PDF
    )
    assert (await chat.services.widgets.get(widget.imba_id)).files_bytes == len(PDF)


async def test_the_new_message_event_carries_signed_links(chat) -> None:
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    stored = await upload(chat, widget, 1)

    await chat.services.messages.send(widget, SendCommand(1, room.id, "", attachments=(stored.id,)))

    [event] = chat.events(MessageNew)
    [attachment] = event.message.attachments
    assert attachment.url is not None and "signature=" in attachment.url
    assert attachment.thumbnail_url is None  # a PDF has no picture of itself


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("C:\\Users\\ann\\photo.jpg", "photo.jpg"),
        ("../../etc/passwd", "passwd"),
        ("", "file"),
        ("...", "file"),
        ("a\x00b\nc.txt", "a_b_c.txt"),
        ("x" * 300 + ".pdf", "x" * 247 + ".pdf"),
    ],
)
def test_names_are_cleaned_of_paths_and_control_characters(given: str, shown: str) -> None:
    assert clean_name(given) == shown
