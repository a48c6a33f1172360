"""Per-user send rate limits: a token bucket per (widget, user), on each node.

Each node limits what it accepts; with several nodes a user could reach the limit
once per node, which bounds abuse without a shared store on the send path.
"""

from __future__ import annotations

import math

from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.errors import RateLimited


class SendLimiter:
    def __init__(self, per_second: float, burst: int, clock: Clock = SYSTEM_CLOCK) -> None:
        self._clock = clock
        self._rate = per_second
        self._burst = float(burst)
        self._buckets: dict[tuple[int, int], tuple[float, float]] = {}

    def take(self, imba_id: int, user_id: int) -> None:
        """Spend one send; raise RateLimited with the seconds to wait when empty."""
        if self._rate <= 0:
            return
        now = self._clock.monotonic()
        tokens, then = self._buckets.get((imba_id, user_id), (self._burst, now))
        tokens = min(self._burst, tokens + (now - then) * self._rate)
        if tokens < 1:
            wait = math.ceil((1 - tokens) / self._rate)
            raise RateLimited(f"Too many messages: wait {wait} s and send again.", retry_after=wait)
        self._buckets[(imba_id, user_id)] = (tokens - 1, now)
        if len(self._buckets) > 100_000:
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60}
