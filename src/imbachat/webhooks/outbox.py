"""The webhook outbox: in the same transaction as a change, one delivery row per
(event, subscribed webhook). A bot's webhook only gets events of the bot's rooms,
and never the bot's own messages."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat import events
from imbachat.bus.base import Event
from imbachat.clock import utcnow
from imbachat.domain import Message
from imbachat.states import DeliveryStatus
from imbachat.store import webhooks as webhook_store

WEBHOOK_EVENTS = (
    events.MESSAGE_NEW,
    events.MESSAGE_EDITED,
    events.MESSAGE_DELETED,
    events.ROOM_CREATED,
    events.MEMBER_ADDED,
    events.MEMBER_REMOVED,
    events.USER_BANNED,
    events.USER_UNBANNED,
    events.MEMBER_MUTED,
    events.ROOM_CLOSED,
    events.ROOM_REOPENED,
    events.MEMBER_ROLE,
)


def body_of(event: Event) -> bytes:
    """The webhook request body: ``{"event", "imba_id", "data"}``."""
    data = {key: value for key, value in event.payload.items() if key != "origin"}
    return orjson.dumps({"event": event.type, "imba_id": event.imba_id, "data": data})


def _author(event: Event) -> int | None:
    message: dict[str, Any] | None = event.payload.get("message")
    author: int | None = message.get("author_id") if message else event.payload.get("author_id")
    return author


class Outbox:
    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []
        self._fresh = False  # deliveries were written since the last wake-up

    def on_recorded(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (the dispatcher's wake-up) after deliveries are recorded."""
        self._listeners.append(listener)

    def recorded(self, force: bool = False) -> None:
        """After a commit: wake the dispatcher, if anything was written for it."""
        if not (self._fresh or force):
            return
        self._fresh = False
        for listener in self._listeners:
            listener()

    async def record(self, conn: AsyncConnection, happened: Iterable[Event]) -> int:
        """Write the deliveries of these events; returns how many."""
        return await conn.run_sync(self.write, list(happened))

    def write_new_messages(self, conn: Connection, created: Sequence[Message]) -> int:
        """``message.new`` deliveries, inside a batch's transaction. The events are
        built only when the widgets have webhooks (most batches need none)."""
        if not created:
            return 0
        hooks = webhook_store.active_of_widgets(conn, sorted({m.imba_id for m in created}))
        if not hooks:
            return 0
        return self._write(conn, [events.message_new(message) for message in created], hooks)

    def write(self, conn: Connection, happened: Iterable[Event]) -> int:
        """:meth:`record` on a synchronous connection."""
        wanted = [event for event in happened if event.type in WEBHOOK_EVENTS]
        if not wanted:
            return 0
        hooks = webhook_store.active_of_widgets(conn, sorted({e.imba_id for e in wanted}))
        if not hooks:
            return 0
        return self._write(conn, wanted, hooks)

    def _write(self, conn: Connection, wanted: list[Event], hooks: list[RowMapping]) -> int:
        bots = [hook["bot_user_id"] for hook in hooks if hook["bot_user_id"] is not None]
        rooms = sorted({e.room_id for e in wanted if e.room_id is not None})
        bot_rooms = webhook_store.rooms_with_members(conn, rooms, bots)
        now = utcnow()
        rows = []
        for event in wanted:
            body = body_of(event).decode()
            for hook in hooks:
                if hook["imba_id"] != event.imba_id or not _subscribed(hook["events"], event.type):
                    continue
                bot = hook["bot_user_id"]
                if bot is not None and (
                    (event.room_id, bot) not in bot_rooms or _author(event) == bot
                ):
                    continue
                rows.append(
                    {
                        "webhook_id": hook["id"],
                        "imba_id": event.imba_id,
                        "delivery_id": str(uuid.uuid4()),
                        "event": event.type,
                        "body": body,
                        "status": DeliveryStatus.PENDING,
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                )
        webhook_store.add_deliveries(conn, rows)
        self._fresh = self._fresh or bool(rows)
        return len(rows)


def _subscribed(chosen: str, event: str) -> bool:
    names = {name.strip() for name in chosen.split(",") if name.strip()}
    return not names or event in names
