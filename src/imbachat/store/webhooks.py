"""SQL for webhook endpoints and their deliveries (the outbox and the log)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat.states import DeliveryStatus, MemberState
from imbachat.store.schema import members, webhook_deliveries, webhooks


async def insert(conn: AsyncConnection, **values: Any) -> RowMapping:
    statement = webhooks.insert().values(**values).returning(*webhooks.c)
    return (await conn.execute(statement)).mappings().one()


async def of_widget(conn: AsyncConnection, imba_id: int) -> list[RowMapping]:
    query = select(webhooks).where(webhooks.c.imba_id == imba_id).order_by(webhooks.c.id)
    return list((await conn.execute(query)).mappings())


_ACTIVE_OF_WIDGETS = select(webhooks).where(
    webhooks.c.imba_id.in_(bindparam("imba_ids", expanding=True)), webhooks.c.active
)  # built once: it runs for every batch of messages


def active_of_widgets(conn: Connection, imba_ids: Sequence[int]) -> list[RowMapping]:
    return list(conn.execute(_ACTIVE_OF_WIDGETS, {"imba_ids": list(imba_ids)}).mappings())


async def deactivate(conn: AsyncConnection, imba_id: int, webhook_id: int) -> bool:
    result = await conn.execute(
        update(webhooks)
        .where(webhooks.c.imba_id == imba_id, webhooks.c.id == webhook_id)
        .values(active=False)
    )
    return bool(result.rowcount)


async def change(conn: AsyncConnection, imba_id: int, webhook_id: int, **values: Any) -> bool:
    """Set columns of the widget's endpoint; False when it has no such endpoint."""
    query = update(webhooks).where(webhooks.c.imba_id == imba_id, webhooks.c.id == webhook_id)
    # With nothing to change, setting the id to itself still tells whether it is there.
    query = query.values(**values) if values else query.values(id=webhooks.c.id)
    result = await conn.execute(query)
    return bool(result.rowcount)


def rooms_with_members(
    conn: Connection, room_ids: Sequence[int], user_ids: Sequence[int]
) -> set[tuple[int, int]]:
    """Which of the users are active members of which of the rooms."""
    if not room_ids or not user_ids:
        return set()
    query = select(members.c.room_id, members.c.user_id).where(
        members.c.room_id.in_(list(room_ids)),
        members.c.user_id.in_(list(user_ids)),
        members.c.status == MemberState.ACTIVE,
    )
    return {(row.room_id, row.user_id) for row in conn.execute(query)}


def add_deliveries(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(webhook_deliveries.insert(), rows)


async def claim_due(
    conn: AsyncConnection, now: datetime, lease_until: datetime, limit: int
) -> list[RowMapping]:
    """Pending deliveries that are due, leased to this node until ``lease_until`` so
    that no other node sends them meanwhile (a crash lets the lease run out)."""
    query = (
        select(webhook_deliveries, webhooks.c.url, webhooks.c.secret)
        .join(webhooks, webhooks.c.id == webhook_deliveries.c.webhook_id)
        .where(
            webhook_deliveries.c.status == DeliveryStatus.PENDING,
            webhook_deliveries.c.next_attempt_at <= now,
            webhooks.c.active,  # a removed endpoint gets nothing more
        )
        .order_by(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=webhook_deliveries)
    due = list((await conn.execute(query)).mappings())
    if due:
        await conn.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id.in_([row["id"] for row in due]))
            .values(next_attempt_at=lease_until)
        )
    return due


async def record_attempt(conn: AsyncConnection, delivery_id: int, **values: Any) -> None:
    await conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.id == delivery_id)
        .values(attempts=webhook_deliveries.c.attempts + 1, **values)
    )


async def deliveries(
    conn: AsyncConnection,
    imba_id: int,
    *,
    webhook_id: int | None = None,
    status: DeliveryStatus | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> list[RowMapping]:
    query = select(webhook_deliveries).where(webhook_deliveries.c.imba_id == imba_id)
    if before_id is not None:  # the next page of the log, newest first
        query = query.where(webhook_deliveries.c.id < before_id)
    if webhook_id is not None:
        query = query.where(webhook_deliveries.c.webhook_id == webhook_id)
    if status is not None:
        query = query.where(webhook_deliveries.c.status == status)
    query = query.order_by(webhook_deliveries.c.id.desc()).limit(limit)
    return list((await conn.execute(query)).mappings())


async def replay(conn: AsyncConnection, imba_id: int, delivery_id: int, now: datetime) -> bool:
    result = await conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.imba_id == imba_id, webhook_deliveries.c.id == delivery_id)
        .values(
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            created_at=now,  # a fresh day of retries
            attempts=0,
            delivered_at=None,
            last_error=None,
        )
    )
    return bool(result.rowcount)
