"""Every event has its three translations: bytes on the bus and back, a socket
frame for its audience, and (for webhook events) a webhook body. A new event
without one of them fails here; ``tests/test_public_shapes.py`` pins the shapes."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime

import orjson
import pytest

from imbachat.bus import codec
from imbachat.domain import (
    Attachment,
    Call,
    CallSummary,
    Message,
    Reaction,
    Report,
    ReportView,
    Room,
    User,
)
from imbachat.events import (
    AlertsChanged,
    BlockChanged,
    CallAnswered,
    CallEnded,
    CallResumed,
    CallSignalled,
    CallStarted,
    Event,
    GuestConverted,
    GuestCreated,
    MemberMuted,
    MemberRemoved,
    MemberRoleChanged,
    MembersAdded,
    MessageDeleted,
    MessageEdited,
    MessageNew,
    MessageReacted,
    MessageReported,
    MessagesUnread,
    PinChanged,
    PresenceChanged,
    ReadMarked,
    RoomClosed,
    RoomCreated,
    RoomReopened,
    Typing,
    UserBanned,
    UserErased,
    UsersUpdated,
    UserUnbanned,
)
from imbachat.realtime import frames
from imbachat.states import (
    CallKind,
    CallOutcome,
    CallState,
    EmailChoice,
    MemberRole,
    ReportOutcome,
    ReportStatus,
    RoomStatus,
    RoomType,
    UserStatus,
)
from imbachat.webhooks.bodies import WEBHOOK_EVENTS, body_of, data_of

WHEN = datetime(2026, 11, 28, 9, 30, 15, 250_000)
ROOM = Room(
    7, 1, "pipe-7", "Book club", 3, RoomType.CONFERENCE, 0, 0, RoomStatus.OPEN, 2, 41,
    WHEN, WHEN, WHEN, None,
)  # fmt: skip
USER = User(
    3, 1, 30, "Cy", UserStatus.ADMIN, None, None, '{"badge": 1}', False, True, WHEN, None,
    WHEN, WHEN, None,
)  # fmt: skip
GUEST = User(
    4, 1, -1234, "Guest 1234", UserStatus.GUEST, None, None, '{"email": "g@x.test"}', False,
    False, None, WHEN, WHEN, WHEN, None,
)  # fmt: skip
MESSAGE = Message(
    99, 1, 7, 41, 3, "7-1-abcdef", "hi ✓", 0, 0, "c-1", WHEN, None, None, 30, "Cy", True,
    RoomType.CONFERENCE,
)  # fmt: skip

PHOTO = Attachment(5, "cat.jpg", 1234, "image/jpeg", 640, 480, True, "/f/5?s=1", "/f/5t?s=1")
WITH_FILES = replace(MESSAGE, id=100, seq=42, client_id=None, attachments=(PHOTO,))
REACTED = replace(MESSAGE, reactions=(Reaction("👍", 2, (30, 31)),), mentions=(31,))
REPORT = ReportView(
    Report(5, 1, 7, 99, 4, 3, "spam", ReportStatus.RESOLVED, ReportOutcome.MESSAGE_DELETED,
           WHEN, WHEN),
    REACTED, -1234, "Guest 1234",
)  # fmt: skip
CALL = Call(
    12, 1, 7, 3, 4, CallKind.VIDEO, CallState.ENDED, CallOutcome.COMPLETED, WHEN, WHEN, WHEN,
    30, 31, "node-a:5", "node-b:9",
)  # fmt: skip
RECORD = replace(
    MESSAGE, body="Video call, 4:12", call=CallSummary(CallKind.VIDEO, CallOutcome.COMPLETED, 252)
)

SAMPLES: list[Event] = [
    MessageNew(MESSAGE, origin="node:12"),
    MessageEdited(MESSAGE),
    MessageDeleted(1, 7, 99, 41, 3),
    RoomCreated(ROOM, (3, 4)),
    MembersAdded(ROOM, (USER,)),
    MemberRemoved(1, 7, 3, 30),
    MemberRoleChanged(1, 7, 3, 30, MemberRole.MODERATOR),
    RoomClosed(ROOM),
    RoomReopened(ROOM),
    UserBanned(1, None, 3, 30),
    UserUnbanned(1, 7, 3, 30),
    MemberMuted(1, 7, 3, 30, until=WHEN),
    ReadMarked(1, 7, 3, 30, 41),
    Typing(1, 7, 3, 30),
    PresenceChanged(1, 3, 30, True, (7, 8)),
    UsersUpdated(1, (USER,)),
    GuestCreated(GUEST),
    GuestConverted(GUEST, USER),
    AlertsChanged(1, 3, EmailChoice.MENTIONS, 7, True),
    AlertsChanged(1, 3, EmailChoice.NEVER),
    MessagesUnread(1, USER, 2, (MESSAGE, WITH_FILES), 1),
    MessageReacted(REACTED, 4, 31, "👍", False),
    MessageReported(REPORT, (3, 5)),
    PinChanged(1, 7, REACTED),
    PinChanged(1, 7, None),
    BlockChanged(1, 3, 31, True),
    UserErased(1, 3, 30, WHEN, 12, (7, 8)),
    MessageNew(RECORD),
    CallStarted(replace(CALL, state=CallState.RINGING, outcome=None, ended_at=None)),
    CallAnswered(replace(CALL, state=CallState.ACTIVE, outcome=None, ended_at=None)),
    CallResumed(replace(CALL, state=CallState.ACTIVE, outcome=None, ended_at=None)),
    CallEnded(CALL),
    CallSignalled(1, 7, 12, 4, "node-b:9", 30, {"description": {"type": "offer", "sdp": "v=0"}}),
]
# Events for webhooks only (sockets see what they change through other events).
WEBHOOKS_ONLY = {GuestCreated, GuestConverted, MessagesUnread}
# Events whose audience changes with them: the hub routes these itself.
ROUTED_BY_THE_HUB = {
    MessageNew,
    RoomCreated,
    MembersAdded,
    MemberRemoved,
    PresenceChanged,
    UsersUpdated,
    UserErased,
    CallStarted,
    CallAnswered,
    CallResumed,
    CallEnded,
    CallSignalled,
}


def test_there_is_a_sample_of_every_event() -> None:
    assert {type(event) for event in SAMPLES} == set(Event.by_name.values())


@pytest.mark.parametrize("event", SAMPLES, ids=lambda event: event.name)
def test_an_event_crosses_the_bus_unchanged(event: Event) -> None:
    before = time.time()
    node, decoded, sent_at = codec.decode(codec.encode("node-a", event))
    assert (node, decoded) == ("node-a", event)
    assert type(decoded) is type(event)
    assert before <= sent_at <= time.time()  # when it was published: the bus's lag


def test_a_bus_message_of_an_earlier_version_reads_as_published_at_zero() -> None:
    event = b'{"imba_id":1,"room_id":2,"user_id":3,"remote_user_id":3}'
    data = b'{"node":"old","name":"typing","event":' + event + b"}"
    received = codec.decode(data)
    assert (received.node, received.sent_at) == ("old", 0.0)


@pytest.mark.parametrize("event", SAMPLES, ids=lambda event: event.name)
def test_an_event_reaches_the_sockets_that_should_see_it(event: Event) -> None:
    delivery = frames.delivery_of(event)
    if type(event) in ROUTED_BY_THE_HUB | WEBHOOKS_ONLY:
        assert delivery is None
    else:
        assert isinstance(delivery, frames.ToRoom | frames.ToUser | frames.ToUsers)
        assert orjson.loads(delivery.text)["type"]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda event: event.name)
def test_webhook_events_have_a_body_and_the_others_none(event: Event) -> None:
    if isinstance(event, WEBHOOK_EVENTS):
        body = orjson.loads(body_of(event))
        assert (body["event"], body["imba_id"]) == (event.name, 1)
        assert body["data"] == data_of(event)
    else:
        assert data_of(event) is None


@pytest.mark.parametrize(
    "data",
    [b"", b"not json", b'{"node":"a"}', b'{"node":"a","name":"no.such","event":{}}',
     b'{"node":"a","name":"typing","event":{"imba_id":"x"}}'],
)  # fmt: skip
def test_anything_else_on_the_bus_is_refused_as_a_bad_message(data: bytes) -> None:
    with pytest.raises(codec.BadMessage):
        codec.decode(data)
