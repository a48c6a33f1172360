"""Keeps users' names and avatars as the host site tells them, in the background,
so a slow or broken host site never delays chat."""

from __future__ import annotations

import asyncio
import logging

import httpx
import orjson

from imbachat import events
from imbachat.bus.base import Bus
from imbachat.clock import utcnow
from imbachat.domain import Widget
from imbachat.store import users as user_store
from imbachat.store.db import Database
from imbachat.webhooks.host_site import HostSite

log = logging.getLogger(__name__)


class ProfileRefresher:
    def __init__(self, db: Database, bus: Bus, host_site: HostSite) -> None:
        self._db = db
        self._bus = bus
        self._host_site = host_site
        self._tasks: set[asyncio.Task[None]] = set()

    def schedule(self, widget: Widget, remote_ids: list[int]) -> None:
        """Fetch these users' profiles soon; returns at once."""
        if not widget.users_info_url or not remote_ids:
            return
        task = asyncio.create_task(self.refresh(widget, remote_ids))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def refresh(self, widget: Widget, remote_ids: list[int]) -> None:
        try:
            profiles = await self._host_site.fetch_profiles(widget, remote_ids)
        except httpx.HTTPError as exc:
            log.warning("users info URL of widget %s failed: %r", widget.imba_id, exc)
            return
        if not profiles:
            return
        now = utcnow()
        async with self._db.write() as conn:
            known = await user_store.by_remote_ids(
                conn, widget.imba_id, [p.remote_user_id for p in profiles]
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
                    user_data=orjson.dumps(profile.extra).decode() if profile.extra else None,
                    now=now,
                )
            updated = await user_store.by_remote_ids(
                conn, widget.imba_id, [p.remote_user_id for p in profiles]
            )
        await self._bus.publish(events.users_updated(widget.imba_id, updated.values()))

    async def wait_idle(self) -> None:
        """Wait for every scheduled refresh (used at shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.wait_idle()
        await self._host_site.close()
