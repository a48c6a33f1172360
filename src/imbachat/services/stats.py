"""The owner's overview: messages and active people per day, and what waits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.domain import Widget
from imbachat.store import stats as stats_store
from imbachat.store.db import Database

DAYS = 30
CACHE_SECONDS = 30.0  # a dashboard refreshing every few seconds reads the days once
PRESENCE_LIMIT = 10_000  # users whose presence the overview asks about


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    messages: int
    active_users: int


@dataclass(frozen=True, slots=True)
class Overview:
    days: list[Day]  # the last DAYS days, oldest first, today last
    open_support: int
    open_reports: int
    webhook_failures: int  # failed deliveries of the last DAYS days
    users: int
    rooms: int


class StatsService:
    def __init__(self, db: Database, clock: Clock = SYSTEM_CLOCK) -> None:
        self._db = db
        self._clock = clock
        self._cached: dict[int, tuple[float, Overview]] = {}

    async def overview(self, widget: Widget) -> Overview:
        cached = self._cached.get(widget.imba_id)
        if cached is not None and cached[0] > self._clock.monotonic():
            return cached[1]
        now = self._clock.now()
        today = now.date()
        first = today - timedelta(days=DAYS - 1)
        since = datetime(first.year, first.month, first.day)
        async with self._db.read() as conn:
            found = await stats_store.daily(conn, widget.imba_id, since)
            counts = await stats_store.counts(conn, widget.imba_id, now - timedelta(days=DAYS))
        days = [
            Day(day, *found.get(day, (0, 0)))
            for day in (first + timedelta(days=n) for n in range(DAYS))
        ]
        overview = Overview(days=days, **counts)
        if len(self._cached) > 10_000:
            self._cached.clear()
        self._cached[widget.imba_id] = (self._clock.monotonic() + CACHE_SECONDS, overview)
        return overview

    def forget(self, imba_id: int) -> None:
        self._cached.pop(imba_id, None)

    async def recent_user_ids(self, widget: Widget) -> list[int]:
        """Users active in the last DAYS days: whose presence "online now" counts."""
        since = self._clock.now() - timedelta(days=DAYS)
        async with self._db.read() as conn:
            return await stats_store.recent_user_ids(conn, widget.imba_id, since, PRESENCE_LIMIT)
