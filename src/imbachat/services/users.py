"""Users of the host site, as each widget knows them."""

from __future__ import annotations

from collections.abc import Sequence

from imbachat.auth.tokens import UserToken
from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.domain import Page, Profile, Slice, User, UserQuery, Widget
from imbachat.errors import Invalid, NotFound, Unauthorized
from imbachat.render import display_name
from imbachat.services.profiles import ProfileRefresher
from imbachat.services.rooms import refuse_guest
from imbachat.store import users as user_store
from imbachat.store.db import Database

SEARCH_LIMIT = 20
MAX_SEARCH_TEXT = 100


class UserService:
    def __init__(
        self, db: Database, profiles: ProfileRefresher, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self._db = db
        self._profiles = profiles
        self._clock = clock

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
            found, created = await user_store.ensure(
                conn, widget.imba_id, remote_ids, self._clock.now()
            )
        self._profiles.schedule(widget, [user.remote_user_id for user in created])
        return found

    async def of_token(self, widget: Widget, token: UserToken) -> User:
        """The user a verified token names: a host site's user (created when new) or
        one of the widget's guests (while guests are welcome)."""
        if token.guest_id is None:
            assert token.remote_user_id is not None
            [user] = await self.ensure(widget, [token.remote_user_id])
            return user
        guest_id = token.guest_id
        guest = await self._db.run_read(
            lambda conn: user_store.guest(conn, widget.imba_id, guest_id)
        )
        if guest is None or not widget.guests_enabled:
            raise Unauthorized("This guest session is over: log in, or start a new one.")
        return guest

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

    async def search(self, widget: Widget, viewer: User, text: str) -> list[Profile]:
        """People the viewer may write to, for ``text``: those they share a room with
        whose name contains it (or whose host id it is), then whoever the host site's
        Users search URL finds. The whole widget is never listed: whom else to show is
        the site's to decide."""
        refuse_guest(viewer, "Guests cannot look people up: log in first.")
        text = text.strip()
        if not text or len(text) > MAX_SEARCH_TEXT:
            raise Invalid(f"text is 1 to {MAX_SEARCH_TEXT} characters.", field="text")
        contacts = await self._db.run_read(
            lambda conn: user_store.search_contacts(
                conn, widget.imba_id, viewer.id, text, SEARCH_LIMIT
            )
        )
        found = {
            user.remote_user_id: Profile(
                user.remote_user_id, display_name(user), user.avatar_url, user.status, {}
            )
            for user in contacts
        }
        for profile in await self._profiles.search(widget, text):
            if profile.remote_user_id != viewer.remote_user_id:
                found.setdefault(profile.remote_user_id, profile)
        return list(found.values())[:SEARCH_LIMIT]
