"""Records and queries that services hand around; the store fills them from rows."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from operator import itemgetter
from typing import Any, Generic, NamedTuple, Self, TypeVar

from sqlalchemy.engine import Result, Row

from imbachat.numbers import MIN_GUEST_ID
from imbachat.states import (
    CallKind,
    CallOutcome,
    CallState,
    EmailChoice,
    MemberRole,
    MemberState,
    ReportOutcome,
    ReportStatus,
    RoomStatus,
    RoomType,
    UserStatus,
)

T = TypeVar("T")

# Room types as form values: "0", "1", "3".
ROOM_TYPE_FIELD = {str(int(kind)): kind for kind in RoomType}

# An erased user's row keeps its place in history under a host id of this range
# (below guests' negative ids, within JavaScript's exact integers), so the person's
# own host id is free again and names nobody here.
ERASED_REMOTE_IDS_BELOW = MIN_GUEST_ID


def erased_remote_id(user_id: int) -> int:
    """The host id an erased user's row takes: unique, as our id is."""
    return ERASED_REMOTE_IDS_BELOW - user_id


def is_erased_remote_id(remote_user_id: int) -> bool:
    return remote_user_id < ERASED_REMOTE_IDS_BELOW


class _FromRow:
    @classmethod
    def from_row(cls, row: Row[Any], prefix: str = "") -> Self:
        """The record from a row's columns of the same names (after ``prefix``, for
        columns labelled apart in a join)."""
        mapping = row._mapping
        return cls(*[mapping[prefix + name] for name in _field_names(cls)])

    @classmethod
    def reader(cls, keys: Iterable[str], prefix: str = "") -> Callable[[Row[Any]], Self]:
        """Like :meth:`from_row` for every row of a result with these ``keys``, with
        the columns found once: for long results (a room list, a history page)."""
        columns = list(keys)
        pick = itemgetter(*[columns.index(prefix + name) for name in _field_names(cls)])
        return lambda row: cls(*pick(row))

    @classmethod
    def all_of(cls, result: Result[Any]) -> list[Self]:
        """Every row of ``result`` as a record (see :meth:`reader`)."""
        return list(map(cls.reader(result.keys()), result.all()))


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """A record's fields in order (``dataclasses.fields`` is slow on the hot path)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


@dataclass(frozen=True, slots=True)
class Widget(_FromRow):
    imba_id: int
    owner_id: int
    secret_key: str
    users_info_url: str | None
    api_login: str | None
    api_password: str | None
    blocked_words: str | None
    created_at: datetime
    updated_at: datetime
    users_search_url: str | None = None
    guests_enabled: bool = True
    guests_write_public: bool = False
    theme: str = "auto"
    accent_color: str | None = None
    file_types: str | None = None  # comma-separated categories; None: the default list
    files_quota_bytes: int | None = None  # None: the server's default
    files_bytes: int = 0  # what its files take now
    notify_sound: bool = True  # the widget may play a sound for new messages
    away_notify_seconds: int | None = None  # None: the server's default
    email_link_url: str | None = None  # where e-mails lead: a URL, {room_id} filled in
    language: str = "en"  # of its e-mails
    allowed_origins: str | None = None  # pages it may be used from, one a line; None: any
    retention_days: int | None = None  # messages older than this are deleted; None: kept


@dataclass(frozen=True, slots=True)
class Profile:
    """A host site user as the site describes them (its Users info or search URL),
    or as a search shows a known user."""

    remote_user_id: int
    name: str
    avatar_url: str | None
    status: UserStatus | None
    extra: dict[str, Any]


@dataclass(frozen=True, slots=True)
class User(_FromRow):
    id: int
    imba_id: int
    remote_user_id: int
    name: str | None
    status: UserStatus
    avatar_url: str | None
    profile_url: str | None
    user_data: str | None
    is_banned: bool
    is_bot: bool
    last_message_at: datetime | None
    info_fetched_at: datetime | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    email_notify: EmailChoice = EmailChoice.ALL  # e-mails while away


@dataclass(frozen=True, slots=True)
class Room(_FromRow):
    id: int
    imba_id: int
    pipe: str
    name: str
    admin_id: int | None
    type: RoomType
    tab: int
    is_public: int
    status: RoomStatus
    member_count: int
    last_seq: int
    last_message_at: datetime | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    pinned_message_id: int | None = None  # a conference's pinned message


@dataclass(frozen=True, slots=True)
class Member(_FromRow):
    room_id: int
    user_id: int
    role: MemberRole
    status: MemberState
    is_banned: bool
    last_read_seq: int
    muted_until: datetime | None
    alerts_muted: bool = False  # the member's choice: no sound, notification or e-mail


class RoomMember(NamedTuple):
    """A member as the room list shows them: who, their role, how far they read.
    A tuple, not a dataclass: a room list builds hundreds of them per connect."""

    user_id: int
    remote_user_id: int
    name: str | None
    avatar_url: str | None
    status: UserStatus
    role: MemberRole
    last_read_seq: int
    profile_url: str | None
    guest_data: str | None  # what a guest told about themselves (JSON), for operators


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file in a message, as stored with the message. ``url`` and ``thumbnail_url``
    are signed links, filled in each time the message goes to someone."""

    id: int
    name: str
    size: int
    content_type: str
    width: int | None = None  # images: shown inline
    height: int | None = None
    thumbnail: bool = False  # a smaller copy exists (else the image is its own)
    url: str | None = None
    thumbnail_url: str | None = None


@dataclass(frozen=True, slots=True)
class Reaction:
    """One emoji on a message: how many reacted with it and who (host user ids, the
    first ``store.reactions.MAX_REACTORS_SHOWN`` of them)."""

    emoji: str
    count: int
    user_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CallSummary:
    """What a call's record in its dialog says: audio or video, how it ended, and
    how long the two talked (seconds; 0 when it was never answered)."""

    kind: CallKind
    outcome: CallOutcome
    duration: int = 0


