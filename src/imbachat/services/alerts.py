"""Alerts: how each user wants to be told of messages (their e-mail choice, rooms
whose alerts they muted), kept on the server so every tab and node follows."""

from __future__ import annotations

from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.domain import User, Widget
from imbachat.events import AlertsChanged
from imbachat.services.members import require_member
from imbachat.states import EmailChoice
from imbachat.store import rooms as room_store
from imbachat.store import users as user_store
from imbachat.unit_of_work import Changes


class AlertService:
    def __init__(self, changes: Changes, clock: Clock = SYSTEM_CLOCK) -> None:
        self._changes = changes
        self._clock = clock

    async def choose(
        self,
        widget: Widget,
        user: User,
        *,
        email: EmailChoice | None = None,
        room_id: int | None = None,
        muted: bool | None = None,
    ) -> AlertsChanged:
        """Change the user's e-mail choice and/or mute or unmute a room of theirs."""
        now = self._clock.now()
        async with self._changes.begin() as uow:
            conn = uow.conn
            if room_id is not None and muted is not None:
                await conn.run_sync(require_member, widget, room_id, user)
                await room_store.set_member(conn, room_id, user.id, alerts_muted=muted)
            if email is not None:
                await user_store.set_email_notify(conn, user.id, email, now)
            changed = AlertsChanged(
                widget.imba_id,
                user.id,
                email or await user_store.email_notify_of(conn, user.id),
                room_id if muted is not None else None,
                muted if room_id is not None else None,
            )
            uow.emit(changed)
        return changed
