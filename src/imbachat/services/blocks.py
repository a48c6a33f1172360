"""Blocking: a user stops another from writing to them in dialogs."""

from __future__ import annotations

from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.domain import Profile, User, Widget
from imbachat.errors import Invalid, NotFound
from imbachat.events import BlockChanged
from imbachat.services.rooms import refuse_guest
from imbachat.store import blocks as block_store
from imbachat.store import users as user_store
from imbachat.store.db import Database
from imbachat.unit_of_work import Changes

PAGE = 50


class BlockService:
    def __init__(self, db: Database, changes: Changes, clock: Clock = SYSTEM_CLOCK) -> None:
        self._db = db
        self._changes = changes
        self._clock = clock

    async def set_blocked(
        self, widget: Widget, user: User, remote_user_id: int, blocked: bool
    ) -> None:
        """Block (or unblock) a user of the widget; every socket of the blocker hears
        of it, the other user never does. Doing it twice changes nothing."""
        refuse_guest(user, "Guests cannot block people: log in first.")
        if remote_user_id == user.remote_user_id:
            raise Invalid("You cannot block yourself.", field="user_id")
        async with self._changes.begin() as uow:
            conn = uow.conn
            found = await conn.run_sync(user_store.by_remote_ids, widget.imba_id, [remote_user_id])
            other = found.get(remote_user_id)
            if other is None:
                raise NotFound(f"No user with user_id {remote_user_id}.", field="user_id")
            if blocked:
                changed = await block_store.add(conn, user.id, other.id, self._clock.now())
            else:
                changed = await block_store.remove(conn, user.id, other.id)
            if changed:
                uow.emit(BlockChanged(widget.imba_id, user.id, remote_user_id, blocked))

    async def blocked_ids(self, user: User) -> list[int]:
        """Host ids of whom the user blocked (for ``ready``)."""
        return await self._db.run_read(lambda conn: block_store.blocked_remote_ids(conn, user.id))

    async def page(self, user: User, after: int | None) -> tuple[list[Profile], int | None]:
        async with self._db.read() as conn:
            return await block_store.page(conn, user.id, after, PAGE)
