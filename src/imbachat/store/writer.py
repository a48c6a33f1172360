"""Group commit for messages: concurrent sends share one transaction.

Senders queue requests and wait; one task takes everything queued (up to
``max_batch``) and, in one transaction, checks them all against the database with
the ``check`` hook (a few queries per batch, not per send), stores the drafts that
passed with :func:`messages.insert_batch`, emits a ``MessageNew`` for each new
message, and answers each sender once the batch is committed and announced. The
batch is one unit of work (:meth:`Changes.commit`): one synchronous function, on
SQLite one hop to the writer thread for the whole batch. A batch is announced and
answered while the next one commits (in order: each batch after the one before),
so the database and the event loop work side by side. Under load, N
concurrent sends cost far fewer than N round trips; alone, a send is committed at
once. A request that fails its check fails alone; if storing a batch fails, its
requests are retried one by one, so a single bad one fails alone there too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from imbachat import metrics
from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.domain import Message, MessageDraft, SendRequest
from imbachat.events import MessageNew
from imbachat.store import messages as message_store
from imbachat.unit_of_work import Changes, UnitOfWork

log = logging.getLogger(__name__)

Stored = tuple[Message, bool]
# Runs first inside the batch's transaction: a draft, or the error to answer, per request.
Check = Callable[[Connection, list[SendRequest]], list[MessageDraft | Exception]]
_Item = tuple[SendRequest, "asyncio.Future[Stored]"]
# A committed batch: its items, an answer for each, and the announcement to make.
_Outcome = tuple[list[_Item], list["Stored | Exception"], Callable[[], Awaitable[None]] | None]


@dataclass
class WriterStats:
    batches: int = 0
    messages: int = 0
    largest_batch: int = 0


class MessageWriter:
    def __init__(
        self, changes: Changes, check: Check, clock: Clock = SYSTEM_CLOCK, max_batch: int = 500
    ) -> None:
        self._changes = changes
        self._clock = clock
        self._check = check
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
        answering: asyncio.Task[None] | None = None  # the batch before this one
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
                outcomes = await self._commit(batch)
                answering = asyncio.create_task(self._answer(answering, outcomes))
        if answering is not None:
            await answering

    async def _commit(self, batch: list[_Item]) -> list[_Outcome]:
        """Commit the batch; if that fails, each of its requests alone."""
        requests = [request for request, _ in batch]
        started = time.perf_counter()
        try:
            answers, announce = await self._changes.commit(lambda uow: self._store(uow, requests))
        except Exception as exc:
            if len(batch) == 1:
                return [(batch, [exc], None)]
            log.warning("a batch of %d messages failed (%r); retrying one by one", len(batch), exc)
            return [outcome for item in batch for outcome in await self._commit([item])]
        self.stats.batches += 1
        self.stats.messages += len(batch)
        self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
        metrics.WRITER_COMMIT_SECONDS.observe(time.perf_counter() - started)
        metrics.WRITER_BATCH_SIZE.observe(len(batch))
        stored = sum(1 for a in answers if not isinstance(a, Exception) and a[1])
        metrics.MESSAGES_STORED.inc(stored)
        return [(batch, answers, announce)]

    @staticmethod
    async def _answer(before: asyncio.Task[None] | None, outcomes: list[_Outcome]) -> None:
        """Announce the committed messages, then answer their senders: after the
        batch before, so messages are announced in the order they were stored."""
        if before is not None:
            await before
        for batch, answers, announce in outcomes:
            if announce is not None:
                await announce()
            for (_, future), answer in zip(batch, answers, strict=True):
                if future.done():
                    continue
                if isinstance(answer, Exception):
                    future.set_exception(answer)
                else:
                    future.set_result(answer)

    def _store(
        self, uow: UnitOfWork[Connection], requests: list[SendRequest]
    ) -> list[Stored | Exception]:
        checked = self._check(uow.conn, requests)
        drafts = [d for d in checked if isinstance(d, MessageDraft)]
        results = iter(message_store.insert_batch(uow.conn, drafts, self._clock.now()))
        answers = [c if isinstance(c, Exception) else next(results) for c in checked]
        for request, answer in zip(requests, answers, strict=True):
            if not isinstance(answer, Exception) and answer[1]:
                uow.emit(MessageNew(answer[0], request.origin))
        return answers

    async def close(self) -> None:
        """Commit everything already submitted, then stop."""
        if self._task is None:
            return
        await self._queue.put(None)
        await self._task
        self._task = None
