"""Group commit for messages: concurrent sends share one transaction.

Senders queue drafts and wait; one task takes everything queued (up to
``max_batch``), stores it with :func:`messages.insert_batch` in one commit, and
answers each sender. Under load, N concurrent sends cost far fewer than N commits;
alone, a send is committed at once. If a batch fails, its drafts are retried one
by one so a single bad draft fails alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat.clock import utcnow
from imbachat.domain import Message, MessageDraft
from imbachat.store import messages as message_store
from imbachat.store.db import Database

log = logging.getLogger(__name__)

Stored = tuple[Message, bool]
# Runs inside the batch's transaction with the messages it created (the webhook outbox).
OnStored = Callable[[AsyncConnection, list[Message]], Awaitable[object]]
_Item = tuple[MessageDraft, "asyncio.Future[Stored]"]


@dataclass
class WriterStats:
    batches: int = 0
    messages: int = 0
    largest_batch: int = 0


class MessageWriter:
    def __init__(
        self, db: Database, max_batch: int = 500, on_stored: OnStored | None = None
    ) -> None:
        self._db = db
        self._on_stored = on_stored
        self._max_batch = max_batch
        # None is the stop signal, queued behind everything already submitted.
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.stats = WriterStats()

    async def submit(self, draft: MessageDraft) -> Stored:
        """Store the draft; returns ``(message, created)`` once it is committed."""
        return await self.enqueue(draft)

    def enqueue(self, draft: MessageDraft) -> asyncio.Future[Stored]:
        """Queue the draft now (drafts are stored in the order they are queued);
        the future resolves when its batch is committed."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="message-writer")
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((draft, future))
        return future

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            batch = [first] if first is not None else []
            stopping = first is None
            while not stopping and len(batch) < self._max_batch and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                else:
                    batch.append(item)
            if batch:
                await self._commit(batch)

    async def _commit(self, batch: list[_Item]) -> None:
        try:
            async with self._db.write() as conn:
                results = await message_store.insert_batch(
                    conn, [draft for draft, _ in batch], utcnow()
                )
                if self._on_stored is not None:
                    await self._on_stored(
                        conn, [message for message, created in results if created]
                    )
        except Exception as exc:
            if len(batch) > 1:
                log.warning(
                    "a batch of %d messages failed (%r); retrying one by one", len(batch), exc
                )
                for item in batch:
                    await self._commit([item])
                return
            _, future = batch[0]
            if not future.done():
                future.set_exception(exc)
            return
        self.stats.batches += 1
        self.stats.messages += len(batch)
        self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def close(self) -> None:
        """Commit everything already submitted, then stop."""
        if self._task is None:
            return
        await self._queue.put(None)
        await self._task
        self._task = None
