"""Webhook endpoints of a widget: register, list, remove; the delivery log; replay."""

from __future__ import annotations

from typing import Any

from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.domain import Widget
from imbachat.errors import Invalid, NotFound
from imbachat.services.widgets import new_secret_key
from imbachat.states import DeliveryStatus
from imbachat.store import users as user_store
from imbachat.store import webhooks as webhook_store
from imbachat.store import widgets as widget_store
from imbachat.store.db import Database
from imbachat.unit_of_work import Changes
from imbachat.urls import internal_target, web_url
from imbachat.webhooks.bodies import WEBHOOK_EVENT_NAMES


def _public(hook: Any, bot_remote_id: int | None = None) -> dict[str, Any]:
    return {
        "id": hook["id"],
        "imba_id": hook["imba_id"],
        "url": hook["url"],
        "secret": hook["secret"],
        "events": [e for e in hook["events"].split(",") if e] or list(WEBHOOK_EVENT_NAMES),
        "bot_user_id": bot_remote_id,
        "active": bool(hook["active"]),
        "created_at": hook["created_at"].strftime("%Y-%m-%d %H:%M:%S"),
    }


def delivery_view(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "webhook_id": row["webhook_id"],
        "delivery_id": row["delivery_id"],
        "event": row["event"],
        "status": row["status"],
        "attempts": row["attempts"],
        "last_status_code": row["last_status_code"],
        "last_error": row["last_error"],
        "created_at": row["created_at"].strftime("%Y-%m-%d %H:%M:%S"),
        "delivered_at": row["delivered_at"].strftime("%Y-%m-%d %H:%M:%S")
        if row["delivered_at"]
        else None,
    }


class WebhookService:
    def __init__(
        self,
        db: Database,
        changes: Changes,
        clock: Clock = SYSTEM_CLOCK,
        internal_targets: str = "auto",
    ) -> None:
        self._db = db
        self._changes = changes
        self._clock = clock
        self._internal_targets = internal_targets
        self._owners: tuple[float, int] = (0.0, 0)  # (read at, owner accounts)

    async def refuses_internal_targets(self) -> bool:
        """Whether webhooks may not point inside the server's network (see the
        ``webhook_internal_targets`` setting); the owner count is read once a minute."""
        if self._internal_targets != "auto":
            return self._internal_targets == "refuse"
        read_at, owners = self._owners
        if self._clock.monotonic() - read_at > 60 or not read_at:
            async with self._db.read() as conn:
                owners = await widget_store.owner_count(conn)
            self._owners = (self._clock.monotonic(), owners)
        return owners > 1

    async def refusal(self, url: str) -> str | None:
        """Why a webhook may not be sent to ``url`` now, or None."""
        if await self.refuses_internal_targets():
            reason = await internal_target(url)
            if reason is not None:
                return f"this server refuses internal addresses: {reason}"
        return None

    async def add(
        self,
        widget: Widget,
        url: str,
        *,
        secret: str | None = None,
        events: list[str] | None = None,
        bot_user_id: int | None = None,
    ) -> dict[str, Any]:
        """Register an endpoint. With ``bot_user_id`` (a host user id) that user is
        marked as a bot and the endpoint gets only the events of the bot's rooms."""
        web_url(url, "url")
        refused = await self.refusal(url)
        if refused is not None:
            raise Invalid(f"url: {refused}.", field="url", reason=refused)
        chosen = [e.strip() for e in events or [] if e.strip()]
        unknown = [e for e in chosen if e not in WEBHOOK_EVENT_NAMES]
        if unknown:
            raise Invalid(
                f"Unknown events {unknown}; known: {', '.join(WEBHOOK_EVENT_NAMES)}.",
                field="events",
            )
        if secret is not None and not 16 <= len(secret) <= 255:
            raise Invalid("secret must be 16 to 255 characters.", field="secret")
        now = self._clock.now()
        async with self._db.write() as conn:
            bot = None
            if bot_user_id is not None:
                [bot], _ = await user_store.ensure(conn, widget.imba_id, [bot_user_id], now)
                await user_store.set_bot(conn, bot.id, True, now)
            hook = await webhook_store.insert(
                conn,
                imba_id=widget.imba_id,
                url=url,
                secret=secret or new_secret_key(),
                events=",".join(chosen),
                bot_user_id=bot.id if bot else None,
                active=True,
                created_at=now,
            )
        return _public(hook, bot_user_id)

    async def endpoints(self, widget: Widget) -> list[dict[str, Any]]:
        async with self._db.read() as conn:
            hooks = await webhook_store.of_widget(conn, widget.imba_id)
            bots = {h["bot_user_id"] for h in hooks if h["bot_user_id"] is not None}
            remote = await user_store.remote_ids_of(conn, bots)
        return [_public(h, remote.get(h["bot_user_id"])) for h in hooks]

    async def remove(self, widget: Widget, webhook_id: int) -> None:
        async with self._db.write() as conn:
            if not await webhook_store.deactivate(conn, widget.imba_id, webhook_id):
                raise NotFound(f"No webhook {webhook_id}.", field="webhook_id")

    async def change(
        self,
        widget: Widget,
        webhook_id: int,
        *,
        events: list[str] | None = None,
        active: bool | None = None,
    ) -> None:
        """Choose an endpoint's events (an empty list: every event), or turn it off or
        on again (what is queued for it meanwhile waits, and goes when it is on)."""
        values: dict[str, object] = {}
        if events is not None:
            chosen = [e.strip() for e in events if e.strip()]
            unknown = [e for e in chosen if e not in WEBHOOK_EVENT_NAMES]
            if unknown:
                raise Invalid(
                    f"Unknown events {unknown}; known: {', '.join(WEBHOOK_EVENT_NAMES)}.",
                    field="events",
                )
            values["events"] = ",".join(chosen)
        if active is not None:
            values["active"] = active
        async with self._db.write() as conn:
            if not await webhook_store.change(conn, widget.imba_id, webhook_id, **values):
                raise NotFound(f"No webhook {webhook_id}.", field="webhook_id")

    async def deliveries(
        self,
        widget: Widget,
        *,
        webhook_id: int | None,
        status: str | None,
        limit: int,
        before_id: int | None = None,
    ) -> list[dict[str, Any]]:
        try:
            wanted = None if status is None else DeliveryStatus(status)
        except ValueError:
            known = ", ".join(DeliveryStatus)
            raise Invalid(f"status is one of {known}.", field="status") from None
        async with self._db.read() as conn:
            rows = await webhook_store.deliveries(
                conn,
                widget.imba_id,
                webhook_id=webhook_id,
                status=wanted,
                limit=limit,
                before_id=before_id,
            )
        return [delivery_view(row) for row in rows]

    async def replay(self, widget: Widget, delivery_row_id: int) -> None:
        """Send a delivery again (same delivery id), with a fresh day of retries."""
        async with self._changes.begin() as uow:
            if not await webhook_store.replay(
                uow.conn, widget.imba_id, delivery_row_id, self._clock.now()
            ):
                raise NotFound(f"No delivery {delivery_row_id}.", field="delivery_id")
            uow.queued_deliveries()
