"""Privacy requests, in-process: an erased user's words and profile are gone from
every read and (on SQLite) from the database file; an export holds everything."""

from __future__ import annotations

import io
import secrets
import sqlite3
import zipfile
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from imbachat.domain import MessageQuery, Page, is_erased_remote_id
from imbachat.errors import NotFound
from imbachat.events import CallEnded, UserErased
from imbachat.files.links import Variant
from imbachat.services.files import Upload
from imbachat.services.messages import SendCommand
from imbachat.services.search import SearchRequest
from imbachat.states import CallKind, CallOutcome
from imbachat.store import calls as call_store
from imbachat.store.db import normalize_url
from imbachat.store.schema import (
    calls as calls_table,
)
from imbachat.store.schema import (
    members,
    reactions,
    reports,
    rooms,
    users,
    webhook_deliveries,
)
from imbachat.webhooks.bodies import WEBHOOK_EVENT_NAMES
from tests.inprocess import Chat
from tests.sqlite_file import file_holds

pytestmark = pytest.mark.anyio

PDF = b"%PDF-1.4\n%%EOF\n"


def marker() -> str:
    return f"zq{secrets.token_hex(8)}"


async def arranged(chat: Chat, word: str):
    """Alice (1) and Bob (2) in a conference Alice pinned her message in; Alice wrote
    ``word`` with a file, reacted to Bob's message, reported it, blocked Carol (3),
    and mentioned Bob; Bob mentioned Alice."""
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2, 3])
    alice = await chat.user(widget, 1)
    upload = await chat.services.files.upload(
        widget, alice, Upload(io.BytesIO(PDF), f"{word}.pdf", len(PDF))
    )
    hers = await chat.services.messages.send(
        widget,
        SendCommand(1, room.id, f"my secret is {word}", attachments=(upload.id,), mentions=(2,)),
    )
    his = await chat.services.messages.send(widget, SendCommand(2, room.id, "hi", mentions=(1,)))
    await chat.services.reactions.react(widget, 1, his.id, "👍")
    await chat.services.reports.report(widget, alice, his.id, f"rude {word}")
    await chat.services.blocks.set_blocked(widget, alice, 3, True)
    await chat.services.pins.pin(widget, alice, room.id, hers.id)
    return widget, room, alice, hers, his, upload


async def test_an_erased_users_messages_show_as_deleted_and_they_are_forgotten(
    chat: Chat,
) -> None:
    word = marker()
    widget, room, alice, hers, his, upload = await arranged(chat, word)
    bob = await chat.user(widget, 2)

    erasure = await chat.services.privacy.erase(widget, 1, actor="test")

    assert (erasure.user_id, erasure.member_id, erasure.messages, erasure.files) == (
        1,
        alice.id,
        1,
        1,
    )
    assert erasure.rooms == 1
    page, _ = await chat.services.messages.history(widget, bob, room.id, None, 50)
    [shown_hers, shown_his] = page
    assert shown_hers.id == hers.id and shown_hers.deleted_at is not None
    assert (shown_hers.body, shown_hers.attachments, shown_hers.mentions) == ("", (), ())
    assert shown_his.reactions == ()
    found = await chat.services.messages.find(widget, MessageQuery(room_id=room.id), Page())
    assert [m.id for m in found.items] == [his.id]
    searched = await chat.services.search.search_for_site(widget, None, SearchRequest(word))
    assert searched.results == []
    with pytest.raises(NotFound):
        await chat.services.files.for_download(widget, upload.id, Variant.ORIGINAL, owner=True)
    assert (await chat.services.widgets.get(widget.imba_id)).files_bytes == 0

    async with chat.services.db.read() as conn:
        row = (await conn.execute(select(users).where(users.c.id == alice.id))).one()
        room_row = (await conn.execute(select(rooms).where(rooms.c.id == room.id))).one()
        memberships = (
            await conn.execute(select(members).where(members.c.user_id == alice.id))
        ).all()
        reported = (
            await conn.execute(select(reports).where(reports.c.reporter_id == alice.id))
        ).all()
    assert is_erased_remote_id(row.remote_user_id)
    assert (row.name, row.avatar_url, row.user_data, row.profile_url) == (None, None, None, None)
    assert row.erased_at is not None
    assert (room_row.member_count, room_row.pinned_message_id) == (2, None)
    assert memberships == [] and reported == []
    assert await chat.services.blocks.blocked_ids(alice) == []
    [event] = chat.events(UserErased)
    assert isinstance(event, UserErased)
    assert (event.remote_user_id, event.messages, event.room_ids) == (1, 1, (room.id,))
    # The host id names nobody now: the same person coming back is a new user.
    with pytest.raises(NotFound):
        await chat.services.privacy.erase(widget, 1, actor="test")
    assert (await chat.user(widget, 1)).id != alice.id


