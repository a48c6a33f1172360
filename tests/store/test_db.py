"""The database handle: URLs people type, and migrations that match the schema."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from imbachat.store.db import Database, describe_url, normalize_url
from imbachat.store.schema import metadata


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
                return await conn.run_sync(
                    lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
                )
        finally:
            await db.close()

    assert asyncio.run(check()) == []
