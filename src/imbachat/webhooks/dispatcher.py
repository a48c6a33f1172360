"""Delivers the webhook outbox: signed POSTs, retried with exponential backoff for
at least a day, across restarts, without ever blocking chat.

Each node claims due rows under a short lease; a crashed node's lease runs out and
another node retries. Delivery is at least once: receivers dedupe by the
``X-ImbaChat-Delivery`` id, which stays the same across retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx

from imbachat import metrics
from imbachat.clock import utcnow
from imbachat.states import DeliveryStatus
from imbachat.store import webhooks as webhook_store
from imbachat.store.db import Database
from imbachat.webhooks import signing

log = logging.getLogger(__name__)

MAX_RETRY_DELAY = 3600.0


class WebhookDispatcher:
    def __init__(
        self,
        db: Database,
        *,
        timeout_seconds: float = 10.0,
        retry_base_seconds: float = 5.0,
        give_up_after: timedelta = timedelta(hours=26),
        batch: int = 50,
        refusal: Callable[[str], Awaitable[str | None]] | None = None,
    ) -> None:
        self._db = db
        self._refusal = refusal  # why a URL may not be sent to now (internal targets)
        self._client = httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=False)
        self._retry_base = retry_base_seconds
        self._give_up_after = give_up_after
        self._batch = batch
        # A claim outlives the slowest attempt, so no other node sends it meanwhile.
        self._lease = timedelta(seconds=max(60.0, 3 * timeout_seconds + 10))
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()

    def nudge(self) -> None:
        """New deliveries were recorded: look now rather than at the next tick."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    async def _run(self) -> None:
        while True:
            try:
                sent = await self.deliver_due()
            except Exception:
                log.exception("webhook dispatch round failed")
                sent = 0
            if sent == 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=1.0)

    async def deliver_due(self) -> int:
        """Start sending due deliveries, up to ``batch`` at a time; returns how many
        were started. Each is its own task, so one slow receiver holds up no other."""
        room = self._batch - len(self._sending)
        if room <= 0:
            return 0
        now = utcnow()
        async with self._db.write() as conn:
            due = await webhook_store.claim_due(conn, now, now + self._lease, room)
        for row in due:
            task = asyncio.create_task(self._deliver(row))
            self._sending.add(task)
            task.add_done_callback(self._sent)
        return len(due)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        self._wake.set()

    async def drain(self) -> None:
        """Wait for the attempts in flight (tests and shutdown)."""
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)

    async def _deliver(self, row: Any) -> None:
        body = row["body"].encode()
        timestamp = int(time.time())
        headers = signing.headers(row["event"], row["delivery_id"], timestamp, row["secret"], body)
        status_code: int | None = None
        error: str | None = None
        try:
            refused = await self._refusal(row["url"]) if self._refusal else None
            if refused is not None:
                error = f"not sent: {refused}"
            else:
                response = await self._client.post(row["url"], content=body, headers=headers)
                status_code = response.status_code
                if not 200 <= status_code < 300:
                    error = f"HTTP {status_code}: {response.text[:200]}"
        except Exception as exc:  # any failure is this attempt's, recorded and retried
            error = f"{type(exc).__name__}: {exc}"[:500]
        now = utcnow()
        metrics.WEBHOOK_QUEUE_AGE.observe((now - row["created_at"]).total_seconds())
        if error is None:
            metrics.WEBHOOK_DELIVERIES.labels("delivered").inc()
            values: dict[str, Any] = {
                "status": DeliveryStatus.DELIVERED,
                "delivered_at": now,
                "last_error": None,
            }
        elif now - row["created_at"] > self._give_up_after:
            metrics.WEBHOOK_DELIVERIES.labels("failed").inc()
            values = {"status": DeliveryStatus.FAILED, "last_error": error}
        else:
            metrics.WEBHOOK_DELIVERIES.labels("retry").inc()
            attempts = row["attempts"] + 1
            delay = min(self._retry_base * 2 ** (attempts - 1), MAX_RETRY_DELAY)
            delay *= random.uniform(0.8, 1.2)  # spread retries of many deliveries
            values = {"next_attempt_at": now + timedelta(seconds=delay), "last_error": error}
        async with self._db.write() as conn:
            await webhook_store.record_attempt(
                conn, row["id"], last_status_code=status_code, **values
            )

    async def close(self, grace_seconds: float = 0.0) -> None:
        """Claim nothing more; let the attempts in flight finish and record their
        outcome for up to ``grace_seconds``, then cut off the rest (an interrupted
        attempt's lease runs out and it is retried, here after a restart or on
        another node: at least once, as always)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._sending and grace_seconds > 0:
            await asyncio.wait(list(self._sending), timeout=grace_seconds)
        for task in list(self._sending):
            task.cancel()
        await self.drain()
        await self._client.aclose()
