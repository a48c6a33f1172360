"""Time in one place: UTC everywhere, formatted as the ImbaChat API shows it.

Services read time from a :class:`Clock` they are given, so rules about time (a
mute's end, a rate limit, a cache's age) can be checked without waiting:
:class:`ManualClock` moves only when told to.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


def utcnow() -> datetime:
    """Naive UTC now, the form stored in the database on every backend."""
    return datetime.now(UTC).replace(tzinfo=None)


def format_api(value: datetime | None) -> str | None:
    """``"YYYY-MM-DD HH:MM:SS"`` or ``None``, as in the documented responses."""
    # isoformat, not strftime: several times faster, and a room list formats thousands.
    return value.isoformat(" ", "seconds") if value is not None else None


def unix(value: datetime) -> int:
    """Unix seconds of a naive UTC datetime."""
    return int(value.replace(tzinfo=UTC).timestamp())


class Clock:
    """The system's time: ``now()`` for what is stored and compared with stored
    times, ``monotonic()`` for intervals."""

    def now(self) -> datetime:
        return utcnow()

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock(Clock):
    """A clock that stands still until :meth:`advance` moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or utcnow()
        self._monotonic = 1_000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._monotonic += seconds


SYSTEM_CLOCK = Clock()
