"""Copying every row of one imbachat database into another (SQLite and PostgreSQL,
either way): ``imbachat copy-db``, and backups and restores (``store.backup``).

Every table of ``schema.metadata`` is copied, parents before children (its
foreign-key order), so a table added to the schema is never forgotten. What the
metadata does not declare is derived and is rebuilt, not copied: SQLite's search
index (its indexer starts over from the first message) and ``alembic_version``.

The source is read in one read-only transaction (REPEATABLE READ on PostgreSQL, a
WAL read transaction on SQLite): a copy that runs through is one consistent
snapshot, taken while writers go on. Each table is read in pages by primary key
(keyset, never OFFSET); each page is written to the target in a transaction of its
own together with how far the copy got (``copy_progress``), so a copy that is
interrupted (killed, the network gone) resumes after the last page that was
written. A resumed copy reads a new snapshot, so it is exact only if the source
did not change between the runs (the server stopped): what it can tell, it
refuses (:class:`SourceChanged`): a table copied already whose fingerprint (rows,
highest key, latest ``updated_at``, ``edited_at`` or ``deleted_at``) differs from
the first run's, a row that no longer fits, or row counts that differ at the end.
At the end PostgreSQL's id sequences are moved past the copied ids, and the copy
is marked complete; until then :meth:`Database.migrate` refuses the target
(``store.copy_state``).

Values are read and written as the columns store them (a JSON column's text, an
enum's value), so every row arrives exactly as it left.
"""

from __future__ import annotations

import inspect as pyinspect
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Protocol

import orjson
from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    Table,
    TableClause,
    column,
    delete,
    func,
    insert,
    literal,
    select,
    table,
    tuple_,
    type_coerce,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.types import TypeDecorator, TypeEngine

from imbachat.clock import utcnow
from imbachat.errors import Conflict
from imbachat.states import CopyState
from imbachat.store import search_index
from imbachat.store.db import Database
from imbachat.store.schema import copy_progress, metadata

CHUNK_ROWS = 5_000
# The copy's own bookkeeping: each side has its own.
NOT_COPIED = frozenset({copy_progress.name})


def copied_tables() -> list[Table]:
    """Every table a copy moves, parents before children."""
    return [t for t in metadata.sorted_tables if t.name not in NOT_COPIED]


class TargetNotEmpty(Conflict):
    """The target holds rows that this copy did not write."""

    def __init__(self, table_name: str) -> None:
        super().__init__(
            f"The target database already holds data that is not from this copy (the table"
            f" {table_name} has rows): copy into a new, empty database, or empty this one first."
        )
        self.table_name = table_name


class OtherSource(Conflict):
    """The target is an unfinished copy of another source."""


class CountsDiffer(Conflict):
    """After the copy, some table has a different number of rows on each side."""


