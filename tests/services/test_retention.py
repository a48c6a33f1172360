"""Retention, in-process: a widget's messages older than its retention_days are
deleted (with their files) in batches; newer ones, and other widgets', stay."""

from __future__ import annotations

import asyncio
import io
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url

from imbachat.errors import Invalid, NotFound
from imbachat.events import PinChanged
from imbachat.files.links import Variant
from imbachat.files.storage import LocalStorage
from imbachat.services.files import Upload
from imbachat.services.messages import SendCommand
from imbachat.services.retention import RetentionWorker
from imbachat.services.widgets import WidgetSettings
from imbachat.states import CallKind, DeliveryStatus
from imbachat.store import calls as call_store
from imbachat.store.db import Database, normalize_url
from imbachat.store.schema import mentions, reactions, reports, rooms, webhook_deliveries
from tests.inprocess import Chat, in_process
from tests.sqlite_file import file_holds

pytestmark = pytest.mark.anyio

DAY = 86_400
PDF = b"%PDF-1.4\n%%EOF\n"


def worker(chat: Chat, batch: int = 500) -> RetentionWorker:
    s = chat.services
    return RetentionWorker(
        s.db, s.changes, s.files, chat.clock, batch=batch, pause_seconds=0, scrub_every_seconds=0
    )


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


