"""The search index of migrations 0010 and 0013 on the database under test:
messages stored before it are indexed by it, it follows every change of a message
(sent, edited, deleted, removed; on SQLite also when the change comes before the
indexer reached the message), it goes away cleanly, and queries are cut into words
as the index cuts them."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import delete, text
from sqlalchemy.engine import Connection

from imbachat.store import search as search_store
from imbachat.store.db import MIGRATIONS_DIR, Database
from imbachat.store.schema import messages
from imbachat.store.search_index import SearchIndexer
from tests.conftest import create_scratch_database, drop_scratch_database
from tests.inprocess import Chat, in_process

pytestmark = pytest.mark.anyio


@pytest.fixture
async def empty_database_url(tmp_path) -> AsyncIterator[str]:
    """A database with no schema yet (a scratch one beside the PostgreSQL under test)."""
    url = os.environ.get("IMBACHAT_TEST_DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    scratch = await create_scratch_database(url)
    yield scratch
    await drop_scratch_database(url, scratch)


async def migrate(url: str, action: str, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)

    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(run)
    finally:
        await db.close()


async def search_ids(url: str, imba_id: int, words: str) -> list[int]:
    """What the index finds once it has caught up with the writer."""
    db = Database(url)
    try:
        await SearchIndexer(db).catch_up()
        async with db.read() as conn:
            scope = search_store.Scope(imba_id)
            return [
                hit.message_id for hit in await search_store.ranked(conn, words, scope, None, 50)
            ]
    finally:
        await db.close()


async def test_messages_stored_before_the_migration_are_found_after_it(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    # Stored by today's code (it needs today's tables), then taken back to the
    # schema before search: the index is gone, the messages are as they were then.
    await migrate(url, "upgrade", "head")
    async with in_process(url) as chat:
        widget = await chat.widget()
        room = await chat.room(widget, [1, 2])
        kept = await chat.send(widget, 2, room, "Старое сообщение: привет из прошлого")
        gone = await chat.send(widget, 2, room, "привет, которого больше нет")
        await chat.services.messages.delete(widget, await chat.user(widget, 2), gone.id)
    await migrate(url, "downgrade", "0009")

    await migrate(url, "upgrade", "head")
    assert await search_ids(url, widget.imba_id, "ПРИВЕТ") == [kept.id]

    # And it goes away, and comes back, cleanly.
    await migrate(url, "downgrade", "0009")
    await migrate(url, "upgrade", "head")
    assert await search_ids(url, widget.imba_id, "прошлого") == [kept.id]


async def test_the_index_follows_sends_edits_deletes_and_removed_rows(chat) -> None:
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    bob = await chat.user(widget, 2)
    url = chat.services.settings.database_url
    first = await chat.send(widget, 2, room, "orange juice")
    second = await chat.send(widget, 2, room, "orange peel")
    assert await search_ids(url, widget.imba_id, "orange") == [second.id, first.id]

    await chat.services.messages.edit(widget, bob, first.id, "apple juice")
    assert await search_ids(url, widget.imba_id, "orange") == [second.id]
    assert await search_ids(url, widget.imba_id, "apple") == [first.id]
    await chat.services.messages.edit(widget, bob, first.id, "apple juice, again")
    assert await search_ids(url, widget.imba_id, "juice") == [first.id]

    await chat.services.messages.delete(widget, bob, second.id)
    assert await search_ids(url, widget.imba_id, "orange") == []
    assert await search_ids(url, widget.imba_id, "peel") == []

    # No service removes a message row; if one ever does, the index follows.
    async with chat.services.db.write() as conn:
        await conn.execute(delete(messages).where(messages.c.id == first.id))
    assert await search_ids(url, widget.imba_id, "apple") == []


async def test_the_sqlite_index_stays_consistent(chat) -> None:
    """FTS5's own check: a contentless index told the wrong words on a delete would
    keep stale entries; the triggers always hand it the old values."""
    if not chat.services.db.is_sqlite:
        pytest.skip("FTS5 is SQLite's")
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    bob = await chat.user(widget, 2)
    sent = [await chat.send(widget, 2, room, f"word{i} common") for i in range(5)]
    await chat.services.messages.edit(widget, bob, sent[0].id, "changed common")
    await chat.services.messages.delete(widget, bob, sent[1].id)
    async with chat.services.db.write() as conn:
        await conn.execute(
            text("INSERT INTO message_search (message_search) VALUES ('integrity-check')")
        )


async def indexed_ids(db: Database) -> set[int]:
    async with db.read() as conn:
        return set((await conn.execute(text("SELECT rowid FROM message_search"))).scalars())


@pytest.fixture
async def private_chat(tmp_path) -> AsyncIterator[Chat]:
    """Services on a SQLite file of their own: no server's indexer works on it."""
    url = f"sqlite:///{tmp_path / 'private.db'}"
    await migrate(url, "upgrade", "head")
    async with in_process(url) as chat:
        yield chat


