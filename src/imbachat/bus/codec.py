"""Events as bytes between nodes, and back: the bus's one wire format.

A message is ``{"node", "sent_at", "name", "event"}``: the publishing node (so it
can ignore its own echo), when it was published (unix seconds, the publisher's
clock: the bus's lag is measured with it), the event's name, and the event's fields
as JSON (records nested, times as ISO 8601, states as their values). Decoding is
typed by the event class registered under the name; anything unreadable is refused
with :class:`BadMessage`. A message without ``sent_at`` (from a node of an earlier
version) reads as published at 0, and unknown fields are ignored, so nodes of
neighbouring versions understand each other during a rolling upgrade.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import msgspec
import orjson

from imbachat.events import Event


class BadMessage(ValueError):
    """Bytes on the bus that are not an event this node knows."""


class Received(NamedTuple):
    node: str
    event: Event
    sent_at: float  # unix seconds on the publisher's clock; 0 when not told


class _Envelope(msgspec.Struct):
    node: str
    name: str
    event: msgspec.Raw
    sent_at: float = 0.0


_ENVELOPE = msgspec.json.Decoder(_Envelope)
_DECODERS: dict[type[Event], msgspec.json.Decoder[Any]] = {}


def encode(node: str, event: Event) -> bytes:
    return orjson.dumps({"node": node, "sent_at": time.time(), "name": event.name, "event": event})


def decode(data: bytes | str) -> Received:
    """The publishing node, the event and when it was published; raises BadMessage
    for anything else."""
    try:
        envelope = _ENVELOPE.decode(data)
        kind = Event.by_name[envelope.name]
        decoder = _DECODERS.get(kind)
        if decoder is None:
            decoder = _DECODERS[kind] = msgspec.json.Decoder(kind)
        return Received(envelope.node, decoder.decode(envelope.event), envelope.sent_at)
    except (msgspec.DecodeError, KeyError) as exc:
        raise BadMessage(f"not an event: {exc!r}") from None
