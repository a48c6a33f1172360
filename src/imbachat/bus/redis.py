"""Redis pub/sub bus for several nodes.

One channel carries every event (encoded by :mod:`imbachat.bus.codec`; the
channel's name carries the format's version, so nodes of an older format never
read this one). A node hands its own events to its local
subscribers at once and also publishes them; it ignores its own events coming
back from Redis. Publishing goes through one queue and one task, so events
leave in the order they happened. When the subscription drops (Redis restarts),
the node reconnects with backoff and then calls its ``on_reconnect`` hooks, which
catch sockets up from the database: the bus may lose events, never messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError

from imbachat import metrics
from imbachat.bus import codec
from imbachat.bus.base import Handler, deliver
from imbachat.events import Event

log = logging.getLogger(__name__)

CHANNEL = "imbachat:events:2"
MAX_OUTBOX = 100_000


class RedisBus:
    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        self.node_id = secrets.token_hex(6)
        self.channel = channel
        self.client: redis.Redis = redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._handlers: list[Handler] = []
        self._reconnect_hooks: list[Callable[[], Awaitable[None]]] = []
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue(MAX_OUTBOX)
        self._tasks: list[asyncio.Task[None]] = []
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="redis-bus-listen"),
            asyncio.create_task(self._send(), name="redis-bus-send"),
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), timeout=10)

    def subscribe(self, handler: Handler) -> None:
        self._handlers.append(handler)

    def on_reconnect(self, hook: Callable[[], Awaitable[None]]) -> None:
        self._reconnect_hooks.append(hook)

    async def publish(self, event: Event) -> None:
        await self._deliver(event)
        data = codec.encode(self.node_id, event)
        if self._outbox.full():
            self._outbox.get_nowait()  # shed the oldest; resync covers messages
            self._outbox.task_done()
        self._outbox.put_nowait(data)

    async def _deliver(self, event: Event) -> None:
        await deliver(self._handlers, event)

    async def _send(self) -> None:
        backoff = 0.1
        while True:
            batch = [await self._outbox.get()]
            while not self._outbox.empty() and len(batch) < 500:
                batch.append(self._outbox.get_nowait())
            while True:
                try:
                    async with self.client.pipeline(transaction=False) as pipe:
                        for data in batch:
                            pipe.publish(self.channel, data)
                        await pipe.execute()
                    for _ in batch:
                        self._outbox.task_done()
                    backoff = 0.1
                    break
                except (RedisError, OSError) as exc:
                    log.warning("publishing to Redis failed (%r); retrying", exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)

    async def _listen(self) -> None:
        backoff, first = 0.1, True
        while True:
            try:
                async with self.client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self.channel)
                    self._subscribed.set()
                    if not first:
                        log.info("Redis bus reconnected; catching sockets up")
                        for hook in self._reconnect_hooks:
                            await hook()
                    first, backoff = False, 0.1
                    while True:
                        message = await pubsub.get_message(timeout=1.0)
                        if message is not None:
                            await self._received(message["data"])
            except (RedisError, OSError) as exc:
                log.warning("Redis bus subscription lost (%r); reconnecting", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _received(self, data: Any) -> None:
        try:
            node, event, sent_at = codec.decode(data)
        except codec.BadMessage as exc:
            log.warning("ignoring a bus message: %s", exc)
            return
        if node != self.node_id:
            if sent_at:
                # Clocks of two machines: NTP keeps them within milliseconds; a
                # clock behind the publisher's would read as negative lag.
                metrics.BUS_LAG_SECONDS.observe(max(0.0, time.time() - sent_at))
            await self._deliver(event)

    async def close(self, flush_seconds: float = 2.0) -> None:
        """Publish what is still queued (the last messages a stopping node stored,
        for the other nodes' sockets), for a bounded time; then disconnect."""
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox.join(), timeout=flush_seconds)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.client.aclose()
