"""Who is online: at least one open socket, on any node.

:class:`OnlineStatus` announces a user online when their first socket opens
anywhere, and offline a grace period after their last one closes. It counts
sockets in a :class:`Presence` store: the in-process one counts this node's
sockets; the Redis one keeps, per user, a sorted set of socket keys scored by
expiry, refreshed by each node's heartbeat, so a crashed node's sockets expire by
themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from typing import Any, Protocol

from redis.exceptions import RedisError

from imbachat.domain import User
from imbachat.events import PresenceChanged
from imbachat.unit_of_work import Changes

log = logging.getLogger(__name__)


class Presence(Protocol):
    async def join(self, socket_key: str, user_id: int) -> bool:
        """Count a socket; True when it is the user's first one anywhere."""

    async def leave(self, socket_key: str, user_id: int) -> None:
        """Stop counting a socket."""

    async def online_among(self, user_ids: Iterable[int]) -> set[int]:
        """Those of the users with at least one socket anywhere."""

    async def close(self) -> None: ...


class MemoryPresence:
    def __init__(self) -> None:
        self._sockets: dict[int, set[str]] = {}

    async def join(self, socket_key: str, user_id: int) -> bool:
        sockets = self._sockets.setdefault(user_id, set())
        sockets.add(socket_key)
        return len(sockets) == 1

    async def leave(self, socket_key: str, user_id: int) -> None:
        sockets = self._sockets.get(user_id)
        if sockets is not None:
            sockets.discard(socket_key)
            if not sockets:
                del self._sockets[user_id]

    async def online_among(self, user_ids: Iterable[int]) -> set[int]:
        return {user_id for user_id in user_ids if user_id in self._sockets}

    async def close(self) -> None:
        self._sockets.clear()


class RedisPresence:
    """Presence shared by every node through Redis."""

    def __init__(self, client: Any, ttl_seconds: float = 30.0) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._local: dict[str, int] = {}  # socket key -> user id, refreshed by heartbeat
        self._heartbeat: asyncio.Task[None] | None = None

    @staticmethod
    def _key(user_id: int) -> str:
        return f"imbachat:presence:{user_id}"

    def start(self) -> None:
        self._heartbeat = asyncio.create_task(self._beat(), name="presence-heartbeat")

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._ttl / 3)
            try:
                async with self._client.pipeline(transaction=False) as pipe:
                    expires = time.time() + self._ttl
                    for socket_key, user_id in self._local.items():
                        pipe.zadd(self._key(user_id), {socket_key: expires})
                    await pipe.execute()
            except (RedisError, OSError) as exc:
                log.warning("presence heartbeat failed: %r", exc)

    async def join(self, socket_key: str, user_id: int) -> bool:
        self._local[socket_key] = user_id
        now = time.time()
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.zadd(self._key(user_id), {socket_key: now + self._ttl})
                pipe.zremrangebyscore(self._key(user_id), 0, now)
                pipe.zcard(self._key(user_id))
                _, _, count = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("presence join failed: %r", exc)
            return True
        return int(count) == 1

    async def leave(self, socket_key: str, user_id: int) -> None:
        self._local.pop(socket_key, None)
        try:
            await self._client.zrem(self._key(user_id), socket_key)
        except (RedisError, OSError) as exc:
            log.warning("presence leave failed: %r", exc)

    async def online_among(self, user_ids: Iterable[int]) -> set[int]:
        ids = list(user_ids)
        if not ids:
            return set()
        now = time.time()
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for user_id in ids:
                    pipe.zcount(self._key(user_id), now, "+inf")
                counts = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("presence lookup failed: %r", exc)
            local = set(self._local.values())
            return {user_id for user_id in ids if user_id in local}
        return {user_id for user_id, count in zip(ids, counts, strict=True) if count}

    async def close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        with contextlib.suppress(RedisError, OSError):
            async with self._client.pipeline(transaction=False) as pipe:
                for socket_key, user_id in self._local.items():
                    pipe.zrem(self._key(user_id), socket_key)
                await pipe.execute()
        self._local.clear()


class OnlineStatus:
    """Announces presence changes (``presence`` events) as this node's sockets open
    and close."""

    def __init__(self, store: Presence, changes: Changes, offline_grace: float) -> None:
        self.store = store
        self._changes = changes
        self._grace = offline_grace
        self._going_offline: dict[int, asyncio.Task[None]] = {}

    async def opened(self, socket_key: str, user: User, room_ids: Iterable[int]) -> None:
        """A socket of the user opened on this node."""
        leaving = self._going_offline.pop(user.id, None)
        came_online = await self.store.join(socket_key, user.id)
        if leaving is not None:
            leaving.cancel()  # back within the grace period: nobody saw them leave
        elif came_online:
            await self._announce(user, True, room_ids)

    async def closed(
        self, socket_key: str, user: User, room_ids: Iterable[int], last_here: bool
    ) -> None:
        """A socket of the user closed; ``last_here``: it was their last on this node."""
        await self.store.leave(socket_key, user.id)
        if last_here:
            rooms = set(room_ids)
            self._going_offline[user.id] = asyncio.create_task(self._offline_later(user, rooms))

    async def _offline_later(self, user: User, room_ids: set[int]) -> None:
        await asyncio.sleep(self._grace)
        self._going_offline.pop(user.id, None)
        if not await self.store.online_among([user.id]):
            await self._announce(user, False, room_ids)

    async def _announce(self, user: User, online: bool, room_ids: Iterable[int]) -> None:
        event = PresenceChanged(
            user.imba_id, user.id, user.remote_user_id, online, tuple(sorted(room_ids))
        )
        await self._changes.announce(event)

    async def online_among(self, user_ids: Iterable[int]) -> set[int]:
        return await self.store.online_among(user_ids)

    async def close(self) -> None:
        for task in self._going_offline.values():
            task.cancel()
        self._going_offline.clear()
        await self.store.close()
