"""Reactions: a member puts an emoji on a message, or takes theirs off."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path

import orjson

from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.domain import Message, Widget
from imbachat.errors import Forbidden, Invalid, NotFound, TooLarge
from imbachat.events import MessageReacted
from imbachat.files.links import FileLinks
from imbachat.services.members import require_member
from imbachat.services.moderation import ModerationService
from imbachat.states import RoomStatus, RoomType, UserStatus
from imbachat.store import messages as message_store
from imbachat.store import reactions as reaction_store
from imbachat.store import users as user_store
from imbachat.unit_of_work import Changes

MAX_DISTINCT = 20  # different emoji on one message: a row of chips, not a wall
MAX_EMOJI_CODEPOINTS = 16  # the longest emoji sequences (families, flags of regions)

_DATA = Path(__file__).resolve().parent.parent / "widget" / "emoji" / "data.json"
_SKIN_TONES = "".join(chr(point) for point in range(0x1F3FB, 0x1F400))
_VARIATIONS = "\ufe0e\ufe0f"


@cache
def _known() -> frozenset[str]:
    """Every emoji of the Unicode emoji set, as the picker lists them (the widget's
    data file), with variation selectors left out so either form compares equal.
    Read from the list, not from ``unicodedata``: Python's Unicode tables lag the
    emoji set by years (Python 3.11 knows none of Emoji 15-17)."""
    groups = orjson.loads(_DATA.read_bytes())["groups"]
    return frozenset(_bare(entry[0]) for group in groups for entry in group["emoji"])


def _bare(text: str) -> str:
    return text.translate({ord(char): None for char in _VARIATIONS})


def check_emoji(text: str) -> str:
    """One emoji of the Unicode set (any skin tone), or Invalid."""
    if not 0 < len(text) <= MAX_EMOJI_CODEPOINTS:
        raise Invalid("emoji must be one emoji.", field="emoji")
    bare = _bare(text)
    if bare in _known() or bare.translate({ord(c): None for c in _SKIN_TONES}) in _known():
        return text
    raise Invalid("emoji must be one emoji.", field="emoji")


class ReactionService:
    def __init__(
        self,
        changes: Changes,
        moderation: ModerationService,
        links: FileLinks,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._changes = changes
        self._moderation = moderation
        self._links = links
        self._clock = clock

    async def react(
        self,
        widget: Widget,
        remote_user_id: int,
        message_id: int,
        emoji: str,
        *,
        remove: bool = False,
    ) -> Message:
        """Add (or take off) a user's reaction; the room sees the message's reactions
        as they are now. Members who may send may react; nothing changes twice."""
        check_emoji(emoji)
        async with self._changes.begin() as uow:
            conn = uow.conn
            found = await conn.run_sync(user_store.by_remote_ids, widget.imba_id, [remote_user_id])
            user = found.get(remote_user_id)
            if user is None:
                raise NotFound(f"No user with user_id {remote_user_id}.", field="user_id")
            message = await message_store.get(conn, widget.imba_id, message_id)
            if message is None or message.deleted_at is not None:
                raise NotFound(f"No message with id {message_id}.", field="message_id")
            room, member = await conn.run_sync(require_member, widget, message.room_id, user)
            self._moderation.check_may_send(user, member)
            if (
                user.status == UserStatus.GUEST
                and room.type != RoomType.SUPPORT
                and not widget.guests_write_public
            ):
                raise Forbidden("Guests may react where they may write: log in first.")
            if room.status != RoomStatus.OPEN:
                raise Forbidden("This room is closed.", field="room_id")
            if remove:
                changed = await reaction_store.remove(conn, message.id, user.id, emoji)
            else:
                present = await reaction_store.distinct_emoji(conn, message.id)
                if emoji not in present and len(present) >= MAX_DISTINCT:
                    raise TooLarge(
                        f"This message has {MAX_DISTINCT} different reactions already:"
                        " add one of those.",
                        field="emoji",
                    )
                changed = await reaction_store.add(
                    conn, message.id, user.id, emoji, self._clock.now()
                )
            if not changed:
                return self._links.message(widget.secret_key, message)
            summary = await reaction_store.summarize(conn, message.id)
            reacted = self._links.message(widget.secret_key, replace(message, reactions=summary))
            uow.emit(MessageReacted(reacted, user.id, user.remote_user_id, emoji, remove))
        return reacted
