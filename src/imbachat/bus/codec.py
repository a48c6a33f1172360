"""Events as bytes between nodes, and back: the bus's one wire format.

A message is ``{"node", "name", "event"}``: the publishing node (so it can ignore
its own echo), the event's name, and the event's fields as JSON (records nested,
times as ISO 8601, states as their values). Decoding is typed by the event class
registered under the name; anything unreadable is refused with :class:`BadMessage`.
"""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

from imbachat.events import Event


class BadMessage(ValueError):
    """Bytes on the bus that are not an event this node knows."""


class _Envelope(msgspec.Struct):
    node: str
    name: str
    event: msgspec.Raw


_ENVELOPE = msgspec.json.Decoder(_Envelope)
_DECODERS: dict[type[Event], msgspec.json.Decoder[Any]] = {}


def encode(node: str, event: Event) -> bytes:
    return orjson.dumps({"node": node, "name": event.name, "event": event})


def decode(data: bytes | str) -> tuple[str, Event]:
    """``(publishing node, event)``; raises BadMessage for anything else."""
    try:
        envelope = _ENVELOPE.decode(data)
        kind = Event.by_name[envelope.name]
        decoder = _DECODERS.get(kind)
        if decoder is None:
            decoder = _DECODERS[kind] = msgspec.json.Decoder(kind)
        return envelope.node, decoder.decode(envelope.event)
    except (msgspec.DecodeError, KeyError) as exc:
        raise BadMessage(f"not an event: {exc!r}") from None
