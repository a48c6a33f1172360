"""Commands that move a whole database: ``copy-db``, ``backup`` and ``restore``
(the work is ``store.copy`` and ``store.backup``; here are options, progress bars
and messages)."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from imbachat.config import DEFAULT_DATABASE_URL
from imbachat.errors import ImbaError
from imbachat.store.backup import BackupInfo, read_backup_info, restore_backup, take_backup
from imbachat.store.copy import CHUNK_ROWS, CopyReport, TableCount, TargetNotEmpty, copy_database
from imbachat.store.copy_state import unfinished_copy
from imbachat.store.db import Database, describe_url, head_revision, normalize_url

T = TypeVar("T")

chunk_option = click.option(
    "--chunk-rows",
    default=CHUNK_ROWS,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Rows read and written per transaction (an interrupted copy resumes after the "
    "last one written).",
)


def _check_url(url: str, option: str) -> str:
    if not normalize_url(url).startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise click.BadParameter(
            "give sqlite:///path.db or postgresql://user@host:5432/db", param_hint=option
        )
    return url


def _sqlite_path(url: str) -> Path | None:
    parts = make_url(normalize_url(url))
    if parts.get_backend_name() != "sqlite" or parts.database in (None, "", ":memory:"):
        return None
    return Path(parts.database)


def database_label(url: str) -> str:
    """How a database is named in messages and in its copy's record (a SQLite file
    by its absolute path: the same file from another directory is the same source)."""
    path = _sqlite_path(url)
    return f"sqlite:///{path.resolve()}" if path is not None else describe_url(url)


async def _open(url: str) -> Database:
    """A database, reached, or a clear error saying which one failed."""
    db = Database(url)
    try:
        await db.ping()
    except (OSError, ConnectionError, DBAPIError) as exc:
        await db.close()
        reason = exc.orig if isinstance(exc, DBAPIError) else exc
        raise click.ClickException(
            f"Cannot reach the database {describe_url(url)}: {reason}"
        ) from None
    except BaseException:
        await db.close()
        raise
    return db


async def _open_source(url: str) -> Database:
    """A database to read from, as it is: never migrated (a newer imbachat would
    change the schema under the older server still running on it), so it must be
    at this imbachat's schema already."""
    db = await _open(url)
    try:
        found, expected = await db.revision(), head_revision()
        if found != expected:
            at = "has no imbachat schema" if found is None else f"is at schema revision {found}"
            raise click.ClickException(
                f"The source database {describe_url(url)} {at}; this imbachat expects"
                f" {expected}: run `imbachat migrate` on it with the matching imbachat"
                " version first."
            )
        async with db.read() as conn:
            problem = await conn.run_sync(unfinished_copy)
        if problem is not None:
            raise problem
    except BaseException:
        await db.close()
        raise
    return db


def _run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    try:
        return asyncio.run(work())
    except ImbaError as exc:
        raise click.ClickException(exc.message) from None
    except (OSError, ConnectionError, DBAPIError) as exc:
        reason = exc.orig if isinstance(exc, DBAPIError) else exc
        raise click.ClickException(f"A database failed during the copy: {reason}") from None


