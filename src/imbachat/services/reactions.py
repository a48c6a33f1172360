"""Reactions: a member puts an emoji on a message, or takes theirs off."""

from __future__ import annotations

import unicodedata
from dataclasses import replace

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

# What may follow or join pictographs inside one emoji: zero-width joiner, variation
# selector, keycap, tag characters (subdivision flags).
_JOINERS = {0x200D, 0xFE0F, 0xFE0E, 0x20E3}
_KEYCAP_BASES = set("0123456789#*")


def check_emoji(text: str) -> str:
    """One emoji (a sequence as the Unicode emoji set writes it), or Invalid."""
    points = [ord(char) for char in text]
    if not 0 < len(points) <= MAX_EMOJI_CODEPOINTS:
        raise Invalid("emoji must be one emoji.", field="emoji")
    pictographs = 0
    for index, (char, point) in enumerate(zip(text, points, strict=True)):
        category = unicodedata.category(char)
        if category == "So" or 0x1F3FB <= point <= 0x1F3FF:  # skin tones are Sk
            pictographs += 1
        elif point in _JOINERS or 0xE0020 <= point <= 0xE007F:
            continue
        elif char in _KEYCAP_BASES and index == 0 and 0x20E3 in points:
            pictographs += 1
        elif category == "Sm" and point in (0x2194, 0x2195, 0x21A9, 0x21AA, 0x2122, 0x2139):
            pictographs += 1  # a few arrows and letterlikes the emoji set includes
        else:
            raise Invalid("emoji must be one emoji.", field="emoji")
    if pictographs == 0:
        raise Invalid("emoji must be one emoji.", field="emoji")
    return text


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
