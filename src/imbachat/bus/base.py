"""The Bus interface: one event per room event, fan-out happens on each node."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened in a widget, e.g. ``message.new`` or ``member.added``.

    ``payload`` holds JSON values only, so any bus can carry it between nodes;
    :mod:`imbachat.events` is the one place that builds events.
    """

    type: str
    imba_id: int
    room_id: int | None
    payload: dict[str, Any]


Handler = Callable[[Event], Awaitable[None]]


class Bus(Protocol):
    async def publish(self, event: Event) -> None:
        """Announce an event to every subscriber on every node."""

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
            log.exception("bus handler failed for %s", event.type)
