"""SQL of privacy requests: everything held about one user (an export), and their
erasure, a batch of messages at a time, then the person (services/privacy.py).

Every function runs in the caller's synchronous transaction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, case, delete, or_, select, update
from sqlalchemy.engine import Connection, RowMapping

from imbachat.domain import StoredFile, erased_remote_id
from imbachat.render import ERASED_NAME
from imbachat.states import EmailChoice, MemberState, ReportOutcome, ReportStatus
from imbachat.store.db import zeroed_deletes
from imbachat.store.reactions import summarize_now
from imbachat.store.rooms import unpin_messages
from imbachat.store.schema import (
    away_marks,
    blocks,
    call_parties,
    calls,
    files,
    members,
    mentions,
    messages,
    reactions,
    reports,
    rooms,
    users,
    webhook_deliveries,
    widgets,
)

# ---- export ---------------------------------------------------------------------------


def memberships(conn: Connection, user_id: int) -> list[RowMapping]:
    """The user's memberships with their rooms (a member is in tens of rooms, not
    millions: one query)."""
    query = (
        select(members, rooms.c.name.label("room_name"), rooms.c.type.label("room_type"))
        .join(rooms, rooms.c.id == members.c.room_id)
        .where(members.c.user_id == user_id)
        .order_by(members.c.room_id)
    )
    return list(conn.execute(query).mappings())


def message_ids_of(conn: Connection, author_id: int) -> list[int]:
    """Ids of every message of the author, oldest first."""
    query = select(messages.c.id).where(messages.c.author_id == author_id).order_by(messages.c.id)
    return list(conn.scalars(query))


def messages_by_ids(conn: Connection, *, ids: Sequence[int]) -> list[RowMapping]:
    query = select(messages).where(messages.c.id.in_(ids)).order_by(messages.c.id)
    return list(conn.execute(query).mappings())


def rows_of(conn: Connection, user_id: int, kind: str) -> list[RowMapping]:
    """The user's reactions, mentions, blocks (with the blocked host ids), reports,
    files or calls (with the other party's host id): small rows, a few per message
    at most."""
    if kind == "calls":
        other = users.alias("other_party")
        other_id = case((calls.c.caller_id == user_id, calls.c.callee_id), else_=calls.c.caller_id)
        query = (
            select(
                calls,
                case((calls.c.caller_id == user_id, "caller"), else_="callee").label("role"),
                other.c.remote_user_id.label("other_remote_user_id"),
            )
            .join(other, other.c.id == other_id)
            .where(or_(calls.c.caller_id == user_id, calls.c.callee_id == user_id))
            .order_by(calls.c.id)
        )
        return list(conn.execute(query).mappings())
    if kind == "blocks":
        query = (
            select(blocks, users.c.remote_user_id.label("blocked_remote_user_id"))
            .join(users, users.c.id == blocks.c.blocked_id)
            .where(blocks.c.blocker_id == user_id)
        )
        return list(conn.execute(query).mappings())
    table, owner = {
        "reactions": (reactions, reactions.c.user_id),
        "mentions": (mentions, mentions.c.user_id),
        "reports": (reports, reports.c.reporter_id),
        "files": (files, files.c.uploader_id),
    }[kind]
    return list(conn.execute(select(table).where(owner == user_id)).mappings())


# ---- erasure: messages, a batch at a time ---------------------------------------------


def live_messages_of(conn: Connection, author_id: int, limit: int | None = None) -> list[int]:
    """Ids of the author's messages not yet deleted, oldest first (ids only: a long
    history costs memory in integers, and a batch reads its own rows)."""
    query = (
        select(messages.c.id)
        .where(messages.c.author_id == author_id, messages.c.deleted_at.is_(None))
        .order_by(messages.c.id)
        .limit(limit)
    )
    return list(conn.scalars(query))


def still_live(conn: Connection, ids: Sequence[int]) -> list[int]:
    """Those of the messages not deleted (since their ids were read)."""
    query = select(messages.c.id).where(messages.c.id.in_(ids), messages.c.deleted_at.is_(None))
    return sorted(conn.scalars(query))


@dataclass(frozen=True, slots=True)
class Emptied:
    """What emptying a batch of messages let go: files whose bytes are to be removed,
    rooms whose pinned message it was."""

    files: list[StoredFile]
    unpinned: list[tuple[int, int]]  # (imba_id, room_id)


def empty_messages(conn: Connection, ids: Sequence[int], now: datetime) -> Emptied:
    """The messages show as deleted (as a deleted message does): text, files,
    reactions and mentions gone, open reports of them closed, pins taken down. The
    search index forgets them by its triggers (SQLite) or at once (PostgreSQL)."""
    found = remove_files(conn, files.c.message_id.in_(ids))
    conn.execute(delete(reactions).where(reactions.c.message_id.in_(ids)))
    conn.execute(delete(mentions).where(mentions.c.message_id.in_(ids)))
    conn.execute(
        update(reports)
        .where(reports.c.message_id.in_(ids), reports.c.status == ReportStatus.OPEN)
        .values(
            status=ReportStatus.RESOLVED, outcome=ReportOutcome.MESSAGE_DELETED, resolved_at=now
        )
    )
    unpinned = unpin_messages(conn, ids)
    conn.execute(
        update(messages)
        .where(messages.c.id.in_(ids))
        .values(body="", deleted_at=now, attachments=None, reactions=None, mentions=None)
    )
    return Emptied(found, unpinned)


def remove_files(conn: Connection, which: Any) -> list[StoredFile]:
    """Delete the file rows ``which`` selects, giving their bytes back to their
    widgets' usage; returns them (their stored bytes are the caller's to remove)."""
    found = [StoredFile.from_row(row) for row in conn.execute(select(files).where(which))]
    if not found:
        return []
    deleted = conn.execute(
        delete(files)
        .where(files.c.id.in_([f.id for f in found]))
        .returning(files.c.id, files.c.imba_id, files.c.size)
    ).all()
    by_widget: dict[int, int] = {}
    for row in deleted:
        by_widget[row.imba_id] = by_widget.get(row.imba_id, 0) + row.size
    for imba_id, size in by_widget.items():
        conn.execute(
            update(widgets)
            .where(widgets.c.imba_id == imba_id)
            .values(files_bytes=widgets.c.files_bytes - size)
        )
    gone = {row.id for row in deleted}
    return [f for f in found if f.id in gone]


# ---- erasure: the webhook log ------------------------------------------------------------


def deliveries_naming(
    conn: Connection, *, imba_id: int, user_id: int, remote_user_id: int, after_id: int, limit: int
) -> list[tuple[int, str]]:
    """The next ``limit`` deliveries of the widget (by id) whose body may carry the
    user's words or profile: their messages, their user record, reports they made.
    A cheap text filter; :func:`redacted` decides."""
    wanted = or_(
        webhook_deliveries.c.body.contains(f'"author_id":{user_id},', autoescape=True),
        webhook_deliveries.c.body.contains(f'"id":{user_id},"deleted_at"', autoescape=True),
        webhook_deliveries.c.body.contains(f'"user_id":{remote_user_id},"name"', autoescape=True),
    )
    query = (
        select(webhook_deliveries.c.id, webhook_deliveries.c.body)
        .where(webhook_deliveries.c.imba_id == imba_id, webhook_deliveries.c.id > after_id, wanted)
        .order_by(webhook_deliveries.c.id)
        .limit(limit)
    )
    return [(row.id, row.body) for row in conn.execute(query)]


def redacted(body: str, user_id: int, remote_user_id: int, erased_at: str) -> str | None:
    """The body with the user's messages shown deleted, their user record emptied and
    the reasons of their reports cut; None when nothing in it was theirs."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    changed = _redact(parsed, user_id, remote_user_id, erased_at)
    return orjson.dumps(parsed).decode() if changed else None


