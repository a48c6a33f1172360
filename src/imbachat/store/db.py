"""The database handle: engine, read and write transactions, migrations.

SQLite allows one writer at a time, so on SQLite every write transaction of this
process goes through one asyncio lock instead of colliding on ``database is
locked``; PostgreSQL writers run concurrently and serialise on row locks.

The hot write path (a batch of messages) runs as one synchronous function,
:meth:`Database.run_write`. On SQLite it runs in a dedicated thread on a plain
sqlite3 connection: one thread hop for the whole transaction, where aiosqlite
costs several hops per statement (each waiting for the event loop and the GIL).
Hot reads (a socket's room list, a history page, membership checks) run as one
synchronous function too, :meth:`Database.run_read`; on SQLite right on the event
loop, on a plain connection in autocommit: these reads are indexed and bounded,
WAL readers never wait for the writer, and a thread hop (measured) cost more than
the queries themselves.

SQLite's automatic checkpoint runs inside whichever commit crosses the threshold
and fsyncs there, stalling that write for up to hundreds of milliseconds; so it is
off, and a passive checkpoint runs at most once a second in a thread of its own,
next to the writers instead of in their way.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, QueuePool

from imbachat.store.copy_state import unfinished_copy

T = TypeVar("T")
log = logging.getLogger(__name__)
CHECKPOINT_EVERY_SECONDS = 1.0

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any fixed number: PostgreSQL advisory lock that lets one node migrate at a time.
_MIGRATION_LOCK_KEY = 0x1BAC4A7


def normalize_url(url: str) -> str:
    """Accept the URLs people type and pick the async driver for them.

    ``./chat.db`` and ``sqlite:///chat.db`` become aiosqlite URLs;
    ``postgres://`` and ``postgresql://`` become asyncpg URLs.
    """
    url = url.strip()
    if "://" not in url:
        return f"sqlite+aiosqlite:///{url}"
    scheme, rest = url.split("://", 1)
    drivers = {
        "sqlite": "sqlite+aiosqlite",
        "postgres": "postgresql+asyncpg",
        "postgresql": "postgresql+asyncpg",
    }
    return f"{drivers.get(scheme, scheme)}://{rest}"


def describe_url(url: str) -> str:
    """The URL with any password hidden, for logs and error messages."""
    return make_url(normalize_url(url)).render_as_string(hide_password=True)


class Database:
    """One engine per process; ``read()`` and ``write()`` hand out connections."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        checkpoint_every_seconds: float = CHECKPOINT_EVERY_SECONDS,
    ) -> None:
        self.url = normalize_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        options: dict[str, Any] = {"pool_size": pool_size, "max_overflow": pool_size}
        if self.is_sqlite:
            # Keep connections: with aiosqlite each new one costs a thread and PRAGMAs.
            options["poolclass"] = AsyncAdaptedQueuePool
        else:
            options["pool_pre_ping"] = True
        self.engine: AsyncEngine = create_async_engine(self.url, **options)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._sync_engine: Engine | None = None
        self._writer_thread: ThreadPoolExecutor | None = None
        self._read_engine: Engine | None = None
        self._checkpointer: _Checkpointer | None = None
        if self.is_sqlite:
            path = make_url(self.url).database
            on_disk = path not in (None, "", ":memory:")
            _tune_sqlite(self.engine.sync_engine, manual_checkpoints=on_disk)
            if path is not None and on_disk:
                sync_url = make_url(self.url).set(drivername="sqlite")
                self._sync_engine = create_engine(sync_url, poolclass=QueuePool, pool_size=1)
                _tune_sqlite(self._sync_engine, manual_checkpoints=True, always_immediate=True)
                self._writer_thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
                # Reads in autocommit: each query sees the latest commit, and a read
                # costs no BEGIN and ROLLBACK. One connection: reads never overlap.
                self._read_engine = create_engine(sync_url, poolclass=QueuePool, pool_size=1)
                _tune_sqlite(self._read_engine, manual_checkpoints=True, transactions=False)
                self._checkpointer = _Checkpointer(path, checkpoint_every_seconds)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction committed on success and rolled back on any error."""
        if self._write_lock is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._write_lock, self.engine.connect() as conn:
            # SQLite: take the write lock at BEGIN (see _tune_sqlite).
            immediate = await conn.execution_options(**{_IMMEDIATE: True})
            async with immediate.begin():
                yield immediate
        if self._checkpointer is not None:
            self._checkpointer.soon()

    @property
    def write_engine(self) -> Engine:
        """The engine :meth:`run_write` runs on (to watch its statements)."""
        return self._sync_engine or self.engine.sync_engine

    async def run_write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one write transaction (committed on success, rolled back
        on any error) and return its result. ``work`` is synchronous: on SQLite it
        runs in the writer thread, on PostgreSQL on the event loop's connection."""
        if self._sync_engine is None or self._writer_thread is None:
            async with self.write() as conn:
                return await conn.run_sync(work)
        assert self._write_lock is not None
        engine = self._sync_engine

        def in_transaction() -> T:
            with engine.begin() as conn:
                return work(conn)

        async with self._write_lock:
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(self._writer_thread, in_transaction)
        if self._checkpointer is not None:
            self._checkpointer.soon()
        return result

    async def run_read(self, work: Callable[[Connection], T]) -> T:
        """Run ``work``'s queries on one connection and return its result; each
        query sees what was committed before it. ``work`` is synchronous and must be
        a bounded, indexed read: on SQLite it runs right here on the event loop (see
        the module's notes), on PostgreSQL on a pooled async connection."""
        if self._read_engine is None:
            async with self.read() as conn:
                return await conn.run_sync(work)
        with self._read_engine.connect() as conn:
            return work(conn)

    async def migrate(self, *, unfinished_copy_ok: bool = False) -> None:
        """Bring the schema to the newest revision; safe to run from several nodes.

        Raises :class:`~imbachat.store.copy_state.UnfinishedCopy` on a database that
        ``imbachat copy-db`` or ``restore`` has not finished (only they pass
        ``unfinished_copy_ok``): serving half of the tables would lose data."""
        async with self.engine.begin() as conn:
            if not self.is_sqlite:
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                )
            await conn.run_sync(_upgrade_to_head)
        if not unfinished_copy_ok:
            async with self.engine.connect() as conn:
                problem = await conn.run_sync(unfinished_copy)
            if problem is not None:
                raise problem

    async def revision(self) -> str | None:
        """The schema revision the database is at (None: no imbachat schema yet)."""
        async with self.engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )

    async def compact(self, tables: Sequence[str]) -> bool:
        """After content was deleted for good, leave no old copy of it readable. On
        SQLite (erasures zero what they delete: :func:`zeroed_deletes`) the WAL is
        checkpointed into the database and truncated, so no old page stays in it; on
        PostgreSQL the tables are vacuumed (their dead rows' space is reclaimed for
        reuse). Returns whether that completed (a busy SQLite file is left as is)."""
        if self.is_sqlite:
            path = make_url(self.url).database
            if path in (None, "", ":memory:"):
                return True
            return await asyncio.get_running_loop().run_in_executor(None, _truncate_wal, path)
        async with self.engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in tables:
                if not table.isidentifier():
                    raise ValueError(f"not a table name: {table!r}")
                await autocommit.exec_driver_sql(f"VACUUM {table}")
        return True

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()
        if self._checkpointer is not None:
            await self._checkpointer.close()
        if self._writer_thread is not None and self._sync_engine is not None:
            await asyncio.get_running_loop().run_in_executor(
                self._writer_thread, self._sync_engine.dispose
            )
            self._writer_thread.shutdown()
        if self._read_engine is not None:
            self._read_engine.dispose()


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest schema revision this imbachat knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _upgrade_to_head(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


@contextmanager
def zeroed_deletes(conn: Connection) -> Iterator[None]:
    """Within, on SQLite, everything deleted or overwritten is zeroed in the file,
    freed pages too (``secure_delete=ON``), so an erasure leaves nothing readable.
    Outside, connections zero only what costs no extra write (``FAST``): with ON,
    every page the search index frees as it merges would be written once more."""
    if conn.dialect.name != "sqlite":
        yield
        return
    conn.exec_driver_sql("PRAGMA secure_delete=ON")
    try:
        yield
    finally:
        conn.exec_driver_sql("PRAGMA secure_delete=FAST")


def _truncate_wal(path: str) -> bool:
    connection = sqlite3.connect(path, isolation_level=None, timeout=10)
    try:
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return not busy
    finally:
        connection.close()


class _Checkpointer:
    """Passive WAL checkpoints in a thread of their own, at most once a second."""

    def __init__(self, path: str, every_seconds: float) -> None:
        self._path = path
        self._every = every_seconds
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-checkpoint")
        self._connection: sqlite3.Connection | None = None  # used in that thread only
        self._last = time.monotonic()
        self._running: asyncio.Future[None] | None = None

    def soon(self) -> None:
        """After a commit: start a checkpoint if none ran for a while."""
        now = time.monotonic()
        if now - self._last < self._every:
            return
        if self._running is not None and not self._running.done():
            return
        self._last = now
        self._running = asyncio.get_running_loop().run_in_executor(self._thread, self._checkpoint)
        self._running.add_done_callback(_log_failure)

    def _checkpoint(self) -> None:
        if self._connection is None:
            self._connection = sqlite3.connect(self._path, isolation_level=None, timeout=10)
        # PASSIVE copies what it can without waiting for readers or blocking writers.
        self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _close_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        if self._running is not None:
            await asyncio.gather(self._running, return_exceptions=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._close_connection)
        self._thread.shutdown()


def _log_failure(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("a WAL checkpoint failed: %r", future.exception())


_IMMEDIATE = "imbachat_sqlite_immediate"


def _tune_sqlite(
    engine: Engine,
    *,
    manual_checkpoints: bool,
    transactions: bool = True,
    always_immediate: bool = False,
) -> None:
    """WAL for concurrent readers, NORMAL sync (safe in WAL), real foreign keys,
    and (with ``transactions``) explicit BEGIN so a read-then-write runs in one
    transaction; with ``manual_checkpoints``, no checkpoint inside commits (see
    the module's notes).

    Write transactions (all of ``always_immediate``'s, and those that ask with the
    execution option) begin IMMEDIATE: a deferred one that read first and then
    writes after another connection committed fails at once with "database is
    locked" (SQLite cannot wait there without risking a deadlock), whereas an
    IMMEDIATE one waits its turn (``busy_timeout``). Other processes on the same
    file (the CLI, a second server) write too."""
    pragmas = [
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        "busy_timeout=10000",
        "temp_store=MEMORY",
        # What is deleted or overwritten is zeroed where that costs no extra write;
        # erasures zero everything (see zeroed_deletes).
        "secure_delete=FAST",
    ]
    if manual_checkpoints:
        pragmas.append("wal_autocheckpoint=0")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    if transactions:

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            immediate = always_immediate or conn.get_execution_options().get(_IMMEDIATE)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
