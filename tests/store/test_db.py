"""The database handle: URLs people type, and migrations that match the schema."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from imbachat.store.db import Database, describe_url, normalize_url
from imbachat.store.schema import metadata
from imbachat.store.search import include_name


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("./chat.db", "sqlite+aiosqlite:///./chat.db"),
        ("sqlite:///chat.db", "sqlite+aiosqlite:///chat.db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql://u@h:5432/db", "postgresql+asyncpg://u@h:5432/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_typed_urls_get_the_async_driver(typed: str, expected: str) -> None:
    assert normalize_url(typed) == expected


def test_passwords_are_hidden_when_urls_are_shown() -> None:
    assert "hunter2" not in describe_url("postgresql://me:hunter2@db.test/chat")


def test_migrations_build_exactly_the_declared_schema_and_rerun_as_no_ops(
    server, database_url: str
) -> None:
    # The session's server has already migrated this database from empty.
    async def check() -> list[object]:
        db = Database(database_url)
        try:
            await db.migrate()  # a second run changes nothing and does not fail
            async with db.read() as conn:
                # The search index (FTS5 table and triggers, a GIN expression index) is
                # not in the metadata, which cannot declare it: left out, by name.
                opts = {"include_name": include_name}
                return await conn.run_sync(
                    lambda sync: compare_metadata(
                        MigrationContext.configure(sync, opts=opts), metadata
                    )
                )
        finally:
            await db.close()

    assert asyncio.run(check()) == []


BATCHES = 400


def test_sqlite_writes_are_checkpointed_beside_the_writers_not_inside_their_commits(
    tmp_path,
) -> None:
    """SQLite's own checkpoint would run (and fsync) inside a commit; it is off, and the
    database checkpoints in a thread of its own, so the WAL stays small all the same."""
    from sqlalchemy import text

    def wal_size_after_writes(checkpoint_every_seconds: float) -> int:
        path = tmp_path / f"every-{checkpoint_every_seconds}.db"
        db = Database(f"sqlite:///{path}", checkpoint_every_seconds=checkpoint_every_seconds)

        async def write() -> int:
            try:
                await db.run_write(lambda conn: conn.execute(text("CREATE TABLE t (x TEXT)")))
                for batch in range(BATCHES):
                    rows = [{"x": f"{batch}-{i}" * 20} for i in range(50)]
                    await db.run_write(
                        lambda conn, rows=rows: conn.execute(
                            text("INSERT INTO t (x) VALUES (:x)"), rows
                        )
                    )
                    await asyncio.sleep(0.001)  # let the checkpoint thread run
                async with db.read() as conn:
                    count = (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one()
                assert count == BATCHES * 50
                return (path.parent / f"{path.name}-wal").stat().st_size
            finally:
                await db.close()

        return asyncio.run(write())

    never = wal_size_after_writes(checkpoint_every_seconds=3600)
    always = wal_size_after_writes(checkpoint_every_seconds=0)
    assert never > 4_000_000, "autocheckpoint should be off: the WAL grows without ours"
    # Checkpoints keep the WAL at what accumulates between two of them: a fraction of
    # all that was written (a loaded machine delays them, so the bound is loose).
    assert always < never / 3


def test_reads_never_wait_for_a_writer_and_see_every_earlier_commit(tmp_path) -> None:
    """``run_read`` runs on the event loop on SQLite, so it must never wait for a lock:
    while a write transaction is open in the writer thread, a read answers at once
    with what was committed before; after the commit, the next read sees it."""
    import threading
    import time

    from sqlalchemy import text

    db = Database(f"sqlite:///{tmp_path / 'reads.db'}")
    may_commit = threading.Event()

    def count(conn) -> int:  # type: ignore[no-untyped-def]
        return int(conn.execute(text("SELECT count(*) FROM t")).scalar_one())

    async def scenario() -> tuple[int, float, int]:
        try:
            await db.run_write(lambda conn: conn.execute(text("CREATE TABLE t (x INTEGER)")))
            await db.run_write(lambda conn: conn.execute(text("INSERT INTO t VALUES (1)")))

            def slow_insert(conn) -> None:  # type: ignore[no-untyped-def]
                conn.execute(text("INSERT INTO t VALUES (2)"))
                may_commit.wait(10)  # holds the write transaction open

            writing = asyncio.ensure_future(db.run_write(slow_insert))
            await asyncio.sleep(0.2)  # the writer thread is inside its transaction
            started = time.monotonic()
            during = await db.run_read(count)
            waited = time.monotonic() - started
            may_commit.set()
            await writing
            return during, waited, await db.run_read(count)
        finally:
            may_commit.set()
            await db.close()

    during, waited, after = asyncio.run(scenario())
    assert during == 1, "the uncommitted row is not seen"
    assert waited < 1.0, "the read did not wait for the writer"
    assert after == 2