def _redact(node: Any, user_id: int, remote_user_id: int, erased_at: str) -> bool:
    changed = False
    if isinstance(node, list):
        for item in node:
            changed = _redact(item, user_id, remote_user_id, erased_at) or changed
        return changed
    if not isinstance(node, dict):
        return False
    if node.get("author_id") == user_id and "message" in node and "seq" in node:
        node.update(message="", attachments=[], reactions=[], mentions=[], user_name=ERASED_NAME)
        node["deleted_at"] = node.get("deleted_at") or erased_at
        changed = True
    if node.get("id") == user_id and "remote_user_id" in node:
        node.update(login="NULL", name=ERASED_NAME, avatar_url=None, user_data=None)
        changed = True
    reporter = node.get("reporter")
    if isinstance(reporter, dict) and reporter.get("user_id") == remote_user_id:
        node["reason"] = ""
        reporter["name"] = ERASED_NAME
        changed = True
    for value in node.values():
        if isinstance(value, dict | list):
            changed = _redact(value, user_id, remote_user_id, erased_at) or changed
    return changed


def set_bodies(conn: Connection, *, bodies: dict[int, str]) -> None:
    if not bodies:
        return
    with zeroed_deletes(conn):
        conn.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id == bindparam("b_id"))
            .values(body=bindparam("b_body")),
            [{"b_id": key, "b_body": body} for key, body in bodies.items()],
        )


# ---- erasure: the person -------------------------------------------------------------------

# Pipes that name a user by host id (services.rooms.dialog_pipe, services.support).
_DIALOG_PIPE = re.compile(r"dialog-(-?\d+)-(-?\d+)")


