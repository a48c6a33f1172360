"""SQL for reports of messages: the owner's queue and room staff's view of it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat.domain import Message, Report, ReportView
from imbachat.states import MemberRole, MemberState, ReportOutcome, ReportStatus
from imbachat.store import messages as message_store
from imbachat.store.common import insert_ignoring_duplicates
from imbachat.store.schema import members, reports, users

MAX_PAGE = 100


async def insert(
    conn: AsyncConnection,
    message: Message,
    reporter_id: int,
    reason: str,
    now: datetime,
) -> tuple[Report, bool]:
    """The user's report of the message, and whether it is new (else the one they
    made before)."""
    statement = insert_ignoring_duplicates(conn, reports).values(
        imba_id=message.imba_id,
        room_id=message.room_id,
        message_id=message.id,
        reporter_id=reporter_id,
        author_id=message.author_id,
        reason=reason,
        status=ReportStatus.OPEN,
        created_at=now,
    )
    created = (await conn.execute(statement)).rowcount > 0
    query = select(reports).where(
        reports.c.message_id == message.id, reports.c.reporter_id == reporter_id
    )
    return Report.from_row((await conn.execute(query)).one()), created


async def get(conn: AsyncConnection, imba_id: int, report_id: int) -> Report | None:
    query = select(reports).where(reports.c.imba_id == imba_id, reports.c.id == report_id)
    row = (await conn.execute(query)).first()
    return Report.from_row(row) if row else None


async def close(
    conn: AsyncConnection,
    report_ids: Sequence[int],
    status: ReportStatus,
    outcome: ReportOutcome,
    now: datetime,
) -> None:
    if report_ids:
        await conn.execute(
            update(reports)
            .where(reports.c.id.in_(report_ids))
            .values(status=status, outcome=outcome, resolved_at=now)
        )


async def close_open_of_message(
    conn: AsyncConnection, message_id: int, outcome: ReportOutcome, now: datetime
) -> None:
    """Every open report of a message that is gone is resolved by its going."""
    await conn.execute(
        update(reports)
        .where(reports.c.message_id == message_id, reports.c.status == ReportStatus.OPEN)
        .values(status=ReportStatus.RESOLVED, outcome=outcome, resolved_at=now)
    )


def _newest_first(query: Select[Any], after: int | None, limit: int) -> Select[Any]:
    if after is not None:
        query = query.where(reports.c.id < after)
    return query.order_by(reports.c.id.desc()).limit(limit + 1)


async def page_of_widget(
    conn: AsyncConnection,
    imba_id: int,
    status: ReportStatus | None,
    after: int | None,
    limit: int,
) -> tuple[list[ReportView], int | None]:
    """The owner's queue, newest first."""
    query = select(reports.c.id).where(reports.c.imba_id == imba_id)
    if status is not None:
        query = query.where(reports.c.status == status)
    return await _views(conn, _newest_first(query, after, limit), limit)


async def page_for_staff(
    conn: AsyncConnection, user_id: int, room_id: int | None, after: int | None, limit: int
) -> tuple[list[ReportView], int | None]:
    """Open reports of the rooms the user moderates (or is admin of), newest first."""
    query = (
        select(reports.c.id)
        .join(
            members,
            (members.c.room_id == reports.c.room_id) & (members.c.user_id == user_id),
        )
        .where(
            members.c.status == MemberState.ACTIVE,
            members.c.role.in_([MemberRole.ADMIN, MemberRole.MODERATOR]),
            reports.c.status == ReportStatus.OPEN,
        )
    )
    if room_id is not None:
        query = query.where(reports.c.room_id == room_id)
    return await _views(conn, _newest_first(query, after, limit), limit)


async def _views(
    conn: AsyncConnection, ids_query: Select[Any], limit: int
) -> tuple[list[ReportView], int | None]:
    ids = list((await conn.scalars(ids_query)).all())
    more = len(ids) > limit
    ids = ids[:limit]
    return await views(conn, ids), (ids[-1] if more else None)


async def views(conn: AsyncConnection, ids: Sequence[int]) -> list[ReportView]:
    """The reports with their messages and reporters, in the order of ``ids``."""
    if not ids:
        return []
    query = (
        select(reports, users.c.remote_user_id.label("reporter_remote_id"), users.c.name)
        .join(users, users.c.id == reports.c.reporter_id)
        .where(reports.c.id.in_(ids))
    )
    rows = {row.id: row for row in (await conn.execute(query)).all()}
    found = [rows[i] for i in ids if i in rows]
    messages = await conn.run_sync(message_store.by_ids, [row.message_id for row in found])
    return [
        ReportView(Report.from_row(row), message, row.reporter_remote_id, row.name)
        for row, message in zip(found, messages, strict=True)
    ]


async def staff_of_room(conn: AsyncConnection, room_id: int) -> list[int]:
    """Our ids of the room's admins and moderators: who hears of its reports."""
    query = select(members.c.user_id).where(
        members.c.room_id == room_id,
        members.c.status == MemberState.ACTIVE,
        members.c.role.in_([MemberRole.ADMIN, MemberRole.MODERATOR]),
    )
    return list((await conn.scalars(query)).all())
