"""SQL of retention: the widgets that keep messages for a number of days, and the
deletion of what is older, a batch at a time (services/retention.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from imbachat.domain import StoredFile
from imbachat.states import DeliveryStatus
from imbachat.store.privacy import remove_files
from imbachat.store.schema import (
    files,
    mentions,
    messages,
    reactions,
    reports,
    rooms,
    webhook_deliveries,
    widgets,
)


def widgets_with_retention(conn: Connection) -> list[tuple[int, int]]:
    """``(imba_id, days)`` of every widget that deletes old messages."""
    query = select(widgets.c.imba_id, widgets.c.retention_days).where(
        widgets.c.retention_days.is_not(None)
    )
    return [(row.imba_id, row.retention_days) for row in conn.execute(query)]


def older_messages(conn: Connection, imba_id: int, cutoff: datetime, limit: int) -> list[int]:
    """Ids of up to ``limit`` of the widget's messages stored before ``cutoff``, the
    oldest first. On PostgreSQL rows another node is deleting are passed over, so
    two nodes share the work instead of waiting on each other's batch."""
    query = (
        select(messages.c.id)
        .where(messages.c.imba_id == imba_id, messages.c.created_at < cutoff)
        .order_by(messages.c.created_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(conn.scalars(query))


@dataclass(frozen=True, slots=True)
class Deleted:
    messages: int
    files: list[StoredFile]  # their bytes are the caller's to remove, after the commit
    unpinned: list[tuple[int, int]]  # (imba_id, room_id) whose pinned message went


def delete_messages(conn: Connection, ids: Sequence[int]) -> Deleted:
    """Delete the messages and what hangs on them (files, reactions, mentions,
    reports, a pin). Deleting rows already gone deletes nothing, so two nodes may
    race on the same batch. A room keeps its ``last_seq`` and last message date."""
    if not ids:
        return Deleted(0, [], [])
    found = remove_files(conn, files.c.message_id.in_(ids))
    conn.execute(delete(reactions).where(reactions.c.message_id.in_(ids)))
    conn.execute(delete(mentions).where(mentions.c.message_id.in_(ids)))
    conn.execute(delete(reports).where(reports.c.message_id.in_(ids)))
    unpinned = conn.execute(
        update(rooms)
        .where(rooms.c.pinned_message_id.in_(ids))
        .values(pinned_message_id=None)
        .returning(rooms.c.imba_id, rooms.c.id)
    ).all()
    count = conn.execute(delete(messages).where(messages.c.id.in_(ids))).rowcount
    return Deleted(int(count), found, [(row.imba_id, row.id) for row in unpinned])


def delete_old_deliveries(conn: Connection, *, imba_id: int, cutoff: datetime, limit: int) -> int:
    """Delivered or failed webhook deliveries older than ``cutoff`` (their bodies hold
    the messages' text): up to ``limit`` of them. Pending ones stay to be sent."""
    done = (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)
    oldest = (
        select(webhook_deliveries.c.id)
        .where(
            webhook_deliveries.c.status.in_(done),
            webhook_deliveries.c.next_attempt_at < cutoff,
            webhook_deliveries.c.imba_id == imba_id,
            webhook_deliveries.c.created_at < cutoff,
        )
        .limit(limit)
    )
    ids = list(conn.scalars(oldest))
    if not ids:
        return 0
    result = conn.execute(delete(webhook_deliveries).where(webhook_deliveries.c.id.in_(ids)))
    return int(result.rowcount)
