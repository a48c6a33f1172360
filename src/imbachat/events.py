"""What happens in a widget: one dataclass per event, with the records it carries.

Services emit these through a unit of work (:mod:`imbachat.unit_of_work`); three
modules translate them, each into one public or internal shape and nowhere else:

- :mod:`imbachat.realtime.frames`: the socket frame, and who gets it;
- :mod:`imbachat.webhooks.bodies`: the webhook body (only for webhook events);
- :mod:`imbachat.bus.codec`: bytes between nodes, and back.

Ids follow one rule: ``user_id`` is imbachat's id of a user, ``remote_user_id`` the
host site's. The wire names (``user_id`` is the host's there, ``member_id`` ours)
are the translations' business.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from imbachat.domain import Call, Message, ReportView, Room, User
from imbachat.states import CallChange, EmailChoice, MemberRole


class Event:
    """Base of every event. ``name`` is the event's public name (webhooks, logs);
    each subclass is registered under it, which is how the bus decodes events."""

    __slots__ = ()
    name: ClassVar[str]
    by_name: ClassVar[dict[str, type[Event]]] = {}

    if TYPE_CHECKING:  # fields or properties of every event

        @property
        def imba_id(self) -> int: ...

        @property
        def room_id(self) -> int | None: ...

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        if "name" in cls.__dict__:
            # A slots dataclass is created twice; the last class made is the one used.
            Event.by_name[cls.name] = cls


class _OfMessage(Event):
    """An event about a stored message: its widget and room are the message's."""

    __slots__ = ()
    if TYPE_CHECKING:
        message: Message

    @property
    def imba_id(self) -> int:
        return self.message.imba_id

    @property
    def room_id(self) -> int:
        return self.message.room_id


class _OfRoom(Event):
    """An event about a room as stored: its widget and room are the room's."""

    __slots__ = ()
    if TYPE_CHECKING:
        room: Room

    @property
    def imba_id(self) -> int:
        return self.room.imba_id

    @property
    def room_id(self) -> int:
        return self.room.id


class _OfWidget(Event):
    """An event of the whole widget, no room."""

    __slots__ = ()

    @property
    def room_id(self) -> None:
        return None


# ---- messages -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageNew(_OfMessage):
    name = "message.new"
    message: Message
    origin: str | None = None  # the socket that sent it ("node:socket"): it gets an ack


@dataclass(frozen=True, slots=True)
class MessageEdited(_OfMessage):
    name = "message.edited"
    message: Message


@dataclass(frozen=True, slots=True)
class MessageReacted(_OfMessage):
    """A member put an emoji on a message or took theirs off; ``message`` carries
    the reactions as they are now."""

    name = "message.reaction"
    message: Message
    user_id: int
    remote_user_id: int
    emoji: str
    removed: bool


@dataclass(frozen=True, slots=True)
class MessageReported(Event):
    """A member reported a message: the owner's queue (webhooks) and the room's
    admins and moderators (``staff_ids``, our ids) hear of it."""

    name = "message.reported"
    report: ReportView
    staff_ids: tuple[int, ...]

    @property
    def imba_id(self) -> int:
        return self.report.report.imba_id

    @property
    def room_id(self) -> int:
        return self.report.report.room_id


@dataclass(frozen=True, slots=True)
class MessageDeleted(Event):
    name = "message.deleted"
    imba_id: int
    room_id: int
    message_id: int
    seq: int
    author_id: int


# ---- rooms and members ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoomCreated(_OfRoom):
    name = "room.created"
    room: Room
    member_ids: tuple[int, ...]  # the users it was created with


@dataclass(frozen=True, slots=True)
class MembersAdded(_OfRoom):
    name = "member.added"
    room: Room
    users: tuple[User, ...]


@dataclass(frozen=True, slots=True)
class MemberRemoved(Event):
    name = "member.removed"
    imba_id: int
    room_id: int
    user_id: int
    remote_user_id: int


@dataclass(frozen=True, slots=True)
class MemberRoleChanged(Event):
    name = "member.role"
    imba_id: int
    room_id: int
    user_id: int
    remote_user_id: int
    role: MemberRole


@dataclass(frozen=True, slots=True)
class RoomClosed(_OfRoom):
    name = "room.closed"
    room: Room


@dataclass(frozen=True, slots=True)
class RoomReopened(_OfRoom):
    name = "room.reopened"
    room: Room


@dataclass(frozen=True, slots=True)
class PinChanged(Event):
    """A conference's pinned message changed (``message`` None: unpinned)."""

    name = "room.pinned"
    imba_id: int
    room_id: int
    message: Message | None


# ---- moderation -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Moderated(Event):
    """A ban, unban or mute of a user, in a room or (``room_id`` None) in the widget."""

    imba_id: int
    room_id: int | None
    user_id: int
    remote_user_id: int
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class UserBanned(Moderated):
    name = "user.banned"


