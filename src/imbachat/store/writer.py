"""Group commit for messages: concurrent sends share one transaction.

Senders queue requests and wait; one task takes everything queued (up to
``max_batch``) and, in one transaction, checks them all against the database with
the ``check`` hook (a few queries per batch, not per send), stores the drafts that
passed with :func:`messages.insert_batch`, and answers each sender. The whole
transaction is one synchronous function run by :meth:`Database.run_write` (on
SQLite, one hop to the writer thread for the batch). Under load, N
concurrent sends cost far fewer than N round trips; alone, a send is committed at
once. A request that fails its check fails alone; if storing a batch fails, its
requests are retried one by one, so a single bad one fails alone there too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from imbachat.clock import utcnow
from imbachat.domain import Message, MessageDraft, SendRequest
from imbachat.store import messages as message_store
from imbachat.store.db import Database

log = logging.getLogger(__name__)

Stored = tuple[Message, bool]
# Runs first inside the batch's transaction: a draft, or the error to answer, per request.
Check = Callable[[Connection, list[SendRequest]], list[MessageDraft | Exception]]
# Runs last inside the batch's transaction with the messages it created (the webhook outbox).
OnStored = Callable[[Connection, list[Message]], object]
_Item = tuple[SendRequest, "asyncio.Future[Stored]"]


@dataclass
class WriterStats:
    batches: int = 0
    messages: int = 0
    largest_batch: int = 0


class MessageWriter:
    def __init__(
        self, db: Database, check: Check, max_batch: int = 500, on_stored: OnStored | None = None
    ) -> None:
        self._db = db
        self._check = check
        self._on_stored = on_stored
        self._max_batch = max_batch
        # None is the stop signal, queued behind everything already submitted.
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.stats = WriterStats()

    async def submit(self, request: SendRequest) -> Stored:
        """Store the message; returns ``(message, created)`` once it is committed."""
        return await self.enqueue(request)

    def enqueue(self, request: SendRequest) -> asyncio.Future[Stored]:
        """Queue the request now (requests are stored in the order they are queued);
        the future resolves when its batch is committed, or fails with its error."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="message-writer")
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((request, future))
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
        requests = [request for request, _ in batch]
        try:
            answers = await self._db.run_write(lambda conn: self._store(conn, requests))
        except Exception as exc:
            if len(batch) > 1:
                log.warning(
                    "a batch of %d messages failed (%r); retrying one by one", len(batch), exc
                )
                for item in batch:
                    await self._commit([item])
                return
            answers = [exc]
        else:
            self.stats.batches += 1
            self.stats.messages += len(batch)
            self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
        for (_, future), answer in zip(batch, answers, strict=True):
            if future.done():
                continue
            if isinstance(answer, Exception):
                future.set_exception(answer)
            else:
                future.set_result(answer)

    def _store(self, conn: Connection, requests: list[SendRequest]) -> list[Stored | Exception]:
        checked = self._check(conn, requests)
        drafts = [d for d in checked if isinstance(d, MessageDraft)]
        results = iter(message_store.insert_batch(conn, drafts, utcnow()))
        answers = [c if isinstance(c, Exception) else next(results) for c in checked]
        if self._on_stored is not None:
            created = [a[0] for a in answers if not isinstance(a, Exception) and a[1]]
            self._on_stored(conn, created)
        return answers

    async def close(self) -> None:
        """Commit everything already submitted, then stop."""
        if self._task is None:
            return
        await self._queue.put(None)
        await self._task
        self._task = None
