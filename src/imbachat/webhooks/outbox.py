"""The webhook outbox: in the same transaction as a change, one delivery row per
(webhook event, subscribed webhook). A bot's webhook only gets events of the bot's
rooms, and never the bot's own messages. The unit of work calls :func:`write`; the
dispatcher delivers the rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.engine import Connection

from imbachat.clock import utcnow
from imbachat.events import Event
from imbachat.states import DeliveryStatus
from imbachat.store import webhooks as webhook_store
from imbachat.webhooks.bodies import WEBHOOK_EVENTS, author_of, body_of


def write(conn: Connection, happened: Sequence[Event]) -> int:
    """Write the deliveries of these events; returns how many rows. Bodies are built
    only when the widgets have webhooks (most changes need none)."""
    wanted = [event for event in happened if isinstance(event, WEBHOOK_EVENTS)]
    if not wanted:
        return 0
    hooks = webhook_store.active_of_widgets(conn, sorted({e.imba_id for e in wanted}))
    if not hooks:
        return 0
    bots = [hook["bot_user_id"] for hook in hooks if hook["bot_user_id"] is not None]
    rooms = sorted({e.room_id for e in wanted if e.room_id is not None})
    bot_rooms = webhook_store.rooms_with_members(conn, rooms, bots)
    now = utcnow()
    rows = []
    for event in wanted:
        body = body_of(event).decode()
        for hook in hooks:
            if hook["imba_id"] != event.imba_id or not _subscribed(hook["events"], event.name):
                continue
            bot = hook["bot_user_id"]
            if bot is not None and (
                (event.room_id, bot) not in bot_rooms or author_of(event) == bot
            ):
                continue
            rows.append(
                {
                    "webhook_id": hook["id"],
                    "imba_id": event.imba_id,
                    "delivery_id": str(uuid.uuid4()),
                    "event": event.name,
                    "body": body,
                    "status": DeliveryStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
    webhook_store.add_deliveries(conn, rows)
    return len(rows)


def _subscribed(chosen: str, event: str) -> bool:
    names = {name.strip() for name in chosen.split(",") if name.strip()}
    return not names or event in names