@dataclass(frozen=True, slots=True)
class UserUnbanned(Moderated):
    name = "user.unbanned"


@dataclass(frozen=True, slots=True)
class MemberMuted(Moderated):
    name = "member.muted"


# ---- what people do and who they are ------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReadMarked(Event):
    name = "read"
    imba_id: int
    room_id: int
    user_id: int
    remote_user_id: int
    seq: int


@dataclass(frozen=True, slots=True)
class Typing(Event):
    name = "typing"
    imba_id: int
    room_id: int
    user_id: int
    remote_user_id: int


@dataclass(frozen=True, slots=True)
class PresenceChanged(_OfWidget):
    name = "presence"
    imba_id: int
    user_id: int
    remote_user_id: int
    online: bool
    room_ids: tuple[int, ...]  # the user's rooms: their members are told


@dataclass(frozen=True, slots=True)
class UsersUpdated(_OfWidget):
    name = "user.updated"
    imba_id: int
    users: tuple[User, ...]  # new names, avatars or statuses from the host site


@dataclass(frozen=True, slots=True)
class AlertsChanged(Event):
    """A user changed how they are told of messages: e-mails, or a room's alerts
    (sockets only: every tab of theirs follows)."""

    name = "alerts.changed"
    imba_id: int
    user_id: int
    email: EmailChoice
    room_id: int | None = None
    muted: bool | None = None  # the room's alerts, when room_id is given


@dataclass(frozen=True, slots=True)
class BlockChanged(_OfWidget):
    """A user blocked or unblocked another (sockets only: the blocker's tabs)."""

    name = "block.changed"
    imba_id: int
    user_id: int  # who blocked
    blocked_remote_user_id: int
    blocked: bool


@dataclass(frozen=True, slots=True)
class MessagesUnread(_OfWidget):
    """Messages waited unread for a user who was away (no open socket) longer than
    the widget's delay: one notice per quiet period (webhooks, and e-mail)."""

    name = "message.unread"
    imba_id: int
    user: User
    unread_count: int
    messages: tuple[Message, ...]  # the latest, oldest first
    mention_count: int = 0  # of the unread, how many mention the user


@dataclass(frozen=True, slots=True)
class UserErased(_OfWidget):
    """A user was erased on request (services/privacy.py): their messages show as
    deleted, they left ``room_ids`` (whose members are told at once), and nothing
    of their profile is kept. ``remote_user_id`` is the host id they had."""

    name = "user.erased"
    imba_id: int
    user_id: int
    remote_user_id: int
    erased_at: datetime
    messages: int  # of theirs, emptied by the erasure
    room_ids: tuple[int, ...]


# ---- guests ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GuestCreated(_OfWidget):
    """A visitor without an account started a guest session (webhooks only)."""

    name = "guest.created"
    user: User

    @property
    def imba_id(self) -> int:
        return self.user.imba_id


@dataclass(frozen=True, slots=True)
class GuestConverted(_OfWidget):
    """A guest logged in on the site: their conversations are the member's now
    (webhooks only; sockets see the member join and the guest leave)."""

    name = "guest.converted"
    guest: User
    user: User

    @property
    def imba_id(self) -> int:
        return self.user.imba_id


# ---- calls ------------------------------------------------------------------------------


class _OfCall(Event):
    """A call changed state (its parties' sockets get the ``call`` frame)."""

    __slots__ = ()
    if TYPE_CHECKING:
        call: Call
        change: ClassVar[CallChange]

    @property
    def imba_id(self) -> int:
        return self.call.imba_id

    @property
    def room_id(self) -> int:
        return self.call.room_id


@dataclass(frozen=True, slots=True)
class CallStarted(_OfCall):
    """A member of a dialog called the other: their tabs ring."""

    name = "call.started"
    change = CallChange.STARTED
    call: Call


@dataclass(frozen=True, slots=True)
class CallAnswered(_OfCall):
    """A tab of the callee answered (sockets only)."""

    name = "call.answered"
    change = CallChange.ANSWERED
    call: Call


@dataclass(frozen=True, slots=True)
class CallResumed(_OfCall):
    """A party is back in the call from a new socket, after a reconnect (sockets only)."""

    name = "call.resumed"
    change = CallChange.RESUMED
    call: Call


@dataclass(frozen=True, slots=True)
class CallEnded(_OfCall):
    """A call ended (``call.outcome`` says how); its record is in the dialog."""

    name = "call.ended"
    change = CallChange.ENDED
    call: Call


@dataclass(frozen=True, slots=True)
class CallSignalled(Event):
    """What one browser of a call tells the other to connect (an SDP offer or answer,
    an ICE candidate), for the other party's socket in the call only (sockets only,
    never stored)."""

    name = "call.signal"
    imba_id: int
    room_id: int
    call_id: int
    to_user_id: int
    to_socket: str  # "node:socket"
    from_remote_user_id: int
    signal: dict[str, Any]
