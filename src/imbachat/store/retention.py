"""SQL of retention: the widgets that keep messages for a number of days, and the
deletion of what is older, a batch at a time (services/retention.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from imbachat.domain import StoredFile
from imbachat.states import CallState, DeliveryStatus
from imbachat.store.db import zeroed_deletes
from imbachat.store.privacy import remove_files
from imbachat.store.rooms import unpin_messages
from imbachat.store.schema import (
    calls,
    files,
    mentions,
    messages,
    reactions,
    reports,
    webhook_deliveries,
    webhooks,
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
    unpinned = unpin_messages(conn, ids)
    count = conn.execute(delete(messages).where(messages.c.id.in_(ids))).rowcount
    return Deleted(int(count), found, unpinned)


def webhooks_of(conn: Connection, imba_id: int) -> list[int]:
    """Ids of the widget's webhooks, active or not (their deliveries stay logged)."""
    return list(conn.scalars(select(webhooks.c.id).where(webhooks.c.imba_id == imba_id)))


def delete_old_deliveries(
    conn: Connection, *, webhook_id: int, cutoff: datetime, after_id: int, limit: int
) -> tuple[int, int | None]:
    """One step through a webhook's deliveries, the oldest first: of the next
    ``limit`` after ``after_id`` (by id, which grows with time: the index on
    ``(webhook_id, id)`` bounds the step, however long the log), those delivered or
    failed before ``cutoff`` are deleted (their bodies hold the messages' text);
    pending ones stay to be sent. Returns how many were deleted and the id to go on
    after, None once past the cutoff."""
    done = (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)
    log = webhook_deliveries.c
    rows = conn.execute(
        select(log.id, log.status, log.created_at)
        .where(log.webhook_id == webhook_id, log.id > after_id)
        .order_by(log.id)
        .limit(limit)
    ).all()
    due = [row.id for row in rows if row.created_at < cutoff and row.status in done]
    if due:
        with zeroed_deletes(conn):
            conn.execute(delete(webhook_deliveries).where(log.id.in_(due)))
    past = len(rows) < limit or rows[-1].created_at >= cutoff
    return len(due), None if past else int(rows[-1].id)


def delete_old_calls(conn: Connection, *, imba_id: int, cutoff: datetime, limit: int) -> int:
    """The widget's calls that ended before ``cutoff`` (who called whom, and when):
    up to ``limit`` of them. Their records in the dialogs are messages, and go as
    messages do; a call going on keeps its row."""
    oldest = (
        select(calls.c.id)
        .where(
            calls.c.imba_id == imba_id,
            calls.c.state == CallState.ENDED,
            calls.c.ended_at < cutoff,
        )
        .limit(limit)
    )
    ids = list(conn.scalars(oldest))
    if not ids:
        return 0
    return int(conn.execute(delete(calls).where(calls.c.id.in_(ids))).rowcount)
