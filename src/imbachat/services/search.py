"""Message search: who may find what, and pages of ranked results (docs/search.md).

A member finds the live messages of the rooms they are an active member of and not
banned in; the site (REST, no user named) those of the whole widget. Results are
ordered by relevance, the newest first among equals, and paged with an opaque
cursor (the last result's score and id).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.domain import Message, TimeRange, User, Widget
from imbachat.errors import Forbidden, Invalid, NotFound, TooLarge
from imbachat.services.files import FileService
from imbachat.services.members import existing_room, require_member
from imbachat.store import rooms as room_store
from imbachat.store import search as search_store
from imbachat.store import users as user_store
from imbachat.store.db import Database
from imbachat.store.search import RoomRef
from imbachat.store.search_index import SearchIndexer

MAX_TEXT = 200
MAX_LIMIT = 50
DEFAULT_LIMIT = 20
# How long a word is known to be common (or not): words' counts change slowly.
COMMON_WORDS_SECONDS = 600.0
COMMON_WORDS_KEPT = 10_000
# Chunks of new messages a search indexes before it reads (SQLite; see
# store.search_index): all of them but after a bulk import.
CATCH_UP_CHUNKS = 5

_CURSOR = re.compile(r"(-?\d{1,18}):(\d{1,19})")


@dataclass(frozen=True, slots=True)
class SearchRequest:
    text: str
    room_id: int | None = None
    before: str | None = None  # the ``next`` of the previous page
    limit: int = DEFAULT_LIMIT
    date: TimeRange | None = None  # when the messages were sent


@dataclass(frozen=True, slots=True)
class SearchResult:
    message: Message
    room: RoomRef


@dataclass(frozen=True, slots=True)
class SearchPage:
    results: list[SearchResult]
    next: str | None  # the cursor of the following page; None on the last


def check_text(text: str) -> str:
    """The query as typed, 1 to MAX_TEXT characters, not blank."""
    if not text.strip():
        raise Invalid("Type something to search for.", field="text")
    if len(text) > MAX_TEXT:
        raise TooLarge(f"Search for at most {MAX_TEXT} characters.", field="text")
    if "\x00" in text:
        raise Invalid("The text must not contain NUL characters.", field="text")
    return text


def _cursor(hit: search_store.Hit) -> str:
    return f"{hit.score}:{hit.message_id}"


def _position(cursor: str | None, field: str) -> tuple[int, int] | None:
    if cursor is None:
        return None
    matched = _CURSOR.fullmatch(cursor)
    if matched is None:
        raise Invalid(f"{field} must be the next cursor of a previous search.", field=field)
    return int(matched[1]), int(matched[2])


class SearchService:
    def __init__(
        self,
        db: Database,
        files: FileService,
        index: SearchIndexer,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._db = db
        self.index = index
        self._files = files
        self._clock = clock
        self._common: dict[str, tuple[bool, float]] = {}  # word -> (common, until)

    async def search(
        self, widget: Widget, user: User | None, request: SearchRequest, *, cursor_field: str
    ) -> SearchPage:
        """A page of the messages matching ``request.text`` that ``user`` may read
        (``None``: the site, who reads the whole widget). ``cursor_field`` names the
        request's cursor in errors (``before`` on sockets, ``after`` in REST)."""
        text = check_text(request.text)
        limit = max(1, min(request.limit, MAX_LIMIT))
        before = _position(request.before, cursor_field)
        if not search_store.words(text):  # only punctuation or symbols: nothing to match
            return SearchPage([], None)
        # What was just sent is found, though the index follows the writer.
        await self.index.catch_up(most=CATCH_UP_CHUNKS)
        # Not run_read: on SQLite that runs on the event loop, and a search of a
        # common word reads for milliseconds; this connection works in its thread.
        async with self._db.read() as conn:
            scope = await self._scope(conn, widget, user, request)
            if scope is None:
                return SearchPage([], None)
            rank = await self._worth_ranking(conn, text)
            hits = await search_store.ranked(conn, text, scope, before, limit + 1, rank=rank)
            found = await search_store.found(conn, [hit.message_id for hit in hits[:limit]])
        signed = await self._files.signed([message for message, _ in found])
        results = [SearchResult(m, room) for m, (_, room) in zip(signed, found, strict=True)]
        return SearchPage(results, _cursor(hits[limit - 1]) if len(hits) > limit else None)

    async def search_for_site(
        self, widget: Widget, remote_user_id: int | None, request: SearchRequest
    ) -> SearchPage:
        """The REST search: in one user's rooms (a host id), or the whole widget."""
        user = None
        if remote_user_id is not None:
            async with self._db.read() as conn:
                known = await conn.run_sync(
                    user_store.by_remote_ids, widget.imba_id, [remote_user_id]
                )
            user = known.get(remote_user_id)
            if user is None:
                raise NotFound(f"No user with user_id {remote_user_id}.", field="user_id")
        return await self.search(widget, user, request, cursor_field="after")

    async def _worth_ranking(self, conn: AsyncConnection, text: str) -> bool:
        """SQLite: False when a word is so common that weighing it would cost more
        than the rest of the search (see ``store.search.COMMON_WORD``)."""
        if not self._db.is_sqlite:
            return True
        now = self._clock.monotonic()
        for word in search_store.words(text):
            common, until = self._common.get(word, (False, 0.0))
            if until <= now:
                if len(self._common) >= COMMON_WORDS_KEPT:
                    self._common.clear()
                common = await search_store.is_common(conn, word)
                self._common[word] = (common, now + COMMON_WORDS_SECONDS)
            if common:
                return False
        return True

    async def _scope(
        self, conn: AsyncConnection, widget: Widget, user: User | None, request: SearchRequest
    ) -> search_store.Scope | None:
        """Where this request may look; None when that is nowhere."""
        imba_id, date = widget.imba_id, request.date
        if request.room_id is not None:
            if user is None:
                found = await room_store.get(conn, imba_id, request.room_id)
                room = existing_room(found, request.room_id)
            else:
                room, member = await conn.run_sync(require_member, widget, request.room_id, user)
                if member.is_banned:
                    raise Forbidden("You are banned in this room.", field="room_id")
            return search_store.Scope(imba_id, room_ids=(room.id,), date=date)
        if user is None:
            return search_store.Scope(imba_id, date=date)
        limit = search_store.MAX_ROOM_TERMS
        rooms = await search_store.rooms_of(conn, user.id, limit + 1)
        if not rooms:
            return None
        if len(rooms) > limit:
            return search_store.Scope(imba_id, viewer_id=user.id, date=date)
        return search_store.Scope(imba_id, room_ids=tuple(rooms), date=date)