async def test_history_names_an_erased_author_a_deleted_user(chat: Chat) -> None:
    from imbachat import render

    widget, room, _, hers, _, _ = await arranged(chat, marker())
    bob = await chat.user(widget, 2)

    await chat.services.privacy.erase(widget, 1, actor="test")

    page, _ = await chat.services.messages.history(widget, bob, room.id, None, 50)
    shown = render.message(page[0])
    assert (shown["id"], shown["user_name"], shown["message"]) == (hers.id, "Deleted user", "")


async def test_webhook_deliveries_that_carried_their_words_are_redacted(chat: Chat) -> None:
    word = marker()
    widget = await chat.widget()
    await chat.services.webhooks.add(widget, "http://127.0.0.1:9/hook")
    room = await chat.room(widget, [1, 2])
    await chat.send(widget, 1, room, f"call me at {word}")
    await chat.send(widget, 2, room, "ok")

    await chat.services.privacy.erase(widget, 1, actor="test")

    async with chat.services.db.read() as conn:
        rows = (
            await conn.execute(
                select(webhook_deliveries.c.event, webhook_deliveries.c.body)
                .where(webhook_deliveries.c.imba_id == widget.imba_id)
                .order_by(webhook_deliveries.c.id)
            )
        ).all()
    assert not any(word in body for _, body in rows)
    erased = [orjson.loads(body) for event, body in rows if event == "user.erased"]
    assert [body["data"]["user_id"] for body in erased] == [1]
    assert erased[0]["data"]["messages"] == 1
    assert "user.erased" in WEBHOOK_EVENT_NAMES