class SourceChanged(Conflict):
    """The source changed between two runs of one copy."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"The source changed since the copy started ({what}): stop the server on the"
            " source, then copy into a new, empty database."
        )


class Progress(Protocol):
    """Told how a copy goes, table by table (the CLI draws progress bars)."""

    def begin(self, table_name: str, total: int, done: int) -> None: ...

    def advance(self, rows: int) -> None: ...

    def end(self) -> None: ...


# Called after each page is committed with the table and its rows copied so far
# (tests interrupt a copy there).
AfterChunk = Callable[[str, int], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class TableCount:
    table: str
    source: int
    target: int


@dataclass(frozen=True, slots=True)
class CopyReport:
    counts: list[TableCount]
    snapshot_at: datetime  # when the source was read (naive UTC)
    resumed: bool  # an interrupted copy was continued
    already_complete: bool  # nothing was left to copy

    def count(self, table_name: str) -> int:
        return next(c.target for c in self.counts if c.table == table_name)


async def copy_database(
    source: AsyncEngine,
    target: Database,
    *,
    source_label: str,
    replace: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
    after_chunk: AfterChunk | None = None,
) -> CopyReport:
    """Copy every row of ``source`` (at the newest schema) into ``target``, which is
    migrated first and must be empty, or an unfinished copy of the same
    ``source_label`` (then the copy resumes), or is emptied first with ``replace``."""
    await target.migrate(unfinished_copy_ok=True)
    tables = copied_tables()
    resumed, complete = await _prepare_target(target, tables, source_label, replace)
    async with _snapshot(source) as reader:
        snapshot_at = utcnow()
        if not complete:
            done = await _progress_rows(target)
            await _check_fingerprints(reader, target, tables, done)
            try:
                for t in tables:
                    state, last_key, copied, _ = done[t.name]
                    if state == CopyState.COPYING:
                        copy = _TableCopy(t, reader, target, chunk_rows, progress, after_chunk)
                        await copy.run(last_key, copied)
            except IntegrityError as exc:
                if not resumed:
                    raise
                raise SourceChanged(f"a row no longer fits the rows copied: {exc.orig}") from None
        source_counts = [await _count(reader, t) for t in tables]
    async with target.read() as conn:
        target_counts = [await _count(conn, t) for t in tables]
    counts = [
        TableCount(str(t.name), s, c)
        for t, s, c in zip(tables, source_counts, target_counts, strict=True)
    ]
    differ = [c for c in counts if c.source != c.target]
    if differ and not complete:
        shown = ", ".join(f"{c.table}: {c.source} in the source, {c.target} here" for c in differ)
        raise CountsDiffer(
            f"The copy does not match its source ({shown}): the source changed between"
            " runs of the copy. Stop the server on the source, then copy again into a new,"
            " empty database."
        )
    if not complete:
        await target.run_write(lambda conn: _finish(conn, tables))
    return CopyReport(counts, snapshot_at, resumed, complete)


async def _prepare_target(
    target: Database, tables: Sequence[Table], source_label: str, replace: bool
) -> tuple[bool, bool]:
    """Check the target, empty it if asked, and record a new copy's start. Returns
    (resumed, already complete)."""

    def prepare(conn: Connection) -> tuple[bool, bool]:
        if replace:
            for t in reversed([*tables, copy_progress]):
                conn.execute(delete(t))
        rows = conn.execute(select(copy_progress.c.source, copy_progress.c.state)).all()
        if rows:
            same = all(row.source == source_label for row in rows)
            finished = all(row.state == CopyState.COMPLETE for row in rows)
            if same and finished:
                return False, True
            if same:
                missing = {t.name for t in tables} - _names(conn)
                _start(conn, [t for t in tables if t.name in missing], source_label)
                return True, False
            if not finished:
                raise OtherSource(
                    f"The target database is a copy of {rows[0].source}, not of"
                    f" {source_label}, still in progress: copy from that source to finish"
                    " it, or copy into a new, empty database."
                )
            # A finished copy of another source: judged by its rows, as any database.
            conn.execute(delete(copy_progress))
        for t in tables:
            if conn.execute(select(literal(1)).select_from(t).limit(1)).first() is not None:
                raise TargetNotEmpty(t.name)
        _start(conn, tables, source_label)
        return False, False

    return await target.run_write(prepare)


def _names(conn: Connection) -> set[str]:
    return set(conn.execute(select(copy_progress.c.table_name)).scalars())


def _start(conn: Connection, tables: Sequence[Table], source_label: str) -> None:
    now = utcnow()
    if tables:
        conn.execute(
            insert(copy_progress),
            [
                {"table_name": t.name, "source": source_label, "state": CopyState.COPYING,
                 "last_key": None, "rows_copied": 0, "updated_at": now}
                for t in tables
            ],
        )  # fmt: skip


async def _progress_rows(
    target: Database,
) -> dict[str, tuple[CopyState, Any, int, str | None]]:
    async with target.read() as conn:
        rows = await conn.execute(select(copy_progress))
        return {
            row.table_name: (
                row.state,
                None if row.last_key is None else orjson.loads(row.last_key),
                row.rows_copied,
                row.fingerprint,
            )
            for row in rows
        }


_CHANGE_COLUMNS = ("updated_at", "edited_at", "deleted_at")


async def _fingerprint(reader: AsyncConnection, t: Table) -> str:
    """The table as this snapshot has it, in a few numbers: its rows, its highest
    key, its latest change (where its rows say when they changed)."""
    measured = list(t.primary_key.columns) + [t.c[name] for name in _CHANGE_COLUMNS if name in t.c]
    values = (
        await reader.execute(
            select(
                func.count(), *[func.max(type_coerce(c, _raw(c.type))) for c in measured]
            ).select_from(t)
        )
    ).one()
    return orjson.dumps(
        dict(zip(["rows", *[str(c.name) for c in measured]], values, strict=True)), default=str
    ).decode()


async def _check_fingerprints(
    reader: AsyncConnection,
    target: Database,
    tables: Sequence[Table],
    done: dict[str, tuple[CopyState, Any, int, str | None]],
) -> None:
    """Record each table's fingerprint at the copy's first run; on a resumed run,
    refuse to go on if a table copied already changed in the source since."""
    first: dict[str, str] = {}
    changed: list[str] = []
    for t in tables:
        state, _, _, recorded = done[t.name]
        if recorded is None:
            first[t.name] = await _fingerprint(reader, t)
        elif state == CopyState.COPIED and await _fingerprint(reader, t) != recorded:
            changed.append(t.name)
    if changed:
        raise SourceChanged(f"tables copied already have changed: {', '.join(changed)}")
    if first:

        def record(conn: Connection) -> None:
            for name, fingerprint in first.items():
                conn.execute(
                    update(copy_progress)
                    .where(copy_progress.c.table_name == name)
                    .values(fingerprint=fingerprint)
                )

        await target.run_write(record)


@asynccontextmanager
async def _snapshot(source: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One read-only transaction over the whole source: a consistent snapshot."""
    async with source.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = await conn.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        async with conn.begin():
            yield conn


