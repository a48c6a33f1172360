"""People who are away: a message that waits unread longer than the widget's delay,
for a member with no open socket, is told of once (a ``message.unread`` notice)
for its quiet period, however many messages came in it.

Nothing is kept in memory: what is due is read from the messages, read marks and
each user's mark (until when they were told), so a restart loses nothing; every
node looks, and a notice goes out from the node whose move of the mark lands
(compare-and-set in the notice's own transaction), so never twice.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from functools import partial

import orjson

from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.domain import User
from imbachat.events import MessagesUnread
from imbachat.mail.digest import Digest, compose, unsubscribe_signature
from imbachat.mail.sender import Mailer
from imbachat.services.files import FileService
from imbachat.services.widgets import WidgetService
from imbachat.states import EmailChoice
from imbachat.store import away as away_store
from imbachat.store.db import Database
from imbachat.unit_of_work import Changes

log = logging.getLogger(__name__)

LATEST = 10  # messages a notice shows
LOOKBACK = timedelta(days=1)  # rooms quiet for longer are not looked at again
OnlineAmong = Callable[[Iterable[int]], Awaitable[set[int]]]


class AwayNotifier:
    def __init__(
        self,
        db: Database,
        changes: Changes,
        files: FileService,
        online_among: OnlineAmong,
        default_seconds: int,
        clock: Clock = SYSTEM_CLOCK,
        *,
        widgets: WidgetService | None = None,
        mailer: Mailer | None = None,
        public_url: str = "",
    ) -> None:
        self._db = db
        self._widgets = widgets
        self._mailer = mailer
        self._public_url = public_url.rstrip("/")
        self._changes = changes
        self._files = files
        self._online_among = online_among
        self._default = default_seconds
        self._clock = clock
        self._sending: set[asyncio.Task[None]] = set()

    async def run_once(self) -> int:
        """Send the notices that are due; returns how many this node sent."""
        now = self._clock.now()
        due: dict[int, datetime | None] = {}
        for delay in await self._db.run_read(away_store.delays):
            seconds = self._default if delay is None else delay
            due_before = now - timedelta(seconds=seconds)
            due.update(await self._db.run_read(partial(away_store.due, delay=delay,
                       due_before=due_before, active_since=due_before - LOOKBACK)))  # fmt: skip
        if not due:
            return 0
        online = await self._online_among(due)
        sent = 0
        for user_id, seen in due.items():
            if user_id not in online and await self._notify(user_id, seen, now):
                sent += 1
        return sent

    async def _notify(self, user_id: int, seen: datetime | None, now: datetime) -> bool:
        async with self._changes.begin() as uow:
            if not await away_store.claim(uow.conn, user_id, seen, now):
                return False  # another node tells them
            user, count, latest, mentions = await away_store.unread_of(uow.conn, user_id, LATEST)
            if user is None or not count:
                return False  # read meanwhile: the mark moved, there is nothing to tell
            signed = await self._files.signed(latest)
            notice = MessagesUnread(user.imba_id, user, count, tuple(signed), mentions)
            uow.emit(notice)
        # After the commit, so only the node that claimed it; in a task of its own, so
        # a slow or failing mail server holds up no other notice.
        sending = asyncio.create_task(self._email(notice), name="away-email")
        self._sending.add(sending)
        sending.add_done_callback(self._sending.discard)
        return True

    async def _email(self, notice: MessagesUnread) -> None:
        """The digest, to the address the host site gave for the user, if they want
        every message e-mailed, or only mentions and some message mentions them."""
        user = notice.user
        address = email_of(user)
        if self._mailer is None or self._widgets is None or address is None:
            return
        wanted = user.email_notify == EmailChoice.ALL or (
            user.email_notify == EmailChoice.MENTIONS and notice.mention_count > 0
        )
        if not wanted:
            return
        widget = await self._widgets.recent(user.imba_id)
        latest_room = notice.messages[-1].room_id if notice.messages else 0
        chat_url = (
            widget.email_link_url.replace("{room_id}", str(latest_room))
            if widget.email_link_url
            else None
        )
        signature = unsubscribe_signature(widget.secret_key, widget.imba_id, user.remote_user_id)
        unsubscribe = (
            f"{self._public_url}/imbachat/v1/{widget.imba_id}/unsubscribe"
            f"?user_id={user.remote_user_id}&signature={signature}"
        )
        digest = Digest(
            address, user, notice.unread_count, notice.messages, widget.language, chat_url,
            unsubscribe,
        )  # fmt: skip
        await self._mailer.send(compose(digest))

    async def run_forever(self, every_seconds: float) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("telling away users of unread messages failed; trying again")
            await asyncio.sleep(every_seconds)


_ADDRESS = re.compile(r"[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+")


def email_of(user: User) -> str | None:
    """The address the host site gave for the user (its Users info URL's ``email``)."""
    if not user.user_data:
        return None
    try:
        given = orjson.loads(user.user_data).get("email")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    if isinstance(given, str) and len(given) <= 254 and _ADDRESS.fullmatch(given):
        return given
    return None
