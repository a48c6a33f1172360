"""Copying a whole database (``imbachat copy-db``), backups and restores: every row
of every table arrives as it left, on SQLite and PostgreSQL either way; an
interrupted copy resumes and its target is refused until then; a backup taken
while messages are sent is one consistent snapshot."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, select, type_coerce
from sqlalchemy.types import TypeDecorator

from imbachat.services.files import Upload
from imbachat.services.messages import SendCommand
from imbachat.services.search import SearchRequest
from imbachat.store.backup import NotABackup, read_backup_info, restore_backup, take_backup
from imbachat.store.copy import (
    OtherSource,
    SourceChanged,
    TargetNotEmpty,
    copied_tables,
    copy_database,
)
from imbachat.store.copy_state import UnfinishedCopy
from imbachat.store.db import Database
from imbachat.store.schema import messages, metadata, rooms
from tests.conftest import create_scratch_database, drop_scratch_database, service_missing
from tests.inprocess import in_process

pytestmark = pytest.mark.anyio

POSTGRES = os.environ.get("IMBACHAT_TEST_DATABASE_URL", "")
POSTGRES = POSTGRES if POSTGRES.startswith("postgres") else "postgresql://127.0.0.1:5432/test"


@pytest.fixture
def new_postgres() -> Iterator[Callable[[], Awaitable[str]]]:
    """Makes new, empty PostgreSQL databases for the test."""
    made: list[str] = []

    async def make() -> str:
        try:
            made.append(await create_scratch_database(POSTGRES))
        except (OSError, asyncpg.PostgresError) as exc:
            service_missing(f"PostgreSQL at {POSTGRES} is not usable: {exc}")
        return made[-1]

    yield make
    for url in made:
        asyncio.run(drop_scratch_database(POSTGRES, url))


@pytest.fixture
def postgres_url(new_postgres: Callable[[], Awaitable[str]]) -> str:
    return asyncio.run(new_postgres())


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Callable[[str], str]:
    return lambda name: f"sqlite:///{tmp_path / name}.db"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(
    request: pytest.FixtureRequest,
    sqlite_file: Callable[[str], str],
    new_postgres: Callable[[], Awaitable[str]],
) -> str:
    """An empty database of each kind."""
    return sqlite_file("empty") if request.param == "sqlite" else asyncio.run(new_postgres())


def chat_on(url: str) -> Any:
    """The services on ``url``, sending as fast as a test asks (the manual clock
    never refills the send limiter)."""
    return in_process(url, send_burst=1_000_000)


class Interrupted(Exception):
    """Stands for a copy killed between two pages."""


async def migrated(url: str) -> str:
    db = Database(url)
    try:
        await db.migrate()
    finally:
        await db.close()
    return url


async def fill(url: str, messages_sent: int = 30) -> None:
    """Some of everything: widgets, users, rooms, members with read marks, messages
    with files, mentions, reactions, an edit and a deletion, blocks, reports,
    webhooks and their outbox, the audit log, sign-in links."""
    await migrated(url)
    async with chat_on(url) as chat:
        s = chat.services
        for _ in range(2):
            widget = await chat.widget()
            alice, bob, carol = [await chat.user(widget, i) for i in (1, 2, 3)]
            room = await chat.room(widget, [1, 2, 3])
            await s.rooms.open_dialog(widget, alice, 2)
            await s.webhooks.add(widget, "https://hooks.example.com/chat", events=["message.new"])
            for i in range(messages_sent):
                await chat.send(widget, 1 + i % 3, room, f"message {i}: apples and «pears» ✓")
            upload = Upload(io.BytesIO(b"some notes\n"), "notes.txt", 11)
            stored = await s.files.upload(widget, alice, upload)
            command = SendCommand(1, room.id, "see the notes, @Bob", attachments=(stored.id,),
                                  mentions=(2,), client_id="c-1")  # fmt: skip
            noted = await s.messages.send(widget, command)
            await s.reactions.react(widget, 2, noted.id, "👍")
            await s.reactions.react(widget, 3, noted.id, "🎉")
            edited = await chat.send(widget, 2, room, "typo")
            await s.messages.edit(widget, bob, edited.id, "fixed")
            deleted = await chat.send(widget, 3, room, "oops")
            await s.messages.delete(widget, carol, deleted.id)
            await s.members.mark_read(widget, bob, room.id, 5)
            await s.blocks.set_blocked(widget, carol, 1, True)
            await s.reports.report(widget, carol, noted.id, "rude")
            await s.dashboard.create_link(widget.imba_id)
            await s.audit.record(widget.imba_id, "cli", "copied")


def _stored(column: Any) -> Any:
    type_ = column.type
    return type_coerce(column, type_.impl_instance if isinstance(type_, TypeDecorator) else type_)


async def every_row(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table as stored (JSON as its text, enums as their values),
    in primary key order."""
    db = Database(url)
    try:
        async with db.read() as conn:
            found = {}
            for t in copied_tables():
                result = await conn.execute(select(*[_stored(c) for c in t.columns]))
                found[t.name] = sorted(tuple(row) for row in result)
            return found
    finally:
        await db.close()