class _Bars:
    """A progress bar per table on stderr, with rows per second (on a terminal; in a
    log, one line per table)."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._started = 0.0
        self._rows = 0

    def begin(self, table_name: str, total: int, done: int) -> None:
        if total == 0:
            return
        self._started, self._rows = time.monotonic(), 0
        self._bar = click.progressbar(
            length=max(total, done),
            label=f"{table_name:<20}",
            file=sys.stderr,
            show_pos=True,
            show_eta=True,
            item_show_func=lambda rate: rate,
        )
        self._bar.__enter__()
        if done:
            self._bar.update(done)

    def advance(self, rows: int) -> None:
        if self._bar is None:
            return
        self._rows += rows
        rate = self._rows / max(time.monotonic() - self._started, 1e-6)
        self._bar.update(rows, f"{rate:,.0f} rows/s")

    def end(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def _time(info: BackupInfo) -> str:
    return info.taken_at.strftime("%Y-%m-%d %H:%M:%S")


def _counts_table(counts: Sequence[TableCount], *, both: bool) -> str:
    width = max(len(c.table) for c in counts)
    head = (
        f"{'table':<{width}}  {'source':>10}  {'copy':>10}"
        if both
        else f"{'table':<{width}}  {'rows':>10}"
    )
    lines = [head]
    for c in counts:
        lines.append(f"{c.table:<{width}}  {c.source:>10}  {c.target:>10}" if both
                     else f"{c.table:<{width}}  {c.target:>10}")  # fmt: skip
    total_source, total_target = sum(c.source for c in counts), sum(c.target for c in counts)
    lines.append(f"{'total':<{width}}  {total_source:>10}  {total_target:>10}" if both
                 else f"{'total':<{width}}  {total_target:>10}")  # fmt: skip
    return "\n".join(lines)


@click.command("copy-db")
@click.option("--from", "source_url", required=True, metavar="URL", help="The database to copy.")
@click.option("--to", "target_url", required=True, metavar="URL", help="An empty database.")
@chunk_option
def copy_db(source_url: str, target_url: str, chunk_rows: int) -> None:
    """Copy every row of one database into another: SQLite to PostgreSQL when you
    grow, or back. Stop the server on the source first.

    \b
      imbachat copy-db --from sqlite:///imbachat.db --to postgresql://chat@db:5432/chat

    The target is migrated, must be empty, and is unusable until the copy is
    complete: an interrupted copy (Ctrl-C, a lost connection) resumes where it
    stopped when the same command runs again. At the end the rows of every table
    are counted on both sides.
    """
    _check_url(source_url, "--from")
    _check_url(target_url, "--to")
    if database_label(source_url) == database_label(target_url):
        raise click.BadParameter(
            "the source and the target are the same database", param_hint="--to"
        )
    source_path = _sqlite_path(source_url)
    if source_path is not None and not source_path.is_file():
        raise click.ClickException(f"There is no database file at {source_path}.")

    async def work() -> CopyReport:
        source = await _open_source(source_url)
        try:
            target = await _open(target_url)
            try:
                return await copy_database(
                    source.engine,
                    target,
                    source_label=database_label(source_url),
                    chunk_rows=chunk_rows,
                    progress=_Bars(),
                )
            finally:
                await target.close()
        finally:
            await source.close()

    report = _run(work)
    click.echo(_counts_table(report.counts, both=True))
    to = describe_url(target_url)
    if report.already_complete:
        click.echo(f"{to} is already a complete copy of {database_label(source_url)}.", err=True)
        return
    resumed = " (resumed where it stopped)" if report.resumed else ""
    click.echo(
        f"Copied {sum(c.target for c in report.counts)} rows into {to}{resumed}; every table's"
        f" count matches.\nNext: set IMBACHAT_DATABASE_URL={target_url} and start the server.",
        err=True,
    )


@click.command()
@click.option(
    "--to",
    "path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The backup file to write (a SQLite database).",
)
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@click.option(
    "--database",
    "database_url",
    envvar="IMBACHAT_DATABASE_URL",
    default=DEFAULT_DATABASE_URL,
    show_default=True,
    metavar="URL",
    help="The database to back up (env IMBACHAT_DATABASE_URL).",
)
@chunk_option
def backup(path: Path, force: bool, database_url: str, chunk_rows: int) -> None:
    """Write a backup of the database to FILE while the server runs: one consistent
    snapshot of every table, SQLite or PostgreSQL, in one SQLite file. Restore it
    with `imbachat restore --from FILE --to URL`.

    Uploaded files' bytes are not in it (the files directory or the S3 bucket):
    back them up as well (they never change once written: rsync, bucket versioning).
    """
    _check_url(database_url, "--database")
    if path.exists() and not force:
        raise click.ClickException(
            f"{path} exists: add --force to replace it, or choose another name."
        )
    if not path.parent.is_dir():
        raise click.ClickException(f"There is no directory {path.parent} to write the backup in.")
    source_path = _sqlite_path(database_url)
    if source_path is not None and not source_path.is_file():
        raise click.ClickException(f"There is no database file at {source_path}.")

    async def work() -> BackupInfo:
        source = await _open_source(database_url)
        try:
            return await take_backup(source, path, source_label=database_label(database_url),
                                     chunk_rows=chunk_rows, progress=_Bars())  # fmt: skip
        finally:
            await source.close()

    info = _run(work)
    counts = [TableCount(name, rows, rows) for name, rows in info.counts.items()]
    click.echo(_counts_table(counts, both=False))
    click.echo(
        f"Backup of {info.source} written to {path} (snapshot at {_time(info)} UTC, schema"
        f" {info.schema_revision}). It records {info.file_records} files; their bytes are not"
        " in it: back up the files directory or bucket as well.",
        err=True,
    )


@click.command()
@click.option(
    "--from",
    "path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="A file written by `imbachat backup`.",
)
@click.option(
    "--to",
    "target_url",
    envvar="IMBACHAT_DATABASE_URL",
    required=True,
    metavar="URL",
    help="The database to restore into (env IMBACHAT_DATABASE_URL).",
)
@click.option("--force", is_flag=True, help="Replace every row the target holds.")
@click.option("--yes", is_flag=True, help="With --force: do not ask first.")
@chunk_option
def restore(path: Path, target_url: str, force: bool, yes: bool, chunk_rows: int) -> None:
    """Restore a backup into a database (SQLite or PostgreSQL). Stop the server first.

    The target must be empty, unless --force (which replaces its rows); an
    interrupted restore resumes when the same command runs again, and the server
    refuses the target until the restore is complete.
    """
    _check_url(target_url, "--to")
    info = _run(lambda: read_backup_info(path))
    to = describe_url(target_url)
    if force and not yes:
        click.confirm(
            f"Replace every row of {to} with the backup taken {_time(info)} UTC?",
            abort=True,
        )

    async def work() -> CopyReport:
        target = await _open(target_url)
        try:
            _, report = await restore_backup(path, target, replace=force, chunk_rows=chunk_rows,
                                             progress=_Bars())  # fmt: skip
            return report
        except TargetNotEmpty as exc:
            raise click.ClickException(
                f"{exc.message} Or add --force to replace its rows with the backup's."
            ) from None
        finally:
            await target.close()

    report = _run(work)
    click.echo(_counts_table(report.counts, both=True))
    if report.already_complete:
        click.echo(f"{to} already holds this backup, complete.", err=True)
        return
    click.echo(
        f"Restored the backup of {info.source} taken {_time(info)} UTC into"
        f" {to}; every table's count matches. It records {info.file_records} files: restore"
        " their bytes to the files directory or bucket too.",
        err=True,
    )
