"""Keeps users' names and avatars as the host site tells them, in the background,
so a slow or broken host site never delays chat (SPEC §7).

- New users, and users whose profile is older than the cache TTL, are asked for.
- Ids asked within a short window are sent together: one request per widget.
- After three failures in a row a widget's host site is left alone for a while
  (circuit breaking); users then show as "User {id}" until it answers again.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Iterable
from datetime import timedelta

import httpx
import orjson

from imbachat import metrics
from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.domain import Profile, User, Widget
from imbachat.events import UsersUpdated
from imbachat.store import users as user_store
from imbachat.unit_of_work import Changes
from imbachat.webhooks.host_site import HostSite, HostSiteError

log = logging.getLogger(__name__)

GATHER_SECONDS = 0.05
FAILURES_TO_OPEN = 3
OPEN_SECONDS = 30.0

# The process's refreshers (one per app; tests run several), read when scraped.
_OPEN: weakref.WeakSet[ProfileRefresher] = weakref.WeakSet()
metrics.HOST_SITE_BREAKERS_OPEN.set_function(lambda: sum(r.breakers_open() for r in _OPEN))


class ProfileRefresher:
    def __init__(
        self,
        changes: Changes,
        host_site: HostSite,
        cache_seconds: float = 3600.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._changes = changes
        self._clock = clock
        self._host_site = host_site
        self._ttl = timedelta(seconds=cache_seconds)
        self._waiting: dict[int, tuple[Widget, set[int]]] = {}
        self._asked: dict[tuple[int, int], float] = {}
        self._failures: dict[int, int] = {}
        self._open_until: dict[int, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        _OPEN.add(self)

    def breakers_open(self) -> int:
        """Widgets whose host site is being left alone now."""
        now = self._clock.monotonic()
        return sum(1 for until in self._open_until.values() if until > now)

    def stale(self, users: Iterable[User]) -> list[int]:
        """Host ids of these users whose profile is missing or older than the TTL."""
        oldest = self._clock.now() - self._ttl
        return [
            u.remote_user_id
            for u in users
            if not u.is_bot and (u.info_fetched_at is None or u.info_fetched_at < oldest)
        ]

    def schedule(self, widget: Widget, remote_ids: Iterable[int]) -> None:
        """Ask the host site about these users soon; returns at once."""
        if not widget.users_info_url:
            return
        now = self._clock.monotonic()
        if self._open_until.get(widget.imba_id, 0.0) > now:
            return
        recently = now - min(self._ttl.total_seconds(), 300.0)
        fresh = [i for i in remote_ids if self._asked.get((widget.imba_id, i), -1e18) < recently]
        if not fresh:
            return
        for remote_id in fresh:
            self._asked[(widget.imba_id, remote_id)] = now
        if len(self._asked) > 200_000:
            self._asked = {k: t for k, t in self._asked.items() if t > recently}
        if widget.imba_id in self._waiting:
            self._waiting[widget.imba_id][1].update(fresh)
            return
        self._waiting[widget.imba_id] = (widget, set(fresh))
        task = asyncio.create_task(self._flush_soon(widget.imba_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush_soon(self, imba_id: int) -> None:
        await asyncio.sleep(GATHER_SECONDS)
        widget, ids = self._waiting.pop(imba_id)
        await self.refresh(widget, sorted(ids))

    async def refresh(self, widget: Widget, remote_ids: list[int]) -> None:
        try:
            profiles = await self._host_site.fetch_profiles(widget, remote_ids)
        except (httpx.HTTPError, HostSiteError) as exc:
            self._failed(widget.imba_id, exc)
            return
        self._failures.pop(widget.imba_id, None)
        if not profiles:
            return
        now = self._clock.now()
        async with self._changes.begin() as uow:
            conn = uow.conn
            known = await conn.run_sync(
                user_store.by_remote_ids, widget.imba_id, [p.remote_user_id for p in profiles]
            )
            for profile in profiles:
                user = known.get(profile.remote_user_id)
                if user is None:
                    continue
                await user_store.set_profile(
                    conn,
                    user.id,
                    name=profile.name,
                    avatar_url=profile.avatar_url,
                    status=profile.status,
                    profile_url=profile.extra.get("profile_url"),
                    user_data=orjson.dumps(profile.extra).decode() if profile.extra else None,
                    now=now,
                )
            updated = await conn.run_sync(
                user_store.by_remote_ids, widget.imba_id, [p.remote_user_id for p in profiles]
            )
            uow.emit(UsersUpdated(widget.imba_id, tuple(updated.values())))

    async def search(self, widget: Widget, text: str) -> list[Profile]:
        """Who the host site's Users search URL finds; [] when it has none, fails or
        is being left alone after failures (a search never waits on a broken site
        longer than the host timeout)."""
        if not widget.users_search_url:
            return []
        if self._open_until.get(widget.imba_id, 0.0) > self._clock.monotonic():
            return []
        try:
            found = await self._host_site.search_users(widget, text)
        except (httpx.HTTPError, HostSiteError) as exc:
            self._failed(widget.imba_id, exc)
            return []
        self._failures.pop(widget.imba_id, None)
        return found

    def _failed(self, imba_id: int, exc: Exception) -> None:
        failures = self._failures.get(imba_id, 0) + 1
        self._failures[imba_id] = failures
        log.warning("host site of widget %s failed (%d in a row): %r", imba_id, failures, exc)
        if failures >= FAILURES_TO_OPEN:
            self._open_until[imba_id] = self._clock.monotonic() + OPEN_SECONDS
            self._failures.pop(imba_id, None)

    async def close(self) -> None:
        _OPEN.discard(self)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self._host_site.close()