def _rename_rooms_named_after(conn: Connection, user_id: int, room_ids: list[int]) -> None:
    """The person's dialogs and support room are found by pipes made of their host
    id: renamed (under the reserved prefixes, so no one can take the names), a new
    user who later has the same host id starts new conversations instead of reading
    the old ones."""
    remote = conn.scalar(select(users.c.remote_user_id).where(users.c.id == user_id))
    if remote is None or not room_ids:
        return
    named = conn.execute(select(rooms.c.id, rooms.c.pipe).where(rooms.c.id.in_(room_ids))).all()
    for room_id, pipe in named:
        dialog = _DIALOG_PIPE.fullmatch(pipe)
        if dialog is not None and str(remote) in dialog.groups():
            renamed = f"dialog-erased-{room_id}"
        elif pipe in (f"support-{remote}", f"support-guest-{-remote}"):
            renamed = f"support-erased-{room_id}"
        else:
            continue
        conn.execute(update(rooms).where(rooms.c.id == room_id).values(pipe=renamed))


def remove_reactions(conn: Connection, user_id: int, after_id: int, limit: int) -> int | None:
    """The user's reactions to the next ``limit`` messages they reacted to (by id,
    after ``after_id``) removed, those messages' summaries rebuilt; returns the last
    message id done, None when no reaction of theirs was left past ``after_id``."""
    reacted = list(
        conn.scalars(
            select(reactions.c.message_id)
            .where(reactions.c.user_id == user_id, reactions.c.message_id > after_id)
            .group_by(reactions.c.message_id)
            .order_by(reactions.c.message_id)
            .limit(limit)
        )
    )
    if not reacted:
        return None
    with zeroed_deletes(conn):
        conn.execute(
            delete(reactions).where(
                reactions.c.user_id == user_id, reactions.c.message_id.in_(reacted)
            )
        )
        for message_id in reacted:
            summarize_now(conn, message_id)
    return int(reacted[-1])


@dataclass(frozen=True, slots=True)
class Forgotten:
    room_ids: tuple[int, ...]  # the rooms they were a member of
    files: list[StoredFile]  # uploads no message took: their bytes are to be removed


def forget_person(conn: Connection, user_id: int, now: datetime) -> Forgotten:
    """Everything of the user's but their emptied messages' rows: reactions (the
    messages' summaries rebuilt; most went before, a batch at a time, by
    :func:`remove_reactions`), mentions of them, memberships and read marks (each
    room's member count follows), blocks either way, reports they made, their away
    mark, files; the profile is emptied and the host id given up (the row stays so
    history still has an author: it shows as a deleted user)."""
    reacted = list(
        conn.scalars(select(reactions.c.message_id).where(reactions.c.user_id == user_id))
    )
    conn.execute(delete(reactions).where(reactions.c.user_id == user_id))
    for message_id in sorted(set(reacted)):
        summarize_now(conn, message_id)
    conn.execute(delete(mentions).where(mentions.c.user_id == user_id))
    joined = conn.execute(
        delete(members)
        .where(members.c.user_id == user_id)
        .returning(members.c.room_id, members.c.status)
    ).all()
    _rename_rooms_named_after(conn, user_id, [row.room_id for row in joined])
    active = sorted(row.room_id for row in joined if row.status == MemberState.ACTIVE)
    if active:
        conn.execute(
            update(rooms)
            .where(rooms.c.id.in_(active))
            .values(member_count=rooms.c.member_count - 1, updated_at=now)
        )
    conn.execute(
        delete(blocks).where(or_(blocks.c.blocker_id == user_id, blocks.c.blocked_id == user_id))
    )
    conn.execute(delete(reports).where(reports.c.reporter_id == user_id))
    conn.execute(delete(away_marks).where(away_marks.c.user_id == user_id))
    # Their calls (ended first by the service; one placed since ends here, unheard).
    party = or_(calls.c.caller_id == user_id, calls.c.callee_id == user_id)
    conn.execute(
        delete(call_parties).where(call_parties.c.call_id.in_(select(calls.c.id).where(party)))
    )
    conn.execute(delete(calls).where(party))
    found = remove_files(conn, files.c.uploader_id == user_id)
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(
            remote_user_id=erased_remote_id(user_id),
            name=None,
            avatar_url=None,
            profile_url=None,
            user_data=None,
            is_banned=False,
            is_bot=False,
            last_message_at=None,
            info_fetched_at=now,  # nobody to ask the host site about
            email_notify=EmailChoice.NEVER,
            deleted_at=now,
            erased_at=now,
            updated_at=now,
        )
    )
    return Forgotten(tuple(sorted({row.room_id for row in joined})), found)