async def test_sqlite_indexes_sends_behind_the_writer(private_chat: Chat) -> None:
    """Sends commit without touching the index; the indexer adds them after, and
    what changed before it got there is indexed as it is then."""
    chat, db = private_chat, private_chat.services.db
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    bob = await chat.user(widget, 2)
    kept = await chat.send(widget, 2, room, "plum jam")
    edited = await chat.send(widget, 2, room, "plum pie")
    deleted = await chat.send(widget, 2, room, "plum tart")
    assert await indexed_ids(db) == set()

    await chat.services.messages.edit(widget, bob, edited.id, "cherry pie")
    await chat.services.messages.delete(widget, bob, deleted.id)
    assert await SearchIndexer(db).catch_up() == 3
    assert await indexed_ids(db) == {kept.id, edited.id}
    url = chat.services.settings.database_url
    assert await search_ids(url, widget.imba_id, "plum") == [kept.id]
    assert await search_ids(url, widget.imba_id, "cherry") == [edited.id]
    assert await search_ids(url, widget.imba_id, "tart") == []
    async with db.write() as conn:
        await conn.execute(
            text("INSERT INTO message_search (message_search) VALUES ('integrity-check')")
        )


async def test_sqlite_indexes_a_message_that_takes_a_removed_messages_id(
    private_chat: Chat,
) -> None:
    """Without AUTOINCREMENT a new row reuses the id of the newest one removed: the
    mark steps back, so the new message is indexed all the same."""
    chat, db = private_chat, private_chat.services.db
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    removed = await chat.send(widget, 2, room, "melon slice")
    assert await SearchIndexer(db).catch_up() == 1
    async with db.write() as conn:
        await conn.execute(delete(messages).where(messages.c.id == removed.id))
    again = await chat.send(widget, 2, room, "grape bunch")
    assert again.id == removed.id
    url = chat.services.settings.database_url
    assert await search_ids(url, widget.imba_id, "grape") == [again.id]
    assert await search_ids(url, widget.imba_id, "melon") == []


async def test_sqlite_indexer_runs_on_its_own(chat) -> None:
    db = chat.services.db
    if not db.is_sqlite:
        pytest.skip("FTS5 is SQLite's")
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    sent = await chat.send(widget, 2, room, "quince")
    task = asyncio.create_task(SearchIndexer(db, poll_seconds=0.01).run_forever())
    try:
        for _ in range(200):
            if sent.id in await indexed_ids(db):
                break
            await asyncio.sleep(0.01)
        assert sent.id in await indexed_ids(db)
    finally:
        task.cancel()


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Привет, мир!", ["привет", "мир"]),
        ("don't stop", ["don", "t", "stop"]),
        ('"kiwi" OR -lime*', ["kiwi", "or", "lime"]),
        ("snake_case 42nd", ["snake", "case", "42nd"]),
        ("Kiwi KIWI kiwi", ["kiwi"]),
        ("🍋 — ... !!", []),
        (" ".join(f"w{i}" for i in range(30)), [f"w{i}" for i in range(16)]),
    ],
)
def test_queries_are_cut_into_words_as_the_index_cuts_text(typed: str, expected: list[str]) -> None:
    assert search_store.words(typed) == expected
