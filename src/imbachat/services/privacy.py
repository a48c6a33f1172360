"""Privacy requests: everything imbachat holds about one person (an export, a zip),
and their erasure.

An erasure empties the person's messages a batch at a time, each batch its own
short transaction (chat goes on between them), and takes back their reactions the
same way; then, in one last transaction, it forgets the person: reactions left,
mentions of them, memberships and read marks, blocks either way, reports they
made, their files, their profile. Their users row stays, emptied, as a tombstone:
the messages' rows must keep an author (a room's ``seq`` has no gaps), and other
members' history shows "Deleted user" there. The row gives up the person's host id
(it takes one of a range no host user has), so nothing here names them any more,
and if they come back they are a new user. Webhook deliveries that carried their
words or profile are redacted, and on SQLite nothing of theirs is left readable in
the file (see :func:`scrub`).

Members online in the person's rooms are told with one ``user.erased`` event: the
widget turns their messages into "deleted" and drops them from the members. One
``message.deleted`` per message could be tens of thousands of events for a
talkative person; webhooks get ``user.erased`` too, never one event per message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

from sqlalchemy.engine import Connection

from imbachat.clock import SYSTEM_CLOCK, Clock, format_api
from imbachat.domain import StoredFile, User, Widget
from imbachat.errors import NotFound
from imbachat.events import PinChanged, UserErased
from imbachat.services.audit import AuditService
from imbachat.services.calls import CallService
from imbachat.services.export import Export
from imbachat.services.files import FileService
from imbachat.store import privacy as privacy_store
from imbachat.store import search_index
from imbachat.store import users as user_store
from imbachat.store.db import Database, zeroed_deletes
from imbachat.unit_of_work import Changes, UnitOfWork

log = logging.getLogger(__name__)

BATCH = 500  # messages emptied per transaction
DELIVERIES_PAGE = 200  # webhook deliveries read per redaction step
PAUSE_SECONDS = 0.01  # between batches: other writers take their turn
MAX_MERGE_STEPS = 10_000
VACUUMED = ("messages", "reactions", "reports", "users", "files", "webhook_deliveries", "calls")


@dataclass(frozen=True, slots=True)
class Erasure:
    """What an erasure did."""

    user_id: int  # the host id the person had
    member_id: int  # our id, kept by the tombstone
    erased_at: datetime
    messages: int
    files: int
    rooms: int
    deliveries_redacted: int
    compacted: bool  # the database keeps no readable copy (SQLite), or was vacuumed

    def as_json(self) -> dict[str, object]:
        return {
            "user_id": self.user_id,
            "member_id": self.member_id,
            "erased_at": format_api(self.erased_at),
            "messages": self.messages,
            "files": self.files,
            "rooms": self.rooms,
            "deliveries_redacted": self.deliveries_redacted,
            "compacted": self.compacted,
        }


def _chunks(ids: Sequence[int], size: int) -> list[Sequence[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


class PrivacyService:
    def __init__(
        self,
        db: Database,
        changes: Changes,
        files: FileService,
        audit: AuditService,
        calls: CallService,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._db = db
        self._changes = changes
        self._files = files
        self._audit = audit
        self._calls = calls
        self._clock = clock

    async def user(self, widget: Widget, remote_user_id: int) -> User:
        found = await self._db.run_read(
            lambda conn: user_store.by_remote_ids(conn, widget.imba_id, [remote_user_id])
        )
        if remote_user_id not in found:
            raise NotFound(
                f"No user with user_id {remote_user_id} in this widget.", field="user_id"
            )
        return found[remote_user_id]

    async def export(
        self,
        widget: Widget,
        remote_user_id: int,
        target: Path,
        *,
        actor: str,
        address: str | None = None,
    ) -> int:
        """Write everything held about the user as a zip at ``target``: ``user.json``
        and the files they uploaded under ``files/``. Returns its size in bytes."""
        user = await self.user(widget, remote_user_id)
        size = await Export(self._db, self._files.storage, self._clock).write(user, target)
        await self._audit.record(
            widget.imba_id, actor, "user exported", f"user {remote_user_id}", None, address
        )
        return size

    async def erase(
        self, widget: Widget, remote_user_id: int, *, actor: str, address: str | None = None
    ) -> Erasure:
        """Erase the user (see the module's notes). Safe to run again: an erasure cut
        short by a crash is finished by the next one, as long as the last step (which
        gives up the host id) did not run."""
        user = await self.user(widget, remote_user_id)
        now = self._clock.now()
        emptied = files = 0
        # First, so the other party hears the call is over and a record the person
        # made is emptied with their messages; the rows of calls go in the last step.
        await self._calls.end_calls_of(user.id)
        ids = await self._live_message_ids(user.id)
        for chunk in _chunks(ids, BATCH):
            count, removed = await self._files.delete_for_good(
                self._changes.run_write(partial(self._empty, ids=chunk, now=now)),
                lambda batch: batch[1],
            )
            emptied, files = emptied + count, files + len(removed)
            await asyncio.sleep(PAUSE_SECONDS)
        await self._remove_reactions(user.id)
        count, forgotten = await self._files.delete_for_good(
            self._changes.run_write(lambda uow: self._forget(uow, user, now, emptied)),
            lambda last: last[1].files,
        )
        # After the last step: messages they sent until then queued deliveries too,
        # and from then on they are in no room to send any.
        redacted = await self._redact_deliveries(user, now)
        emptied += count
        files += len(forgotten.files)
        erasure = Erasure(
            user_id=remote_user_id,
            member_id=user.id,
            erased_at=now,
            messages=emptied,
            files=files,
            rooms=len(forgotten.room_ids),
            deliveries_redacted=redacted,
            compacted=await self.scrub(),
        )
        await self._audit.record(
            widget.imba_id,
            actor,
            "user erased",
            f"user {remote_user_id}",
            f"{emptied} messages, {files} files, {erasure.rooms} rooms",
            address,
        )
        return erasure

    async def _remove_reactions(self, user_id: int) -> None:
        """The user's reactions, the messages of :data:`BATCH` at a time (each such
        message's summary is rebuilt: a reactive person's take long)."""
        after: int | None = 0
        while after is not None:
            step = partial(
                privacy_store.remove_reactions, user_id=user_id, after_id=after, limit=BATCH
            )
            after = await self._db.run_write(step)
            await asyncio.sleep(PAUSE_SECONDS)

    async def _live_message_ids(self, user_id: int) -> list[int]:
        """Every message of the user not yet deleted (ids only: a long history costs
        memory in integers, and a batch reads its own rows)."""
        async with self._db.read() as conn:
            return await conn.run_sync(privacy_store.live_messages_of, user_id)

    def _empty(
        self, uow: UnitOfWork[Connection], *, ids: Sequence[int], now: datetime
    ) -> tuple[int, list[StoredFile]]:
        live = privacy_store.still_live(uow.conn, ids)
        with zeroed_deletes(uow.conn):
            emptied = privacy_store.empty_messages(uow.conn, live, now) if live else None
        if emptied is None:
            return 0, []
        uow.emit(*(PinChanged(imba_id, room_id, None) for imba_id, room_id in emptied.unpinned))
        return len(live), emptied.files

    def _forget(
        self, uow: UnitOfWork[Connection], user: User, now: datetime, emptied: int
    ) -> tuple[int, privacy_store.Forgotten]:
        """The last step, in one transaction: messages sent meanwhile, then the person."""
        late = privacy_store.live_messages_of(uow.conn, user.id, BATCH * 10)
        count, files = self._empty(uow, ids=late, now=now) if late else (0, [])
        with zeroed_deletes(uow.conn):
            forgotten = privacy_store.forget_person(uow.conn, user.id, now)
        uow.emit(
            UserErased(
                user.imba_id,
                user.id,
                user.remote_user_id,
                now,
                emptied + count,
                forgotten.room_ids,
            )
        )
        return count, privacy_store.Forgotten(forgotten.room_ids, files + forgotten.files)

    async def _redact_deliveries(self, user: User, now: datetime) -> int:
        """Webhook deliveries (pending ones and the log) that carried the user's words
        or profile get them taken out, a page at a time."""
        after = redacted = 0
        erased_at = format_api(now) or ""
        full = True
        while full:
            # Not run_read: a LIKE over the delivery log is not an indexed read, and
            # on SQLite run_read would run it on the event loop.
            async with self._db.read() as conn:
                found = await conn.run_sync(
                    partial(
                        privacy_store.deliveries_naming,
                        imba_id=user.imba_id,
                        user_id=user.id,
                        remote_user_id=user.remote_user_id,
                        after_id=after,
                        limit=DELIVERIES_PAGE,
                    )
                )
            bodies = {}
            for delivery_id, body in found:
                changed = privacy_store.redacted(body, user.id, user.remote_user_id, erased_at)
                if changed is not None:
                    bodies[delivery_id] = changed
            if bodies:
                await self._db.run_write(partial(privacy_store.set_bodies, bodies=bodies))
            redacted += len(bodies)
            full = len(found) == DELIVERIES_PAGE
            if found:
                after = found[-1][0]
        return redacted

    async def scrub(self) -> bool:
        """Leave no readable copy of what the erasure deleted (see :func:`scrub`)."""
        return await scrub(self._db, VACUUMED)


async def scrub(db: Database, vacuumed: Sequence[str]) -> bool:
    """Leave no readable copy of what was deleted. SQLite: its writers zero what
    they delete (``store.db.zeroed_deletes``), but the search index (FTS5) only marks a
    forgotten message deleted in a newer segment, keeping its words in the old
    one until the two are merged: so the index is merged into one segment, a few
    hundred pages per transaction, and the WAL is checkpointed and truncated.
    PostgreSQL: the ``vacuumed`` tables are vacuumed (see docs/operations.md).
    Returns whether that completed."""
    try:
        if db.is_sqlite:
            for _ in range(MAX_MERGE_STEPS):
                if not await db.run_write(search_index.merge_step):
                    break
                await asyncio.sleep(PAUSE_SECONDS)
        return await db.compact(vacuumed)
    except Exception:
        log.exception("compacting the database after a deletion failed")
        return False