async def copy(source_url: str, target_url: str, **options: Any) -> Any:
    source, target = Database(source_url), Database(target_url)
    try:
        await source.migrate()
        return await copy_database(source.engine, target, source_label=source_url, **options)
    finally:
        await source.close()
        await target.close()


async def test_every_table_of_the_schema_is_copied() -> None:
    names = {t.name for t in copied_tables()}

    assert names == {t.name for t in metadata.sorted_tables} - {"copy_progress"}
    order = [t.name for t in copied_tables()]
    assert order.index("widgets") < order.index("rooms") < order.index("messages")
    assert order.index("messages") < order.index("reactions")


async def test_a_round_trip_sqlite_to_postgresql_and_back_keeps_every_row_exactly(
    sqlite_file: Callable[[str], str], postgres_url: str
) -> None:
    original, back = sqlite_file("original"), sqlite_file("back")
    await fill(original)

    to_postgres = await copy(original, postgres_url, chunk_rows=7)
    to_sqlite = await copy(postgres_url, back, chunk_rows=5)

    rows = await every_row(original)
    assert rows["messages"] and rows["files"] and rows["reactions"] and rows["mentions"]
    assert rows["webhook_deliveries"] and rows["blocks"] and rows["reports"]
    assert await every_row(postgres_url) == rows
    assert await every_row(back) == rows
    for report in (to_postgres, to_sqlite):
        assert all(c.source == c.target for c in report.counts)
        assert not report.resumed and not report.already_complete
    assert to_postgres.count("messages") == len(rows["messages"])


async def test_the_copy_takes_new_rows_after_the_copied_ids(
    sqlite_file: Callable[[str], str], postgres_url: str
) -> None:
    original = sqlite_file("original")
    await fill(original, messages_sent=3)
    await copy(original, postgres_url, chunk_rows=4)

    async with chat_on(postgres_url) as chat:
        widget = await chat.widget()  # new owner and widget rows
        room = await chat.room(widget, [1, 2])  # new users, room, members
        sent = await chat.send(widget, 1, room, "after the move")

    copied = await every_row(original)
    assert sent.id > max(row[0] for row in copied["messages"])
    assert room.id > max(row[0] for row in copied["rooms"])


async def test_a_copy_into_sqlite_is_searchable(
    sqlite_file: Callable[[str], str], postgres_url: str
) -> None:
    back = sqlite_file("back")
    await fill(postgres_url, messages_sent=5)
    await copy(postgres_url, back, chunk_rows=3)

    async with chat_on(back) as chat:
        [widget, _] = [w for w, _login in await chat.services.widgets.list()]
        bob = await chat.user(widget, 2)
        page = await chat.services.search.search(
            widget, bob, SearchRequest("pears"), cursor_field="before"
        )

    assert len(page.results) == 5


async def test_an_interrupted_copy_is_refused_until_it_resumes_where_it_stopped(
    sqlite_file: Callable[[str], str], empty_url: str
) -> None:
    source = sqlite_file("source")
    await fill(source, messages_sent=100)

    def stop_in_messages(table_name: str, copied: int) -> None:
        if table_name == "messages" and copied >= 60:
            raise Interrupted

    with pytest.raises(Interrupted):
        await copy(source, empty_url, chunk_rows=20, after_chunk=stop_in_messages)

    with pytest.raises(UnfinishedCopy) as refused:
        await migrated(empty_url)
    assert "still in progress" in refused.value.message
    assert "imbachat copy-db" in refused.value.message

    pages: list[tuple[str, int]] = []
    report = await copy(
        source, empty_url, chunk_rows=20, after_chunk=lambda t, n: pages.append((t, n))
    )

    assert report.resumed
    assert pages[0] == ("messages", 80)  # after the 60 rows written before
    assert all(c.source == c.target for c in report.counts)
    assert await every_row(empty_url) == await every_row(source)
    await migrated(empty_url)  # usable now
    again = await copy(source, empty_url)
    assert again.already_complete


