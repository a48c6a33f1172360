"""SQL for the audit log: who changed what in a widget, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat.domain import Slice
from imbachat.store.schema import audit_log


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    imba_id: int
    actor: str
    action: str
    target: str
    details: str | None
    address: str | None
    created_at: datetime


async def add(conn: AsyncConnection, **values: object) -> None:
    await conn.execute(audit_log.insert().values(**values))


async def page(
    conn: AsyncConnection, imba_id: int, before_id: int | None, limit: int
) -> Slice[AuditEntry]:
    """``limit`` entries older than ``before_id`` (or the newest), newest first."""
    query = select(audit_log).where(audit_log.c.imba_id == imba_id)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    rows = (await conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit + 1))).all()
    entries = [
        AuditEntry(r.id, r.imba_id, r.actor, r.action, r.target, r.details, r.address, r.created_at)
        for r in rows[:limit]
    ]
    return Slice(entries, entries[-1].id if len(rows) > limit else None)