@dataclass(frozen=True, slots=True)
class Call(_FromRow):
    """A call between the two members of a dialog. ``caller_socket`` and
    ``callee_socket`` name the socket of each in the call ("node:socket"; the
    callee's is None until a tab of theirs answers)."""

    id: int
    imba_id: int
    room_id: int
    caller_id: int
    callee_id: int
    kind: CallKind
    state: CallState
    outcome: CallOutcome | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    # Joined from the users: their host ids, as everything shown names them.
    caller_remote_id: int
    callee_remote_id: int
    caller_socket: str | None = None
    callee_socket: str | None = None

    @property
    def duration(self) -> int:
        """Seconds from the answer to the end (to now, for no end yet: 0)."""
        if self.answered_at is None or self.ended_at is None:
            return 0
        return max(0, int((self.ended_at - self.answered_at).total_seconds()))

    def party_ids(self) -> tuple[int, int]:
        return self.caller_id, self.callee_id

    def other_of(self, user_id: int) -> int:
        return self.callee_id if user_id == self.caller_id else self.caller_id


@dataclass(frozen=True, slots=True)
class StoredFile(_FromRow):
    """An uploaded file: where its bytes are, who sent it, where it is attached."""

    id: int
    imba_id: int
    uploader_id: int
    name: str
    size: int
    content_type: str
    category: str
    storage_key: str
    thumbnail_key: str | None
    thumbnail_type: str | None
    width: int | None
    height: int | None
    message_id: int | None
    room_id: int | None
    created_at: datetime

    def attachment(self) -> Attachment:
        return Attachment(
            id=self.id,
            name=self.name,
            size=self.size,
            content_type=self.content_type,
            width=self.width,
            height=self.height,
            thumbnail=self.thumbnail_key is not None,
        )


@dataclass(frozen=True, slots=True)
class Message(_FromRow):
    id: int
    imba_id: int
    room_id: int
    seq: int
    author_id: int
    uuid: str
    body: str
    answer_to: int
    liked: int
    client_id: str | None
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    # Joined from the author and the room, so a message renders without more queries.
    author_remote_id: int
    author_name: str | None
    author_is_bot: bool
    room_type: RoomType
    attachments: tuple[Attachment, ...] = ()
    reactions: tuple[Reaction, ...] = ()
    mentions: tuple[int, ...] = ()  # host user ids of the members it mentions
    call: CallSummary | None = None  # a call's record in its dialog (see services.calls)


@dataclass(frozen=True, slots=True)
class Report(_FromRow):
    """A member's report of a message, in the owner's queue."""

    id: int
    imba_id: int
    room_id: int
    message_id: int
    reporter_id: int
    author_id: int
    reason: str
    status: ReportStatus
    outcome: ReportOutcome | None
    created_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class ReportView:
    """A report with what shows it: the message, and who reported it."""

    report: Report
    message: Message
    reporter_remote_id: int
    reporter_name: str | None


@dataclass(frozen=True, slots=True)
class SendRequest:
    """A send as it arrives: who (by host user id), where, what. The writer checks it
    against the database inside the batch that stores it."""

    imba_id: int
    room_id: int
    author_remote_id: int
    body: str
    answer_to: int = 0
    client_id: str | None = None
    origin: str | None = None  # the socket it came from ("node:socket"): it gets an ack
    guests_write_public: bool = False  # the widget's setting when the send arrived
    attachments: tuple[int, ...] = ()  # ids of files the author uploaded
    mentions: tuple[int, ...] = ()  # host ids of the members the author mentions
    link_secret: str = ""  # the widget's secret, signing the files' links (with files)


@dataclass(frozen=True, slots=True)
class MessageDraft:
    """A checked message about to be stored; ``seq``, ``id`` and ``uuid`` are assigned
    on write. It carries its author and room type, so the stored message is built
    without reading it back."""

    imba_id: int
    room_id: int
    author_id: int
    body: str
    author_remote_id: int
    author_name: str | None
    author_is_bot: bool
    room_type: RoomType
    answer_to: int = 0
    client_id: str | None = None
    attachments: tuple[Attachment, ...] = ()
    # The mentioned members still in the room: host ids (as shown), and ours.
    mentions: tuple[int, ...] = ()
    mentioned_user_ids: tuple[int, ...] = ()
    call: CallSummary | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """Deterministic pagination: rows ordered by id, starting after ``after_id``."""

    limit: int = 50
    after_id: int | None = None
    offset: int = 0
    descending: bool = False


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Half-open interval ``[start, end)``; either side may be open."""

    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class UserQuery:
    id: int | None = None
    remote_user_id: int | None = None
    login: str | None = None
    status: UserStatus | None = None
    banned: bool | None = None
    last_message: TimeRange | None = None


@dataclass(frozen=True, slots=True)
class RoomQuery:
    id: int | None = None
    pipe: str | None = None
    type: RoomType | None = None
    status: int | None = None  # any number may be asked for; only 0 and 1 are stored
    count_users: int | None = None
    banned: bool | None = None
    last_message: TimeRange | None = None


@dataclass(frozen=True, slots=True)
class MessageQuery:
    id: int | None = None
    room_id: int | None = None
    room_type: RoomType | None = None
    user_name: str | None = None
    user_role: MemberRole | None = None
    author_remote_id: int | None = None
    date: TimeRange | None = None


@dataclass(frozen=True, slots=True)
class Slice(Generic[T]):
    """One page of results and the cursor of the next page, if there is one."""

    items: list[T]
    next_after_id: int | None