async def test_a_copy_whose_source_changed_between_runs_is_not_completed(
    sqlite_file: Callable[[str], str],
) -> None:
    source, target = sqlite_file("source"), sqlite_file("target")
    await fill(source, messages_sent=20)

    def stop(table_name: str, copied: int) -> None:
        if table_name == "messages":
            raise Interrupted

    with pytest.raises(Interrupted):
        await copy(source, target, chunk_rows=10, after_chunk=stop)
    async with chat_on(source) as chat:  # rooms are copied already: one more is lost
        await chat.room(await chat.widget(), [7, 8])

    with pytest.raises(SourceChanged) as changed:
        await copy(source, target, chunk_rows=10)

    assert "tables copied already have changed: owners, widgets, " in changed.value.message
    assert "rooms" in changed.value.message
    assert "stop the server on the source" in changed.value.message
    with pytest.raises(UnfinishedCopy):
        await migrated(target)


async def test_a_copied_table_whose_rows_were_edited_between_runs_is_not_completed(
    sqlite_file: Callable[[str], str],
) -> None:
    """As many rows as before, the same highest id: the edit is seen by its time."""
    source, target = sqlite_file("source"), sqlite_file("target")
    await fill(source, messages_sent=5)

    def stop(table_name: str, copied: int) -> None:
        if table_name == "reports":  # after messages
            raise Interrupted

    with pytest.raises(Interrupted):
        await copy(source, target, chunk_rows=10, after_chunk=stop)
    async with chat_on(source) as chat:
        async with chat.services.db.read() as conn:
            imba_id, message_id, author_id = (
                await conn.execute(
                    select(messages.c.imba_id, messages.c.id, messages.c.author_id)
                    .where(messages.c.body == "fixed")
                    .limit(1)
                )
            ).one()
        widget = await chat.services.widgets.get(imba_id)
        [bob] = [u for u in (await chat.services.users.ensure(widget, [2])) if u.id == author_id]
        chat.clock.advance(60)
        await chat.services.messages.edit(widget, bob, message_id, "fixed again")

    with pytest.raises(SourceChanged) as changed:
        await copy(source, target, chunk_rows=10)

    assert "tables copied already have changed: messages" in changed.value.message


async def test_a_target_holding_other_data_is_refused(
    sqlite_file: Callable[[str], str], empty_url: str
) -> None:
    source = sqlite_file("source")
    await fill(source, messages_sent=2)
    async with chat_on(await migrated(empty_url)) as chat:
        await chat.widget()

    with pytest.raises(TargetNotEmpty) as refused:
        await copy(source, empty_url)

    assert "already holds data" in refused.value.message
    assert "owners" in refused.value.message


async def test_an_unfinished_copy_is_finished_only_from_its_own_source(
    sqlite_file: Callable[[str], str],
) -> None:
    source, other, target = sqlite_file("source"), sqlite_file("other"), sqlite_file("target")
    await fill(source, messages_sent=2)
    await fill(other, messages_sent=2)

    def stop(table_name: str, copied: int) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        await copy(source, target, after_chunk=stop)

    with pytest.raises(OtherSource) as refused:
        await copy(other, target)
    assert f"is a copy of {source}, not of {other}, still in progress" in refused.value.message
    await copy(source, target)  # finished
    with pytest.raises(TargetNotEmpty):
        await copy(other, target)


