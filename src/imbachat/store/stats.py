"""SQL behind the dashboard's overview: messages and active people per day, and the
counts of what waits for the owner."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, cast, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat.states import DeliveryStatus, ReportStatus, RoomStatus, RoomType
from imbachat.store.schema import messages, reports, rooms, users, webhook_deliveries


def _day(conn: AsyncConnection, column: Any) -> Any:
    # SQLite keeps datetimes as text: its date() gives 'YYYY-MM-DD'; PostgreSQL casts.
    if conn.dialect.name == "sqlite":
        return func.date(column)
    return cast(column, Date)


async def daily(
    conn: AsyncConnection, imba_id: int, since: datetime
) -> dict[date, tuple[int, int]]:
    """Per day since ``since``: (messages, distinct authors). Days without messages
    are missing. One pass over the (imba_id, created_at) index range."""
    day = _day(conn, messages.c.created_at).label("day")
    query = (
        select(day, func.count(), func.count(distinct(messages.c.author_id)))
        .where(messages.c.imba_id == imba_id, messages.c.created_at >= since)
        .group_by(day)
    )
    found: dict[date, tuple[int, int]] = {}
    for raw_day, sent, authors in await conn.execute(query):
        key = raw_day if isinstance(raw_day, date) else date.fromisoformat(str(raw_day))
        found[key] = (int(sent), int(authors))
    return found


async def counts(conn: AsyncConnection, imba_id: int, failures_since: datetime) -> dict[str, int]:
    """What waits for the owner: open support rooms, open reports, failed webhook
    deliveries since ``failures_since``; and the widget's users and rooms."""
    open_support = select(func.count()).where(
        rooms.c.imba_id == imba_id,
        rooms.c.type == RoomType.SUPPORT,
        rooms.c.status == RoomStatus.OPEN,
        rooms.c.deleted_at.is_(None),
    )
    open_reports = select(func.count()).where(
        reports.c.imba_id == imba_id, reports.c.status == ReportStatus.OPEN
    )
    failures = select(func.count()).where(
        webhook_deliveries.c.imba_id == imba_id,
        webhook_deliveries.c.status == DeliveryStatus.FAILED,
        webhook_deliveries.c.created_at >= failures_since,
    )
    people = select(func.count()).where(users.c.imba_id == imba_id, users.c.deleted_at.is_(None))
    all_rooms = select(func.count()).where(rooms.c.imba_id == imba_id, rooms.c.deleted_at.is_(None))
    return {
        "open_support": int(await conn.scalar(open_support) or 0),
        "open_reports": int(await conn.scalar(open_reports) or 0),
        "webhook_failures": int(await conn.scalar(failures) or 0),
        "users": int(await conn.scalar(people) or 0),
        "rooms": int(await conn.scalar(all_rooms) or 0),
    }


async def recent_user_ids(
    conn: AsyncConnection, imba_id: int, since: datetime, limit: int
) -> list[int]:
    """Users who wrote or arrived since ``since`` (at most ``limit``): those whose
    presence the overview asks about."""
    query = (
        select(users.c.id)
        .where(
            users.c.imba_id == imba_id,
            users.c.deleted_at.is_(None),
            or_(users.c.last_message_at >= since, users.c.created_at >= since),
        )
        .order_by(users.c.id.desc())
        .limit(limit)
    )
    return [int(row[0]) for row in await conn.execute(query)]
