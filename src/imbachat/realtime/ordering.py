"""Per-room order of live messages on this node.

Messages of a room are released to its sockets in ``seq`` order, each once. A
message that arrives ahead of a missing one (possible when several nodes publish)
is held briefly, and the gap is filled from the database if the missing ones do
not arrive. After a bus outage, :meth:`RoomOrdering.resync` catches every followed
room up from the database, a page at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from imbachat.domain import Message
from imbachat.realtime import frames

GAP_WAIT_SECONDS = 0.25
RESYNC_PAGE = 500  # messages of one room read at a time after a bus outage

# (room_id, seq, frame text, origin socket): hand a message to the room's sockets.
Release = Callable[[int, int, str, str | None], None]
# (room_id, after_seq, up_to): the stored messages after_seq < seq <= up_to.
ReadBetween = Callable[[int, int, int], Awaitable[list[Message]]]


class _RoomOrder:
    __slots__ = ("filling", "next_seq", "pending")

    def __init__(self, next_seq: int) -> None:
        self.next_seq = next_seq
        self.pending: dict[int, tuple[str, str | None]] = {}
        self.filling = False


class RoomOrdering:
    def __init__(self, release: Release, read_between: ReadBetween) -> None:
        self._release = release
        self._read_between = read_between
        self._order: dict[int, _RoomOrder] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.resync_page = RESYNC_PAGE

    def start(self, room_id: int, last_seq: int) -> None:
        """The room's next live message is ``last_seq + 1`` (unless already known)."""
        if room_id not in self._order:
            self._order[room_id] = _RoomOrder(last_seq + 1)

    def forget(self, room_id: int) -> None:
        """No socket here follows the room any more."""
        self._order.pop(room_id, None)

    def sequence(self, room_id: int, seq: int, text: str, origin: str | None) -> None:
        """A live message: release it, and what it completes, or hold it for a gap."""
        order = self._order.get(room_id)
        if order is None:
            order = self._order[room_id] = _RoomOrder(seq)
        if seq > order.next_seq:
            order.pending[seq] = (text, origin)
            if not order.filling:
                order.filling = True
                self._spawn(self._fill_gap(room_id, order))
            return
        self._release(room_id, seq, text, origin)
        if seq == order.next_seq:
            order.next_seq += 1
            self._release_pending(room_id, order)

    def _release_pending(self, room_id: int, order: _RoomOrder) -> None:
        while order.next_seq in order.pending:
            text, origin = order.pending.pop(order.next_seq)
            self._release(room_id, order.next_seq, text, origin)
            order.next_seq += 1

    async def _fill_gap(self, room_id: int, order: _RoomOrder) -> None:
        """A later message arrived first: wait for the missing ones briefly, then
        read them from the database and release everything in order."""
        try:
            await asyncio.sleep(GAP_WAIT_SECONDS)
            while order.pending and self._order.get(room_id) is order:
                first_pending = min(order.pending)
                if first_pending > order.next_seq:
                    missing = await self._read_between(
                        room_id, order.next_seq - 1, first_pending - 1
                    )
                    for record in missing:
                        if record.seq >= order.next_seq:
                            self._release(room_id, record.seq, frames.message(record), None)
                    order.next_seq = first_pending
                self._release_pending(room_id, order)
        finally:
            order.filling = False

    async def resync(self, followed: Callable[[int], bool]) -> None:
        """The bus was interrupted: catch every room still ``followed`` up from the
        database, a page at a time, so a long outage is neither read into memory in
        one go nor holds the event loop (a socket that cannot keep up is closed as
        too slow and resumes by replay)."""
        for room_id, order in list(self._order.items()):
            while followed(room_id) and self._order.get(room_id) is order:
                after = order.next_seq - 1
                missed = await self._read_between(room_id, after, after + self.resync_page)
                for record in missed:
                    self.sequence(room_id, record.seq, frames.message(record), None)
                if len(missed) < self.resync_page or order.next_seq - 1 == after:
                    break
                await asyncio.sleep(0)  # let the sockets drain between pages

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