async def test_a_backup_taken_while_messages_are_sent_restores_one_consistent_snapshot(
    tmp_path: Path,
    sqlite_file: Callable[[str], str],
    empty_url: str,
    new_postgres: Callable[[], Awaitable[str]],
) -> None:
    """The backup is read in one transaction while a sender goes on storing messages:
    what it holds is the database at one moment, whatever came after."""
    source = empty_url
    await fill(source, messages_sent=60)
    path = tmp_path / "backup.db"

    async with chat_on(source) as chat:
        widget = await chat.widget()
        room = await chat.room(widget, [1, 2, 3])
        sending = True

        async def send() -> int:
            sent = 0
            while sending:
                await chat.send(widget, 1 + sent % 3, room, f"under load {sent}")
                sent += 1
            return sent

        sender = asyncio.create_task(send())
        await asyncio.sleep(0.05)
        before = await _count_messages(source)
        db = Database(source)
        try:
            info = await take_backup(db, path, source_label="the source", chunk_rows=10)
        finally:
            await db.close()
        sending = False
        await sender
        after = await _count_messages(source)

    assert before < info.counts["messages"] < after  # written to while it was read
    assert info.file_records == 2
    assert info.source_dialect == ("sqlite" if source.startswith("sqlite") else "postgresql")
    for target in (sqlite_file("restored"), await new_postgres()):
        db = Database(target)
        try:
            _, report = await restore_backup(path, db, chunk_rows=50)
        finally:
            await db.close()
        assert {c.table: c.target for c in report.counts} == info.counts
        assert await _rooms_agree_with_their_messages(target)


async def _count_messages(url: str) -> int:
    db = Database(url)
    try:
        async with db.read() as conn:
            return int(await conn.scalar(select(func.count()).select_from(messages)) or 0)
    finally:
        await db.close()


async def _rooms_agree_with_their_messages(url: str) -> bool:
    """Each room's counter is its newest message's seq, and its messages are 1..seq."""
    db = Database(url)
    try:
        async with db.read() as conn:
            per_room = (
                select(
                    messages.c.room_id,
                    func.max(messages.c.seq).label("top"),
                    func.count().label("n"),
                )
                .group_by(messages.c.room_id)
                .subquery()
            )
            rows = await conn.execute(
                select(rooms.c.id, rooms.c.last_seq, per_room.c.top, per_room.c.n).join(
                    per_room, per_room.c.room_id == rooms.c.id, isouter=True
                )
            )
            return all(row.last_seq == (row.top or 0) == (row.n or 0) for row in rows)
    finally:
        await db.close()


async def test_a_restore_refuses_a_target_with_data_unless_it_replaces_it(
    tmp_path: Path, sqlite_file: Callable[[str], str], empty_url: str
) -> None:
    source = sqlite_file("source")
    await fill(source, messages_sent=4)
    path = tmp_path / "backup.db"
    db = Database(source)
    try:
        info = await take_backup(db, path, source_label=source)
    finally:
        await db.close()
    async with chat_on(await migrated(empty_url)) as chat:
        widget = await chat.widget()
        await chat.send(widget, 1, await chat.room(widget, [1, 2]), "to be replaced")

    target = Database(empty_url)
    try:
        with pytest.raises(TargetNotEmpty):
            await restore_backup(path, target)
        _, report = await restore_backup(path, target, replace=True, chunk_rows=3)
    finally:
        await target.close()

    assert {c.table: c.target for c in report.counts} == info.counts
    assert await every_row(empty_url) == await every_row(source)


async def test_an_interrupted_restore_resumes_from_the_backup_moved_elsewhere(
    tmp_path: Path, sqlite_file: Callable[[str], str]
) -> None:
    """A restore names its source by the backup's id, not by where the file lies."""
    source = sqlite_file("source")
    await fill(source, messages_sent=4)
    path = tmp_path / "backup.db"
    db = Database(source)
    try:
        await take_backup(db, path, source_label=source)
    finally:
        await db.close()

    def stop(table_name: str, copied: int) -> None:
        if table_name == "messages":
            raise Interrupted

    restored = sqlite_file("restored")
    target = Database(restored)
    try:
        with pytest.raises(Interrupted):
            await restore_backup(path, target, chunk_rows=3, after_chunk=stop)
        moved = path.rename(tmp_path / "elsewhere.db")
        _, report = await restore_backup(moved, target, chunk_rows=3)
    finally:
        await target.close()

    assert report.resumed
    assert await every_row(restored) == await every_row(source)


async def test_a_file_that_is_not_a_backup_is_refused(
    tmp_path: Path, sqlite_file: Callable[[str], str]
) -> None:
    database = await migrated(sqlite_file("plain"))
    text = tmp_path / "notes.txt"
    text.write_text("hello")

    for path in (tmp_path / "missing.db", text, Path(database.removeprefix("sqlite:///"))):
        with pytest.raises(NotABackup):
            await read_backup_info(path)
