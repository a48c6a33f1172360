"""One write path for every change: a unit of work.

A service opens one around a change, runs its SQL on ``uow.conn`` and says what
changed with ``uow.emit(SomethingHappened(...))``. When the change commits, and only
then, its events are announced; in the same transaction as the change, the webhook
outbox gets their delivery rows. So an event is never announced for a change that
rolled back, and no service can forget one of the three steps (outbox, dispatcher,
bus): services never touch the bus or the outbox themselves.

- :meth:`Changes.begin` is the unit of work for an ``async`` transaction;
- :meth:`Changes.run_write` the same for a synchronous one; :meth:`Changes.commit`
  too, handing back the announcement to make when the caller chooses (the
  group-commit writer commits the next batch of messages while announcing the last);
- :meth:`Changes.announce` publishes events that change nothing stored (typing,
  presence), which webhooks never get.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat.bus.base import Bus
from imbachat.events import Event
from imbachat.store.db import Database
from imbachat.webhooks import outbox

log = logging.getLogger(__name__)
C = TypeVar("C", Connection, AsyncConnection)
T = TypeVar("T")


@dataclass(slots=True)
class UnitOfWork(Generic[C]):
    """One change in progress: its transaction's connection and what it emitted."""

    conn: C
    events: list[Event] = field(default_factory=list)
    deliveries: int = 0  # webhook deliveries queued in this transaction

    def emit(self, *events: Event) -> None:
        """These happened (announced once the transaction commits)."""
        self.events.extend(events)

    def queued_deliveries(self, count: int = 1) -> None:
        """Deliveries were queued by hand (a replay): wake the dispatcher on commit."""
        self.deliveries += count


class Changes:
    def __init__(self, db: Database, bus: Bus) -> None:
        self._db = db
        self._bus = bus
        self._on_deliveries: list[Callable[[], None]] = []

    def on_deliveries(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (the webhook dispatcher's wake-up) after a commit that
        queued deliveries."""
        self._on_deliveries.append(listener)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[UnitOfWork[AsyncConnection]]:
        """A write transaction; its events are announced after it commits."""
        async with self._db.write() as conn:
            uow = UnitOfWork(conn)
            yield uow
            if uow.events:
                uow.deliveries += await conn.run_sync(outbox.write, uow.events)
        await self._committed(uow)

    async def run_write(self, work: Callable[[UnitOfWork[Connection]], T]) -> T:
        """Run the synchronous ``work`` in one write transaction (see
        :meth:`Database.run_write`); its events are announced after it commits."""
        result, announce = await self.commit(work)
        await announce()
        return result

    async def commit(
        self, work: Callable[[UnitOfWork[Connection]], T]
    ) -> tuple[T, Callable[[], Awaitable[None]]]:
        """:meth:`run_write` without announcing: returns the result and what to await
        to announce the committed events (exactly once, in commit order)."""

        def in_transaction(conn: Connection) -> tuple[T, UnitOfWork[Connection]]:
            uow = UnitOfWork(conn)
            result = work(uow)
            if uow.events:
                uow.deliveries += outbox.write(conn, uow.events)
            return result, uow

        result, uow = await self._db.run_write(in_transaction)
        return result, functools.partial(self._committed, uow)

    async def announce(self, *events: Event) -> None:
        """Publish events of no stored change (nothing to roll back, no webhooks)."""
        for event in events:
            await self._bus.publish(event)

    async def _committed(self, uow: UnitOfWork[C]) -> None:
        """After the commit: the change stands whatever happens here, so a failure to
        announce is logged, never raised as a failure of the change (a caller would
        retry what is already stored). Sockets catch up by resume; webhooks have
        their rows."""
        try:
            if uow.deliveries:
                for listener in self._on_deliveries:
                    listener()
            for event in uow.events:
                await self._bus.publish(event)
        except Exception:
            log.exception("announcing %d committed events failed", len(uow.events))
