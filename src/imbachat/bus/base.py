"""The Bus interface: one event per room event, fan-out happens on each node."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from imbachat.events import Event

log = logging.getLogger(__name__)

Handler = Callable[[Event], Awaitable[None]]


class Bus(Protocol):
    async def publish(self, event: Event) -> None:
        """Announce an event to every subscriber on every node (the unit of work
        does this once a change commits)."""

    def subscribe(self, handler: Handler) -> None:
        """Call ``handler`` for every event published from now on."""

    async def close(self) -> None:
        """Stop delivering and release connections."""


async def deliver(handlers: list[Handler], event: Event) -> None:
    """Hand an event to every handler; one failing must not stop the others."""
    for handler in handlers:
        try:
            await handler(event)
        except Exception:
            log.exception("bus handler failed for %s", event.name)