async def test_words_sent_while_the_erasure_runs_are_redacted_too(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message sent after the batches, just before the last step, queued its
    webhook delivery too: that one is redacted as well."""
    word = marker()
    widget = await chat.widget()
    await chat.services.webhooks.add(widget, "http://127.0.0.1:9/hook")
    room = await chat.room(widget, [1, 2])
    await chat.send(widget, 1, room, "before")
    privacy = chat.services.privacy
    original_run_write = privacy._changes.run_write
    calls = 0

    async def run_write(work, *args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 2:  # the batch of messages, then the last step
            await chat.send(widget, 1, room, f"late {word}")
        return await original_run_write(work, *args, **kwargs)

    monkeypatch.setattr(privacy._changes, "run_write", run_write)
    await privacy.erase(widget, 1, actor="test")

    async with chat.services.db.read() as conn:
        bodies = list(
            (
                await conn.execute(
                    select(webhook_deliveries.c.body).where(
                        webhook_deliveries.c.imba_id == widget.imba_id
                    )
                )
            ).scalars()
        )
    assert calls == 2
    assert len(bodies) >= 3
    assert not any(word in body for body in bodies)


async def test_a_new_user_with_an_erased_users_host_id_starts_new_conversations(
    chat: Chat,
) -> None:
    """Dialogs and support rooms are found by pipes made of host ids: the erased
    person's are renamed, so whoever gets that host id next does not read them."""
    word = marker()
    widget = await chat.widget()
    bob = await chat.user(widget, 2)
    dialog = (await chat.services.rooms.open_dialog(widget, bob, 1)).room
    await chat.send(widget, 2, dialog, f"to the old one: {word}")

    await chat.services.privacy.erase(widget, 1, actor="test")

    again = (await chat.services.rooms.open_dialog(widget, bob, 1)).room
    assert again.id != dialog.id
    newcomer = await chat.user(widget, 1)
    history, _ = await chat.services.messages.history(widget, newcomer, again.id, None, 50)
    assert history == []
    async with chat.services.db.read() as conn:
        pipe = await conn.scalar(select(rooms.c.pipe).where(rooms.c.id == dialog.id))
    assert pipe == f"dialog-erased-{dialog.id}"


async def test_an_erasure_runs_in_batches(chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    from imbachat.services import privacy

    monkeypatch.setattr(privacy, "BATCH", 3)
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    for i in range(8):
        await chat.send(widget, 1, room, f"message {i}")

    erasure = await chat.services.privacy.erase(widget, 1, actor="test")

    assert erasure.messages == 8
    bob = await chat.user(widget, 2)
    page, _ = await chat.services.messages.history(widget, bob, room.id, None, 50)
    assert [m.body for m in page] == [""] * 8
    audit = await chat.services.audit.page(widget.imba_id, None, 10)
    assert [(e.action, e.target, e.details) for e in audit.items] == [
        ("user erased", "user 1", "8 messages, 0 files, 1 rooms")
    ]


async def test_reactions_are_taken_back_in_batches_before_the_last_step(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last step is one transaction: a person who reacted to many messages must
    not make it rebuild every one of their summaries."""
    from imbachat.services import privacy

    monkeypatch.setattr(privacy, "BATCH", 3)
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2, 3])
    alice = await chat.user(widget, 1)
    bobs = [await chat.send(widget, 2, room, f"bob {i}") for i in range(7)]
    for message in bobs:
        await chat.services.reactions.react(widget, 1, message.id, "👍")
    await chat.services.reactions.react(widget, 3, bobs[0].id, "👍")
    original_run_write = chat.services.changes.run_write
    left_for_the_last_step: list[int] = []

    async def run_write(work, *args, **kwargs):  # type: ignore[no-untyped-def]
        async with chat.services.db.read() as conn:
            left = await conn.scalar(
                select(func.count()).select_from(reactions).where(reactions.c.user_id == alice.id)
            )
        left_for_the_last_step.append(int(left or 0))
        return await original_run_write(work, *args, **kwargs)

    monkeypatch.setattr(chat.services.changes, "run_write", run_write)
    await chat.services.privacy.erase(widget, 1, actor="test")

    assert left_for_the_last_step == [0]  # she wrote nothing: the last step is the one write
    bob = await chat.user(widget, 2)
    page, _ = await chat.services.messages.history(widget, bob, room.id, None, 50)
    summaries = [[(r.emoji, r.count, r.user_ids) for r in m.reactions] for m in page]
    assert summaries == [[("👍", 1, (3,))]] + [[]] * 6


async def test_the_erased_words_are_not_left_in_the_sqlite_file(
    chat: Chat, migrated_database_url: str
) -> None:
    path = make_url(normalize_url(migrated_database_url)).database
    if not chat.services.db.is_sqlite or not path:
        pytest.skip("the database file is SQLite's")
    word = marker()
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    await chat.send(widget, 1, room, f"short {word}")
    await chat.send(widget, 1, room, f"long {word} " + "padding " * 1000)  # overflow pages
    await chat.services.search.index.catch_up()
    await chat.services.search.search_for_site(widget, None, SearchRequest(word))

    assert file_holds(path, word)  # the check can see it while it is there

    erasure = await chat.services.privacy.erase(widget, 1, actor="test")

    assert erasure.compacted
    assert not file_holds(path, word)
    connection = sqlite3.connect(path)
    try:
        hits = connection.execute(
            "SELECT rowid FROM message_search WHERE message_search MATCH ?", (f'"{word}"',)
        ).fetchall()
    finally:
        connection.close()
    assert hits == []


async def test_an_export_holds_everything_about_the_user(chat: Chat, tmp_path: Path) -> None:
    word = marker()
    widget, room, _, hers, his, upload = await arranged(chat, word)
    target = tmp_path / "export.zip"

    size = await chat.services.privacy.export(widget, 1, target, actor="test")

    assert size == target.stat().st_size
    with zipfile.ZipFile(target) as archive:
        exported = orjson.loads(archive.read("user.json"))
        assert archive.read(f"files/{upload.id}-{word}.pdf") == PDF
    assert exported["user"]["remote_user_id"] == "1"
    assert [m["room_id"] for m in exported["memberships"]] == [room.id]
    assert [(m["id"], m["message"]) for m in exported["messages"]] == [
        (hers.id, f"my secret is {word}")
    ]
    assert exported["reactions"][0]["message_id"] == his.id
    assert [m["message_id"] for m in exported["mentions"]] == [his.id]
    assert [b["user_id"] for b in exported["blocks"]] == [3]
    assert exported["reports"][0]["reason"] == f"rude {word}"
    assert exported["files"][0]["path"] == f"files/{upload.id}-{word}.pdf"
    page = await chat.services.audit.page(widget.imba_id, None, 10)
    assert [(e.action, e.target) for e in page.items] == [("user exported", "user 1")]


async def test_an_export_pages_through_a_long_history(
    chat: Chat, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imbachat.services import export

    monkeypatch.setattr(export, "PAGE", 4)
    monkeypatch.setattr(export, "FLUSH_BYTES", 64)
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    for i in range(10):
        await chat.send(widget, 1, room, f"line {i}")

    await chat.services.privacy.export(widget, 1, tmp_path / "e.zip", actor="test")

    with zipfile.ZipFile(tmp_path / "e.zip") as archive:
        exported = orjson.loads(archive.read("user.json"))
    assert [m["message"] for m in exported["messages"]] == [f"line {i}" for i in range(10)]


async def test_an_unknown_user_is_not_found(chat: Chat, tmp_path: Path) -> None:
    widget = await chat.widget()

    with pytest.raises(NotFound):
        await chat.services.privacy.erase(widget, 404, actor="test")
    with pytest.raises(NotFound):
        await chat.services.privacy.export(widget, 404, tmp_path / "x.zip", actor="test")


async def test_an_export_holds_the_users_calls_and_an_erasure_ends_and_forgets_them(
    chat: Chat, tmp_path: Path
) -> None:
    widget = await chat.widget()
    alice, bob = await chat.user(widget, 1), await chat.user(widget, 2)
    dialog = (await chat.services.rooms.open_dialog(widget, alice, 2)).room.id
    calls = chat.services.calls
    declined = await calls.invite(widget, bob, "b:1", dialog, CallKind.AUDIO)
    await calls.decline(widget, alice, declined.id)
    going_on = await calls.invite(widget, alice, "a:1", dialog, CallKind.VIDEO)
    await calls.accept(widget, bob, "b:2", going_on.id)

    await chat.services.privacy.export(widget, 1, tmp_path / "e.zip", actor="test")
    with zipfile.ZipFile(tmp_path / "e.zip") as archive:
        exported = orjson.loads(archive.read("user.json"))
    assert [(c["id"], c["role"], c["user_id"], c["outcome"]) for c in exported["calls"]] == [
        (declined.id, "callee", 2, "declined"), (going_on.id, "caller", 2, None)]  # fmt: skip

    await chat.services.privacy.erase(widget, 1, actor="test")

    [ended] = [e.call for e in chat.events(CallEnded) if isinstance(e, CallEnded)][-1:]
    assert (ended.id, ended.outcome) == (going_on.id, CallOutcome.COMPLETED)  # Bob hears it
    async with chat.services.db.read() as conn:
        left = await conn.scalar(
            select(func.count()).select_from(calls_table).where(calls_table.c.room_id == dialog)
        )
        in_call = await call_store.in_call(conn, [alice.id, bob.id])
    assert (left, in_call) == (0, {})  # Bob is free for his next call
