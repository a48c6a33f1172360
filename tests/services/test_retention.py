"""Retention, in-process: a widget's messages older than its retention_days are
deleted (with their files) in batches; newer ones, and other widgets', stay."""

from __future__ import annotations

import asyncio
import io

import pytest

from imbachat.errors import Invalid, NotFound
from imbachat.files.links import Variant
from imbachat.services.files import Upload
from imbachat.services.messages import SendCommand
from imbachat.services.retention import RetentionWorker
from imbachat.services.widgets import WidgetSettings
from tests.inprocess import Chat

pytestmark = pytest.mark.anyio

DAY = 86_400
PDF = b"%PDF-1.4\n%%EOF\n"


def worker(chat: Chat, batch: int = 500) -> RetentionWorker:
    s = chat.services
    return RetentionWorker(s.db, s.changes, s.files, chat.clock, batch=batch, pause_seconds=0)


async def test_messages_older_than_the_widgets_days_are_deleted_with_their_files(
    chat: Chat,
) -> None:
    widget = await chat.widget()
    widget = await chat.services.widgets.update(widget.imba_id, WidgetSettings(retention_days=30))
    keeper = await chat.widget()
    room = await chat.room(widget, [1, 2])
    other_room = await chat.room(keeper, [1, 2])
    alice = await chat.user(widget, 1)
    upload = await chat.services.files.upload(
        widget, alice, Upload(io.BytesIO(PDF), "a.pdf", len(PDF))
    )
    await chat.services.messages.send(widget, SendCommand(1, room.id, "", attachments=(upload.id,)))
    for i in range(4):
        await chat.send(widget, 1, room, f"old {i}")
    await chat.send(keeper, 1, other_room, "kept for ever")
    chat.clock.advance(31 * DAY)
    newest = await chat.send(widget, 2, room, "recent")

    assert await worker(chat, batch=2).run_once() >= 5

    bob = await chat.user(widget, 2)
    page, _ = await chat.services.messages.history(widget, bob, room.id, None, 50)
    assert [m.body for m in page] == ["recent"]
    [view] = await chat.services.rooms.views(bob, only={room.id})
    assert view.last_message is not None and view.last_message.id == newest.id
    with pytest.raises(NotFound):
        await chat.services.files.for_download(widget, upload.id, Variant.ORIGINAL, owner=True)
    assert (await chat.services.widgets.get(widget.imba_id)).files_bytes == 0
    other_bob = await chat.user(keeper, 2)
    kept, _ = await chat.services.messages.history(keeper, other_bob, other_room.id, None, 50)
    assert [m.body for m in kept] == ["kept for ever"]


async def test_two_workers_at_once_delete_each_message_once(chat: Chat) -> None:
    widget = await chat.widget()
    await chat.services.widgets.update(widget.imba_id, WidgetSettings(retention_days=1))
    room = await chat.room(widget, [1, 2])
    for i in range(7):
        await chat.send(widget, 1, room, f"old {i}")
    chat.clock.advance(2 * DAY)

    counts = await asyncio.gather(worker(chat, 3).run_once(), worker(chat, 3).run_once())

    bob = await chat.user(widget, 2)
    page, _ = await chat.services.messages.history(widget, bob, room.id, None, 50)
    assert page == []
    assert sum(counts) >= 7  # other tests' widgets may have messages due too


async def test_retention_days_are_checked_and_0_keeps_messages(chat: Chat) -> None:
    widget = await chat.widget()

    with pytest.raises(Invalid):
        await chat.services.widgets.update(widget.imba_id, WidgetSettings(retention_days=-1))
    set_ = await chat.services.widgets.update(widget.imba_id, WidgetSettings(retention_days=7))
    cleared = await chat.services.widgets.update(widget.imba_id, WidgetSettings(retention_days=0))

    assert (set_.retention_days, cleared.retention_days) == (7, None)