async def test_a_worker_cancelled_right_after_a_commit_still_removes_the_files_bytes(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At shutdown the worker is cancelled wherever it is: a batch that committed
    goes on to remove its files' bytes, which no row would find any more."""
    widget = await chat.widget()
    await chat.services.widgets.update(widget.imba_id, WidgetSettings(retention_days=1))
    room = await chat.room(widget, [1, 2])
    alice = await chat.user(widget, 1)
    upload = await chat.services.files.upload(
        widget, alice, Upload(io.BytesIO(PDF), "a.pdf", len(PDF))
    )
    await chat.services.messages.send(widget, SendCommand(1, room.id, "", attachments=(upload.id,)))
    storage = chat.services.files.storage
    assert isinstance(storage, LocalStorage)
    stored_bytes = storage.root / upload.storage_key
    assert stored_bytes.exists()
    chat.clock.advance(2 * DAY)
    changes = chat.services.changes
    real_run_write = changes.run_write
    committed, go_on = asyncio.Event(), asyncio.Event()

    async def run_write(work, *args, **kwargs):  # type: ignore[no-untyped-def]
        result = await real_run_write(work, *args, **kwargs)
        deleted, _ = result
        if upload.id in {f.id for f in deleted.files}:  # not another test's widget's
            committed.set()
            await go_on.wait()  # the shutdown's cancellation arrives here
        return result

    monkeypatch.setattr(changes, "run_write", run_write)
    running = asyncio.create_task(worker(chat).run_once())
    await committed.wait()
    running.cancel()
    go_on.set()

    with pytest.raises(asyncio.CancelledError):
        await running
    with pytest.raises(NotFound):
        await chat.services.files.for_download(widget, upload.id, Variant.ORIGINAL, owner=True)
    assert not stored_bytes.exists()


async def test_two_workers_at_once_delete_each_message_once(
    chat: Chat, migrated_database_url: str
) -> None:
    """Two nodes: each on its own database connection, both at once."""
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    for i in range(7):
        await chat.send(widget, 1, room, f"old {i}")
    chat.clock.advance(2 * DAY)
    await worker(chat).run_once()  # what other tests left due goes first: ours is kept
    await chat.services.widgets.update(widget.imba_id, WidgetSettings(retention_days=1))

    async with in_process(migrated_database_url) as other_node:
        other_node.clock.advance(2 * DAY)
        counts = await asyncio.gather(worker(chat, 3).run_once(), worker(other_node, 3).run_once())

    bob = await chat.user(widget, 2)
    page, _ = await chat.services.messages.history(widget, bob, room.id, None, 50)
    assert page == []
    assert sum(counts) == 7


async def test_what_hangs_on_a_deleted_message_goes_with_it(chat: Chat) -> None:
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    alice = await chat.user(widget, 1)
    old = await chat.services.messages.send(widget, SendCommand(2, room.id, "hi", mentions=(1,)))
    await chat.services.reactions.react(widget, 1, old.id, "👍")
    await chat.services.reports.report(widget, alice, old.id, "rude")
    await chat.services.pins.pin(widget, alice, room.id, old.id)
    chat.clock.advance(2 * DAY)
    await chat.services.widgets.update(widget.imba_id, WidgetSettings(retention_days=1))

    await worker(chat).run_once()

    async with chat.services.db.read() as conn:
        for table in (reactions, mentions, reports):
            left = await conn.scalar(
                select(func.count()).select_from(table).where(table.c.message_id == old.id)
            )
            assert left == 0, table.name
        pinned = await conn.scalar(select(rooms.c.pinned_message_id).where(rooms.c.id == room.id))
    assert pinned is None
    assert [e.room_id for e in chat.events(PinChanged)][-1] == room.id


@pytest.fixture
async def chat_alone(chat: Chat, tmp_path) -> AsyncIterator[Chat]:
    """On SQLite, services on a file of their own: the test session's server shares
    the database under test, and its webhook dispatcher would try (and so change) a
    delivery a test means to keep pending."""
    if not chat.services.db.is_sqlite:
        yield chat
        return
    url = f"sqlite:///{tmp_path / 'alone.db'}"
    db = Database(url)
    await db.migrate()
    await db.close()
    async with in_process(url) as alone:
        yield alone


async def test_old_webhook_deliveries_go_and_pending_or_recent_ones_stay(
    chat_alone: Chat,
) -> None:
    chat = chat_alone
    widget = await chat.widget()
    await chat.services.widgets.update(widget.imba_id, WidgetSettings(retention_days=1))
    await chat.services.webhooks.add(widget, "http://127.0.0.1:9/hook")
    room = await chat.room(widget, [1, 2])
    for i in range(6):
        await chat.send(widget, 1, room, f"message {i}")
    log = webhook_deliveries.c
    mine = select(log.id).where(log.imba_id == widget.imba_id).order_by(log.id)
    async with chat.services.db.write() as conn:
        logged = list(await conn.scalars(mine))
        old, recent = logged[:-2], logged[-2:]
        # All delivered but the oldest, still being retried; all old but the last two.
        two_days_ago = chat.clock.now() - timedelta(days=2)
        await conn.execute(update(webhook_deliveries).where(log.id.in_(old))
                           .values(created_at=two_days_ago))  # fmt: skip
        await conn.execute(update(webhook_deliveries).where(log.id.in_(logged[1:]))
                           .values(status=DeliveryStatus.DELIVERED))  # fmt: skip
        # Not due for a day: no dispatcher on PostgreSQL's shared database tries it.
        tomorrow = chat.clock.now() + timedelta(days=1)
        await conn.execute(update(webhook_deliveries).where(log.id == old[0])
                           .values(next_attempt_at=tomorrow))  # fmt: skip

    await worker(chat, batch=2).run_once()

    async with chat.services.db.read() as conn:
        left = list(await conn.scalars(mine))
    assert len(old) >= 5
    assert left == [old[0], *recent]


async def test_deleted_messages_words_leave_the_sqlite_file(
    chat: Chat, migrated_database_url: str
) -> None:
    path = make_url(normalize_url(migrated_database_url)).database
    if not chat.services.db.is_sqlite or not path:
        pytest.skip("the database file is SQLite's")
    word = f"zq{secrets.token_hex(8)}"
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    await chat.send(widget, 1, room, f"short {word}")
    await chat.send(widget, 1, room, f"long {word} " + "padding " * 1000)  # overflow pages
    await chat.services.search.index.catch_up()
    assert file_holds(path, word)  # the check can see it while it is there
    chat.clock.advance(2 * DAY)
    await chat.services.widgets.update(widget.imba_id, WidgetSettings(retention_days=1))

    await worker(chat).run_once()

    assert not file_holds(path, word)


async def test_retention_days_are_checked_and_0_keeps_messages(chat: Chat) -> None:
    widget = await chat.widget()

    with pytest.raises(Invalid):
        await chat.services.widgets.update(widget.imba_id, WidgetSettings(retention_days=-1))
    set_ = await chat.services.widgets.update(widget.imba_id, WidgetSettings(retention_days=7))
    cleared = await chat.services.widgets.update(widget.imba_id, WidgetSettings(retention_days=0))

    assert (set_.retention_days, cleared.retention_days) == (7, None)


async def test_calls_that_ended_before_the_cutoff_are_deleted(chat: Chat) -> None:
    widget = await chat.widget()
    widget = await chat.services.widgets.update(widget.imba_id, WidgetSettings(retention_days=30))
    ann, bo = await chat.user(widget, 1), await chat.user(widget, 2)
    dialog = (await chat.services.rooms.open_dialog(widget, ann, 2)).room.id
    calls = chat.services.calls
    old = await calls.invite(widget, ann, "a:1", dialog, CallKind.VIDEO)
    await calls.decline(widget, bo, old.id)
    chat.clock.advance(31 * DAY)
    recent = await calls.invite(widget, ann, "a:1", dialog, CallKind.AUDIO)
    await calls.decline(widget, bo, recent.id)
    going_on = await calls.invite(widget, bo, "b:2", dialog, CallKind.AUDIO)

    await worker(chat).run_once()

    async with chat.services.db.read() as conn:
        left = [await call_store.get(conn, c.id) for c in (old, recent, going_on)]
    assert [c.id if c else None for c in left] == [None, recent.id, going_on.id]
