"""Named states: room types and statuses, member roles and states, user statuses,
e-mail choices, webhook delivery statuses, report statuses.

Each is an ``IntEnum`` or ``StrEnum`` whose values are exactly what the database
stores and the API shows (``type: 3``, ``"status": "admin"``), so naming them
changes no stored row and no byte on the wire. The store hands them out as these
enums (see ``store.schema``).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class RoomType(IntEnum):
    DIALOG = 0
    CONFERENCE = 1
    SUPPORT = 3  # a visitor with the site's operators (2 is not used by ImbaChat)


class RoomStatus(IntEnum):
    OPEN = 0
    CLOSED = 1  # nobody can send; a support room reopens when its visitor asks again


class MemberRole(StrEnum):
    MEMBER = "member"
    MODERATOR = "moderator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {MemberRole.MEMBER: 0, MemberRole.MODERATOR: 1, MemberRole.ADMIN: 2}


class MemberState(IntEnum):
    ACTIVE = 0
    LEFT = 1  # left or removed; coming back reactivates the same row


class UserStatus(StrEnum):
    USER = "user"
    ADMIN = "admin"  # the host site's chat_role admin: an operator of support rooms
    GUEST = "guest"  # a visitor without a host-site account (a negative remote_user_id)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # retried for a day without a 2xx answer


class EmailChoice(StrEnum):
    """Which messages a user wants e-mailed while they are away."""

    ALL = "all"
    MENTIONS = "mentions"  # only those that mention them
    NEVER = "never"


class ReportStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"  # the owner acted on it (the message deleted, the author banned)
    DISMISSED = "dismissed"  # the owner found nothing wrong


class ReportOutcome(StrEnum):
    """What resolving a report did besides closing it."""

    NOTHING = "nothing"
    MESSAGE_DELETED = "message_deleted"
    AUTHOR_BANNED = "author_banned"


class CopyState(StrEnum):
    """How far ``imbachat copy-db`` (or ``restore``) got with a table of its target."""

    COPYING = "copying"  # rows up to copy_progress.last_key are in; the rest are not
    COPIED = "copied"  # every row is in; the counts are not verified yet
    COMPLETE = "complete"  # the whole copy was verified: the database may be used


class CallKind(StrEnum):
    AUDIO = "audio"
    VIDEO = "video"


class CallState(StrEnum):
    RINGING = "ringing"  # placed; the callee's tabs ring
    ACTIVE = "active"  # answered: the browsers connect and talk
    ENDED = "ended"


class CallChange(StrEnum):
    """What a ``call`` frame tells of a call (the name of the event it comes from)."""

    STARTED = "started"
    ANSWERED = "answered"
    RESUMED = "resumed"
    ENDED = "ended"


class CallOutcome(StrEnum):
    """How a call ended."""

    COMPLETED = "completed"  # answered, then hung up
    MISSED = "missed"  # not answered in time
    DECLINED = "declined"
    BUSY = "busy"  # the callee was in another call
    FAILED = "failed"  # a party's connection was lost (or never made) and did not come back
    CANCELLED = "cancelled"  # the caller hung up before an answer
