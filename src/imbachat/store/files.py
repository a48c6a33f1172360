"""SQL for uploaded files: their rows, attaching them to messages, and each
widget's usage (a counter kept on write, checked against its quota)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat.domain import StoredFile
from imbachat.store.schema import files, messages, widgets


async def reserve(conn: AsyncConnection, imba_id: int, size: int, quota: int) -> bool:
    """Count ``size`` more bytes against the widget, unless that passes ``quota``."""
    result = await conn.execute(
        update(widgets)
        .where(widgets.c.imba_id == imba_id, widgets.c.files_bytes + size <= quota)
        .values(files_bytes=widgets.c.files_bytes + size)
    )
    return bool(result.rowcount)


async def release(conn: AsyncConnection, imba_id: int, size: int) -> None:
    await conn.execute(
        update(widgets)
        .where(widgets.c.imba_id == imba_id)
        .values(files_bytes=widgets.c.files_bytes - size)
    )


async def insert(conn: AsyncConnection, **values: Any) -> StoredFile:
    row = (await conn.execute(files.insert().values(**values).returning(files))).one()
    return StoredFile.from_row(row)


async def get(conn: AsyncConnection, imba_id: int, file_id: int) -> StoredFile | None:
    query = select(files).where(files.c.imba_id == imba_id, files.c.id == file_id)
    row = (await conn.execute(query)).first()
    return StoredFile.from_row(row) if row else None


_FOR_ATTACHING = (
    select(files, messages.c.author_id.label("attached_author"), messages.c.client_id)
    .outerjoin(messages, messages.c.id == files.c.message_id)
    .where(files.c.id.in_(bindparam("ids", expanding=True)))
)


# file id -> (the file, (author, client_id) of the message that took it, if one did)
Attachable = dict[int, tuple[StoredFile, tuple[int, str | None] | None]]


def for_attaching(conn: Connection, ids: Sequence[int]) -> Attachable:
    """Inside the writer's batch: each file, and (author, client_id) of the message
    that already took it, if one did."""
    if not ids:
        return {}
    found: Attachable = {}
    for row in conn.execute(_FOR_ATTACHING, {"ids": sorted(set(ids))}):
        taken = (row.attached_author, row.client_id) if row.message_id is not None else None
        found[row.id] = (StoredFile.from_row(row), taken)
    return found


def attach(conn: Connection, file_ids: Sequence[int], message_id: int, room_id: int) -> int:
    """Give the files to the message; returns how many were still free to take."""
    result = conn.execute(
        update(files)
        .where(files.c.id.in_(file_ids), files.c.message_id.is_(None))
        .values(message_id=message_id, room_id=room_id)
    )
    return int(result.rowcount)


async def of_message(conn: AsyncConnection, message_id: int) -> list[StoredFile]:
    query = select(files).where(files.c.message_id == message_id)
    return [StoredFile.from_row(row) for row in await conn.execute(query)]


async def remove(conn: AsyncConnection, found: Sequence[StoredFile]) -> None:
    """Delete the rows and give their bytes back to their widgets' usage: only for
    the rows this transaction deleted (two nodes may sweep the same file at once)."""
    if not found:
        return
    deleted = await conn.execute(
        delete(files)
        .where(files.c.id.in_([f.id for f in found]))
        .returning(files.c.imba_id, files.c.size)
    )
    by_widget: dict[int, int] = {}
    for imba_id, size in deleted:
        by_widget[imba_id] = by_widget.get(imba_id, 0) + size
    for imba_id, size in by_widget.items():
        await release(conn, imba_id, size)


async def unattached_before(
    conn: AsyncConnection, cutoff: datetime, limit: int
) -> list[StoredFile]:
    """Files no message took, uploaded before ``cutoff``: the oldest ``limit``."""
    query = (
        select(files)
        .where(files.c.message_id.is_(None), files.c.created_at < cutoff)
        .order_by(files.c.created_at)
        .limit(limit)
    )
    return [StoredFile.from_row(row) for row in await conn.execute(query)]
