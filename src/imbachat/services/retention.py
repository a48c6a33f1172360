"""Retention: a widget's owner may have messages older than a number of days deleted
(``retention_days``). A worker on every node looks every few minutes and deletes
what is due, :data:`BATCH` messages per transaction with a pause between, so chat
is never held up for long.

Messages are deleted for good, rows and all (with their files, reactions, mentions
and reports): an owner who keeps 30 days expects nothing older to be anywhere, and
only the oldest part of a room's history goes, so no gap opens in what people read.
Webhook deliveries older than the cutoff go too (their bodies carry the text), and
calls that ended before it (who called whom, and when). Two nodes may run at once:
deleting a row already gone deletes nothing, and on PostgreSQL each takes rows the
other has not locked. On SQLite what is deleted is zeroed in the file, and at most
once a day (:data:`SCRUB_EVERY_SECONDS`) the search index is merged, so deleted
messages' words leave its older segments too (``services.privacy.scrub``).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.engine import Connection

from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.events import PinChanged
from imbachat.services.files import FileService
from imbachat.services.privacy import scrub
from imbachat.store import retention as retention_store
from imbachat.store.db import Database, zeroed_deletes
from imbachat.unit_of_work import Changes, UnitOfWork

log = logging.getLogger(__name__)

BATCH = 500
PAUSE_SECONDS = 0.05
EVERY_SECONDS = 300.0
# At most this often the deleted leave SQLite's search index (merging rewrites it all).
SCRUB_EVERY_SECONDS = 86_400.0


class RetentionWorker:
    def __init__(
        self,
        db: Database,
        changes: Changes,
        files: FileService,
        clock: Clock = SYSTEM_CLOCK,
        *,
        batch: int = BATCH,
        pause_seconds: float = PAUSE_SECONDS,
        scrub_every_seconds: float = SCRUB_EVERY_SECONDS,
    ) -> None:
        self._db = db
        self._changes = changes
        self._files = files
        self._clock = clock
        self._batch = batch
        self._pause = pause_seconds
        self._scrub_every = timedelta(seconds=scrub_every_seconds)
        self._scrubbed_at: datetime | None = None
        self._unscrubbed = False  # deleted since the last scrub

    async def run_once(self) -> int:
        """Delete every message that is due; returns how many this node deleted."""
        deleted = deliveries = 0
        for imba_id, days in await self._db.run_read(retention_store.widgets_with_retention):
            cutoff = self._clock.now() - timedelta(days=days)
            full = True
            while full:
                done, full = await self._files.delete_for_good(
                    self._changes.run_write(
                        partial(self._delete_batch, imba_id=imba_id, cutoff=cutoff)
                    ),
                    lambda batch: batch[0].files,
                )
                deleted += done.messages
                await asyncio.sleep(self._pause if full else 0)
            deliveries += await self._delete_deliveries(imba_id, cutoff)
            await self._delete_calls(imba_id, cutoff)
        await self._scrub_now_and_then(deleted + deliveries)
        return deleted

    async def _delete_deliveries(self, imba_id: int, cutoff: datetime) -> int:
        deleted = 0
        for webhook_id in await self._db.run_read(
            partial(retention_store.webhooks_of, imba_id=imba_id)
        ):
            after: int | None = 0
            while after is not None:
                step = partial(retention_store.delete_old_deliveries, webhook_id=webhook_id,
                               cutoff=cutoff, after_id=after, limit=self._batch)  # fmt: skip
                count, after = await self._db.run_write(step)
                deleted += count
                await asyncio.sleep(self._pause if after is not None else 0)
        return deleted

    async def _delete_calls(self, imba_id: int, cutoff: datetime) -> None:
        prune = partial(
            retention_store.delete_old_calls, imba_id=imba_id, cutoff=cutoff, limit=self._batch
        )
        full = True
        while full:
            full = await self._db.run_write(prune) == self._batch
            await asyncio.sleep(self._pause if full else 0)

    async def _scrub_now_and_then(self, deleted: int) -> None:
        """What was deleted leaves no readable copy (SQLite's search index keeps
        deleted messages' words in its older segments until they are merged): not
        after every pass, as merging rewrites the whole index."""
        self._unscrubbed = self._unscrubbed or deleted > 0
        now = self._clock.now()
        if not self._unscrubbed or (
            self._scrubbed_at is not None and now - self._scrubbed_at < self._scrub_every
        ):
            return
        self._scrubbed_at, self._unscrubbed = now, False
        await scrub(self._db, ())

    def _delete_batch(
        self, uow: UnitOfWork[Connection], *, imba_id: int, cutoff: datetime
    ) -> tuple[retention_store.Deleted, bool]:
        ids = retention_store.older_messages(uow.conn, imba_id, cutoff, self._batch)
        with zeroed_deletes(uow.conn):
            done = retention_store.delete_messages(uow.conn, ids)
        uow.emit(*(PinChanged(i, room_id, None) for i, room_id in done.unpinned))
        return done, len(ids) == self._batch

    async def run_forever(self, every_seconds: float = EVERY_SECONDS) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("deleting messages past their widget's retention failed")
            await asyncio.sleep(every_seconds)
