"""People who are away: a message that waits unread longer than the widget's delay,
for a member with no open socket, is told of once (a ``message.unread`` notice)
for its quiet period, however many messages came in it.

Nothing is kept in memory: what is due is read from the messages, read marks and
each user's mark (until when they were told), so a restart loses nothing; every
node looks, and a notice goes out from the node whose move of the mark lands
(compare-and-set in the notice's own transaction), so never twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from functools import partial

from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.events import MessagesUnread
from imbachat.services.files import FileService
from imbachat.store import away as away_store
from imbachat.store.db import Database
from imbachat.unit_of_work import Changes

log = logging.getLogger(__name__)

LATEST = 10  # messages a notice shows
LOOKBACK = timedelta(days=1)  # rooms quiet for longer are not looked at again
OnlineAmong = Callable[[Iterable[int]], Awaitable[set[int]]]


class AwayNotifier:
    def __init__(
        self,
        db: Database,
        changes: Changes,
        files: FileService,
        online_among: OnlineAmong,
        default_seconds: int,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._db = db
        self._changes = changes
        self._files = files
        self._online_among = online_among
        self._default = default_seconds
        self._clock = clock

    async def run_once(self) -> int:
        """Send the notices that are due; returns how many this node sent."""
        now = self._clock.now()
        due: dict[int, datetime | None] = {}
        for delay in await self._db.run_read(away_store.delays):
            seconds = self._default if delay is None else delay
            due_before = now - timedelta(seconds=seconds)
            due.update(await self._db.run_read(partial(away_store.due, delay=delay,
                       due_before=due_before, active_since=due_before - LOOKBACK)))  # fmt: skip
        if not due:
            return 0
        online = await self._online_among(due)
        sent = 0
        for user_id, seen in due.items():
            if user_id not in online and await self._notify(user_id, seen, now):
                sent += 1
        return sent

    async def _notify(self, user_id: int, seen: datetime | None, now: datetime) -> bool:
        async with self._changes.begin() as uow:
            if not await away_store.claim(uow.conn, user_id, seen, now):
                return False  # another node tells them
            user, count, latest = await away_store.unread_of(uow.conn, user_id, LATEST)
            if user is None or not count:
                return False  # read meanwhile: the mark moved, there is nothing to tell
            signed = await self._files.signed(latest)
            uow.emit(MessagesUnread(user.imba_id, user, count, tuple(signed)))
        return True

    async def run_forever(self, every_seconds: float) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("telling away users of unread messages failed; trying again")
            await asyncio.sleep(every_seconds)
