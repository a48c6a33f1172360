"""Per-user rate limits: a token bucket per (widget, user), on each node.

Each node limits what it accepts; with several nodes a user could reach a limit
once per node, which bounds abuse without a shared store on the hot paths.
"""

from __future__ import annotations

import math

from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.errors import RateLimited


class UserRateLimiter:
    """``per_second`` actions a user may take, in bursts of up to ``burst``; beyond,
    RateLimited with ``refusal`` (``{wait}``: the seconds to wait). 0 means no limit."""

    def __init__(
        self,
        per_second: float,
        burst: int,
        clock: Clock = SYSTEM_CLOCK,
        refusal: str = "Too many messages: wait {wait} s and send again.",
    ) -> None:
        self._clock = clock
        self._rate = per_second
        self._burst = float(burst)
        self._refusal = refusal
        self._buckets: dict[tuple[int, int], tuple[float, float]] = {}

    def take(self, imba_id: int, user_id: int, cost: float = 1.0) -> None:
        """Spend ``cost`` actions' worth (at most a whole burst); raise RateLimited with
        the seconds to wait when there is not enough left."""
        if self._rate <= 0:
            return
        cost = min(cost, self._burst)
        now = self._clock.monotonic()
        tokens, then = self._buckets.get((imba_id, user_id), (self._burst, now))
        tokens = min(self._burst, tokens + (now - then) * self._rate)
        if tokens < cost:
            wait = math.ceil((cost - tokens) / self._rate)
            raise RateLimited(self._refusal.format(wait=wait), retry_after=wait)
        self._buckets[(imba_id, user_id)] = (tokens - cost, now)
        if len(self._buckets) > 100_000:
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60}


SendLimiter = UserRateLimiter  # the send path's
