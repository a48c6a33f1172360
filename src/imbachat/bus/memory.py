"""The in-process bus, the embedded default: one node, no broker."""

from __future__ import annotations

import logging

from imbachat.bus.base import Handler, deliver
from imbachat.events import Event

log = logging.getLogger(__name__)


class InMemoryBus:
    def __init__(self) -> None:
        self._handlers: list[Handler] = []

    async def publish(self, event: Event) -> None:
        await deliver(self._handlers, event)

    def subscribe(self, handler: Handler) -> None:
        self._handlers.append(handler)

    async def close(self) -> None:
        self._handlers.clear()
