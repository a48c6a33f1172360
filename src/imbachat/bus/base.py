"""The Bus interface: one event per room event, fan-out happens on each node."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol


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