async def _count(conn: AsyncConnection, t: Table) -> int:
    return int(await conn.scalar(select(func.count()).select_from(t)) or 0)


def _raw(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    """The type a column stores (an enum's value, a JSON column's text)."""
    return type_.impl_instance if isinstance(type_, TypeDecorator) else type_


def _raw_columns(t: Table) -> list[ColumnElement[Any]]:
    return [type_coerce(c, _raw(c.type)).label(c.name) for c in t.columns]


def _raw_table(t: Table) -> TableClause:
    return table(t.name, *[column(c.name, _raw(c.type)) for c in t.columns])


class _TableCopy:
    """One table's rows, page by page from the snapshot into the target."""

    def __init__(
        self,
        t: Table,
        reader: AsyncConnection,
        target: Database,
        chunk_rows: int,
        progress: Progress | None,
        after_chunk: AfterChunk | None,
    ) -> None:
        self.table = t
        self.reader = reader
        self.target = target
        self.key: list[Column[Any]] = list(t.primary_key.columns)
        # A table without a primary key (none today) is copied in one page.
        self.chunk_rows = chunk_rows if self.key else None
        self.progress = progress
        self.after_chunk = after_chunk
        self.insert = insert(_raw_table(t))

    async def run(self, last_key: list[Any] | None, copied: int) -> None:
        if self.progress is not None:
            self.progress.begin(self.table.name, await _count(self.reader, self.table), copied)
        try:
            while True:
                rows = await self._page(last_key)
                finished = self.chunk_rows is None or len(rows) < self.chunk_rows
                if rows and self.key:
                    last_key = [rows[-1][c.name] for c in self.key]
                copied += len(rows)
                await self.target.run_write(
                    partial(self._write, rows=rows, last_key=last_key, copied=copied, done=finished)
                )
                if self.progress is not None:
                    self.progress.advance(len(rows))
                if self.after_chunk is not None:
                    called = self.after_chunk(self.table.name, copied)
                    if pyinspect.isawaitable(called):
                        await called
                if finished:
                    return
        finally:
            if self.progress is not None:
                self.progress.end()

    async def _page(self, last_key: list[Any] | None) -> list[dict[str, Any]]:
        statement = select(*_raw_columns(self.table)).order_by(*self.key)
        if last_key is not None:
            statement = statement.where(_after(self.key, last_key))
        if self.chunk_rows is not None:
            statement = statement.limit(self.chunk_rows)
        result = await self.reader.execute(statement)
        return [dict(row._mapping) for row in result]

    def _write(
        self,
        conn: Connection,
        *,
        rows: list[dict[str, Any]],
        last_key: list[Any] | None,
        copied: int,
        done: bool,
    ) -> None:
        if rows:
            conn.execute(self.insert, rows)
        conn.execute(
            update(copy_progress)
            .where(copy_progress.c.table_name == self.table.name)
            .values(
                state=CopyState.COPIED if done else CopyState.COPYING,
                last_key=None if last_key is None else orjson.dumps(last_key).decode(),
                rows_copied=copied,
                updated_at=utcnow(),
            )
        )


def _after(key: list[Column[Any]], last_key: list[Any]) -> ColumnElement[bool]:
    """Rows whose primary key sorts after ``last_key`` (a row-value comparison for a
    composite key: both databases walk the key's index with it)."""
    if len(key) == 1:
        after: ColumnElement[bool] = key[0] > last_key[0]
        return after
    return tuple_(*key) > tuple_(
        *[literal(value, c.type) for c, value in zip(key, last_key, strict=True)]
    )


def _finish(conn: Connection, tables: Sequence[Table]) -> None:
    """Make the copy usable, then mark it complete (one transaction)."""
    if conn.dialect.name == "postgresql":
        _move_sequences(conn, tables)
    else:
        search_index.start_over(conn)  # SQLite's index is not copied: built anew
    conn.execute(update(copy_progress).values(state=CopyState.COMPLETE, updated_at=utcnow()))


def _move_sequences(conn: Connection, tables: Sequence[Table]) -> None:
    """Copied rows carry their ids, so each id sequence must start past them, or the
    next insert would collide with a copied row."""
    for t in tables:
        key = list(t.primary_key.columns)
        if len(key) != 1 or not isinstance(_raw(key[0].type), Integer):
            continue
        sequence = conn.scalar(select(func.pg_get_serial_sequence(t.name, key[0].name)))
        if sequence is None:  # ids chosen by people (widgets.imba_id)
            continue
        highest = conn.scalar(select(func.max(key[0]))) or 0
        conn.execute(select(func.setval(sequence, highest + 1, False)))
