"""The in-process bus, the embedded default: one node, no broker."""

from __future__ import annotations

import logging

from imbachat.bus.base import Event, Handler

log = logging.getLogger(__name__)


class InMemoryBus:
    def __init__(self) -> None:
        self._handlers: list[Handler] = []

    async def publish(self, event: Event) -> None:
        for handler in self._handlers:
            try:
                await handler(event)
            except Exception:
                # One failing subscriber must not stop the others or the publisher.
                log.exception("bus handler failed for %s", event.type)

    def subscribe(self, handler: Handler) -> None:
        self._handlers.append(handler)

    async def close(self) -> None:
        self._handlers.clear()
