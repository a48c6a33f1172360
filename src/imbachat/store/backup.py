"""Backups of a running server's database, and restoring them (``imbachat backup``
and ``imbachat restore``).

A backup file is itself a SQLite database, whichever database it was taken from:
the schema at the newest revision of the imbachat that took it, every row, written
by the copy of ``store.copy`` (so from one consistent snapshot, while the server
goes on writing), and a ``backup_info`` table saying what it is (see
:class:`BackupInfo`). Restoring is a copy from that file; a backup of an older
schema is migrated first (in a temporary copy: the file itself is never changed).

The bytes of uploaded files are not in the database (they live in the files
directory or bucket, and never change once written): they are backed up apart.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite
import orjson
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Text, column, insert, table, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from imbachat import __version__
from imbachat.errors import Invalid
from imbachat.store.copy import CHUNK_ROWS, AfterChunk, CopyReport, Progress, copy_database
from imbachat.store.db import Database, alembic_config

# What the backup is (BackupInfo), as key and value rows; in backup files only.
_info = table("backup_info", column("key", Text), column("value", Text))
_TIME = "%Y-%m-%d %H:%M:%S"


class NotABackup(Invalid):
    """The file given to restore is missing, or is not an imbachat backup."""


@dataclass(frozen=True, slots=True)
class BackupInfo:
    """What a backup holds, from its ``backup_info`` table."""

    backup_id: str
    imbachat_version: str
    schema_revision: str
    taken_at: datetime  # when the snapshot was read (naive UTC)
    source_dialect: str  # "sqlite" or "postgresql"
    source: str  # the database it was taken from, password hidden
    counts: dict[str, int]  # rows per table

    @property
    def file_records(self) -> int:
        """Uploaded files recorded in the backup (their bytes are backed up apart)."""
        return self.counts.get("files", 0)

    def to_rows(self) -> list[dict[str, str]]:
        values = {
            "backup_id": self.backup_id,
            "imbachat_version": self.imbachat_version,
            "schema_revision": self.schema_revision,
            "taken_at": self.taken_at.strftime(_TIME),
            "source_dialect": self.source_dialect,
            "source": self.source,
            "counts": orjson.dumps(self.counts).decode(),
            "file_records": str(self.file_records),
        }
        return [{"key": key, "value": value} for key, value in values.items()]

    @classmethod
    def from_rows(cls, values: dict[str, str]) -> BackupInfo:
        return cls(
            backup_id=values["backup_id"],
            imbachat_version=values["imbachat_version"],
            schema_revision=values["schema_revision"],
            taken_at=datetime.strptime(values["taken_at"], _TIME),
            source_dialect=values["source_dialect"],
            source=values["source"],
            counts=orjson.loads(values["counts"]),
        )


async def take_backup(
    source: Database,
    path: Path,
    *,
    source_label: str,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
) -> BackupInfo:
    """Write a backup of ``source`` (migrated, in use or not) to ``path``. The file
    appears under its name only once complete; an interrupted backup leaves none."""
    partial = path.with_name(f"{path.name}.partial")
    await asyncio.to_thread(_remove_sqlite_files, partial)
    target = Database(f"sqlite:///{partial}")
    try:
        try:
            report = await copy_database(
                source.engine,
                target,
                source_label=source_label,
                chunk_rows=chunk_rows,
                progress=progress,
            )
            info = BackupInfo(
                backup_id=uuid.uuid4().hex,
                imbachat_version=__version__,
                schema_revision=await target.run_read(_revision),
                taken_at=report.snapshot_at,
                source_dialect=source.dialect,
                source=source_label,
                counts={c.table: c.target for c in report.counts},
            )
            await target.run_write(lambda conn: _write_info(conn, info))
        finally:
            await target.close()
        await asyncio.to_thread(_seal, partial, path)
    except BaseException:
        await asyncio.to_thread(_remove_sqlite_files, partial)
        raise
    return info


async def read_backup_info(path: Path) -> BackupInfo:
    """What the backup file at ``path`` holds; :class:`NotABackup` if it is none."""
    return await asyncio.to_thread(_read_info, path)


async def restore_backup(
    path: Path,
    target: Database,
    *,
    replace: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
    after_chunk: AfterChunk | None = None,
) -> tuple[BackupInfo, CopyReport]:
    """Copy the backup at ``path`` into ``target``, which must be empty (or an
    unfinished restore of the same backup, which resumes) unless ``replace``."""
    info = await read_backup_info(path)
    path = await asyncio.to_thread(path.resolve)
    # By its id: the same backup moved or copied elsewhere resumes its restore.
    label = f"the backup {info.backup_id} (taken {info.taken_at.strftime(_TIME)} UTC)"
    async with _opened(path, info) as source:
        report = await copy_database(
            source,
            target,
            source_label=label,
            replace=replace,
            chunk_rows=chunk_rows,
            progress=progress,
            after_chunk=after_chunk,
        )
    return info, report


def _revision(conn: Connection) -> str:
    return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one())


def _write_info(conn: Connection, info: BackupInfo) -> None:
    conn.execute(text("CREATE TABLE backup_info (key TEXT PRIMARY KEY, value TEXT NOT NULL)"))
    conn.execute(insert(_info), info.to_rows())


def _seal(partial: Path, path: Path) -> None:
    """One self-contained file (no WAL beside it), then under its name at once."""
    conn = sqlite3.connect(partial)
    try:
        conn.execute("PRAGMA journal_mode=DELETE").fetchall()
    finally:
        conn.close()
    os.replace(partial, path)


def _remove_sqlite_files(path: Path) -> None:
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)


def _read_info(path: Path) -> BackupInfo:
    if not path.is_file():
        raise NotABackup(f"There is no backup file at {path}.")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT key, value FROM backup_info").fetchall()
        finally:
            conn.close()
        return BackupInfo.from_rows(dict(rows))
    except (sqlite3.DatabaseError, KeyError, ValueError):
        raise NotABackup(
            f"{path} is not a backup made by `imbachat backup` (or it is damaged)."
        ) from None


@asynccontextmanager
async def _opened(path: Path, info: BackupInfo) -> AsyncIterator[AsyncEngine]:
    """The backup (at an absolute ``path``) to read from: the file itself, read-only,
    when its schema is this imbachat's; else a migrated temporary copy of it."""
    scripts = ScriptDirectory.from_config(alembic_config())
    try:
        scripts.get_revision(info.schema_revision)
    except CommandError:
        raise NotABackup(
            f"{path} was taken by a newer imbachat ({info.imbachat_version}, schema"
            f" {info.schema_revision}): restore it with that version or a newer one."
        ) from None
    if info.schema_revision == scripts.get_current_head():
        uri = f"{path.as_uri()}?mode=ro"

        async def connect() -> Any:
            return await aiosqlite.connect(uri, uri=True)

        engine = create_async_engine("sqlite+aiosqlite://", async_creator=connect,
                                     poolclass=NullPool)  # fmt: skip
        try:
            yield engine
        finally:
            await engine.dispose()
        return
    with tempfile.TemporaryDirectory(prefix="imbachat-restore-") as scratch:
        copy = Path(scratch) / "backup.db"
        await asyncio.to_thread(shutil.copyfile, path, copy)
        db = Database(f"sqlite:///{copy}")
        try:
            await db.migrate()
            yield db.engine
        finally:
            await db.close()
