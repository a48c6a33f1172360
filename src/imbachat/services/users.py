"""Users of the host site, as each widget knows them."""

from __future__ import annotations

from collections.abc import Sequence

from imbachat.clock import utcnow
from imbachat.domain import Page, Slice, User, UserQuery, Widget
from imbachat.errors import NotFound
from imbachat.services.profiles import ProfileRefresher
from imbachat.store import users as user_store
from imbachat.store.db import Database


class UserService:
    def __init__(self, db: Database, profiles: ProfileRefresher) -> None:
        self._db = db
        self._profiles = profiles

    async def ensure(self, widget: Widget, remote_ids: Sequence[int]) -> list[User]:
        """The users with these host ids, created when not yet known (their names
        are then asked of the host site in the background)."""
        known = await self._db.run_read(
            lambda conn: user_store.by_remote_ids(conn, widget.imba_id, remote_ids)
        )
        if all(remote_id in known for remote_id in remote_ids):
            found = [known[remote_id] for remote_id in remote_ids]
            self._profiles.schedule(widget, self._profiles.stale(found))
            return found
        async with self._db.write() as conn:
            found, created = await user_store.ensure(conn, widget.imba_id, remote_ids, utcnow())
        self._profiles.schedule(widget, [user.remote_user_id for user in created])
        return found

    async def get(self, widget: Widget, remote_id: int) -> User:
        found = await self._db.run_read(
            lambda conn: user_store.by_remote_ids(conn, widget.imba_id, [remote_id])
        )
        if remote_id not in found:
            raise NotFound(f"No user with user_id {remote_id} in this widget.", field="user_id")
        return found[remote_id]

    async def find(self, widget: Widget, query: UserQuery, page: Page) -> Slice[User]:
        async with self._db.read() as conn:
            return await user_store.find(conn, widget.imba_id, query, page)
