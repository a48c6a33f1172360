"""The rules of calls in dialogs, in-process on the real database with a clock that
moves only when told: who may call whom, one call per user, the ring time, the grace
after a lost socket, signals for the other party's socket only, the record each call
leaves in its dialog, and TURN credentials made per call."""

from __future__ import annotations

import pytest

from imbachat.clock import unix
from imbachat.domain import Call, CallSummary, User, Widget
from imbachat.errors import Conflict, Forbidden, Invalid, NotFound, RateLimited
from imbachat.events import CallAnswered, CallEnded, CallSignalled, CallStarted, MessageNew
from imbachat.services.calls import SIGNAL_BURST, record_text, turn_credentials
from imbachat.states import CallKind, CallOutcome, CallState, RoomType
from tests.inprocess import Chat, in_process

VIDEO, AUDIO = CallKind.VIDEO, CallKind.AUDIO


async def people(chat: Chat) -> tuple[Widget, User, User, int]:
    """Ann (1) and Bo (2) and their dialog."""
    widget = await chat.widget()
    ann, bo = await chat.user(widget, 1), await chat.user(widget, 2)
    dialog = (await chat.services.rooms.open_dialog(widget, ann, 2)).room
    return widget, ann, bo, dialog.id


async def swept(chat: Chat, widget: Widget) -> list[Call]:
    """The widget's calls a sweep ended (the database holds other tests' calls too)."""
    return [call for call in await chat.services.calls.sweep() if call.imba_id == widget.imba_id]


def records(chat: Chat, widget: Widget) -> list[tuple[str, CallSummary | None]]:
    """The calls' records the widget's dialogs got."""
    return [
        (event.message.body, event.message.call)
        for event in chat.events(MessageNew)
        if isinstance(event, MessageNew)
        and event.message.call is not None
        and event.message.imba_id == widget.imba_id
    ]


@pytest.mark.anyio
async def test_a_call_rings_is_answered_and_leaves_its_length_in_the_dialog(chat) -> None:
    widget, ann, bo, dialog = await people(chat)
    calls = chat.services.calls

    placed = await calls.invite(widget, ann, "n1:1", dialog, VIDEO)
    assert (placed.state, placed.caller_remote_id, placed.callee_remote_id) == (
        CallState.RINGING, 1, 2)  # fmt: skip
    assert (placed.caller_socket, placed.callee_socket) == ("n1:1", None)
    chat.clock.advance(3)
    answered = await calls.accept(widget, bo, "n2:7", placed.id)
    assert (answered.state, answered.callee_socket) == (CallState.ACTIVE, "n2:7")
    chat.clock.advance(65)
    ended = await calls.hang_up(widget, bo, placed.id)

    assert ended is not None
    assert (ended.state, ended.outcome, ended.duration) == (
        CallState.ENDED, CallOutcome.COMPLETED, 65)  # fmt: skip
    changes = (CallStarted, CallAnswered, CallEnded)
    assert [type(e) for e in chat.published if type(e) in changes] == list(changes)
    assert records(chat, widget) == [
        ("Video call, 1:05", CallSummary(VIDEO, CallOutcome.COMPLETED, 65))
    ]
    page, _ = await chat.services.messages.history(widget, bo, dialog, None, 10)
    assert [(m.body, m.call, m.author_remote_id) for m in page] == [
        ("Video call, 1:05", CallSummary(VIDEO, CallOutcome.COMPLETED, 65), 1)]  # fmt: skip
    # Both are free again.
    again = await calls.invite(widget, bo, "n2:7", dialog, AUDIO)
    assert again.state == CallState.RINGING


@pytest.mark.anyio
async def test_only_the_members_of_a_dialog_call_each_other(chat) -> None:
    widget, ann, _, dialog = await people(chat)
    eve = await chat.user(widget, 3)
    conference = await chat.room(widget, [1, 2, 3], RoomType.CONFERENCE)
    calls = chat.services.calls

    with pytest.raises(Forbidden, match="not a member"):
        await calls.invite(widget, eve, "n:3", dialog, VIDEO)
    with pytest.raises(NotFound):
        await calls.invite(widget, ann, "n:1", 999_999_999, VIDEO)
    with pytest.raises(Invalid, match="dialogs"):
        await calls.invite(widget, ann, "n:1", conference.id, VIDEO)
    placed = await calls.invite(widget, ann, "n:1", dialog, VIDEO)
    # Someone else's call: as if there were none.
    for attempt in (
        calls.accept(widget, eve, "n:3", placed.id),
        calls.decline(widget, eve, placed.id),
        calls.hang_up(widget, eve, placed.id),
        calls.resume(widget, eve, "n:3", placed.id),
    ):
        with pytest.raises(NotFound):
            await attempt
    with pytest.raises(Forbidden, match="Only the one called"):
        await calls.accept(widget, ann, "n:1", placed.id)


@pytest.mark.anyio
async def test_blocks_bans_and_mutes_apply_to_calls(chat) -> None:
    widget, ann, bo, dialog = await people(chat)
    calls = chat.services.calls

    await chat.services.blocks.set_blocked(widget, bo, 1, True)
    with pytest.raises(Forbidden, match="You cannot call this user"):
        await calls.invite(widget, ann, "n:1", dialog, VIDEO)
    with pytest.raises(Forbidden, match="You blocked this user"):
        await calls.invite(widget, bo, "n:2", dialog, VIDEO)
    await chat.services.blocks.set_blocked(widget, bo, 1, False)

    await chat.services.moderation.act(widget, "mute", 1, room_id=dialog, seconds=60)
    with pytest.raises(Forbidden, match="muted"):
        await calls.invite(widget, ann, "n:1", dialog, VIDEO)
    await chat.services.moderation.act(widget, "unmute", 1, room_id=dialog)

    await chat.services.moderation.act(widget, "ban", 2)
    with pytest.raises(Forbidden, match="banned"):
        await calls.invite(widget, bo, "n:2", dialog, VIDEO)
    with pytest.raises(Forbidden, match="cannot take calls"):
        await calls.invite(widget, ann, "n:1", dialog, VIDEO)
    assert records(chat, widget) == []


@pytest.mark.anyio
async def test_one_call_at_a_time_a_busy_callee_misses_the_call(chat) -> None:
    widget, ann, _, dialog = await people(chat)
    cy = await chat.user(widget, 3)
    with_cy = (await chat.services.rooms.open_dialog(widget, cy, 2)).room.id
    ann_cy = (await chat.services.rooms.open_dialog(widget, ann, 3)).room.id
    calls = chat.services.calls
    await calls.invite(widget, ann, "n:1", dialog, VIDEO)

    busy = await calls.invite(widget, cy, "n:3", with_cy, AUDIO)

    assert (busy.state, busy.outcome) == (CallState.ENDED, CallOutcome.BUSY)
    assert records(chat, widget) == [("Missed call", CallSummary(AUDIO, CallOutcome.BUSY, 0))]
    with pytest.raises(Conflict, match="in a call already"):
        await calls.invite(widget, ann, "n:1", ann_cy, VIDEO)


@pytest.mark.anyio
async def test_a_call_not_answered_in_time_ends_as_missed_once(chat) -> None:
    widget, ann, bo, dialog = await people(chat)
    calls = chat.services.calls
    placed = await calls.invite(widget, ann, "n:1", dialog, VIDEO)

    chat.clock.advance(44)
    await calls.keep(["n:1"])
    assert await swept(chat, widget) == []
    chat.clock.advance(2)
    [missed] = await swept(chat, widget)

    assert (missed.id, missed.outcome, missed.duration) == (placed.id, CallOutcome.MISSED, 0)
    assert await swept(chat, widget) == []  # ended once
    assert records(chat, widget) == [("Missed call", CallSummary(VIDEO, CallOutcome.MISSED, 0))]
    with pytest.raises(Conflict, match="ended"):
        await calls.accept(widget, bo, "n:2", placed.id)


@pytest.mark.anyio
async def test_declined_and_cancelled_calls(chat) -> None:
    widget, ann, bo, dialog = await people(chat)
    calls = chat.services.calls

    first = await calls.invite(widget, ann, "n:1", dialog, VIDEO)
    declined = await calls.decline(widget, bo, first.id)
    second = await calls.invite(widget, ann, "n:1", dialog, AUDIO)
    cancelled = await calls.hang_up(widget, ann, second.id)

    assert declined is not None and declined.outcome == CallOutcome.DECLINED
    assert cancelled is not None and cancelled.outcome == CallOutcome.CANCELLED
    assert [text for text, _ in records(chat, widget)] == ["Declined call", "Missed call"]
    with pytest.raises(Conflict):
        await calls.decline(widget, bo, second.id)
    over = await calls.hang_up(widget, bo, second.id)  # already over: nothing changes
    assert over is not None and over.outcome == CallOutcome.CANCELLED


@pytest.mark.anyio
async def test_a_call_is_answered_by_one_tab_only(chat) -> None:
    widget, ann, bo, dialog = await people(chat)
    calls = chat.services.calls
    placed = await calls.invite(widget, ann, "n:1", dialog, VIDEO)

    await calls.accept(widget, bo, "n:2", placed.id)
    with pytest.raises(Conflict, match="another tab"):
        await calls.accept(widget, bo, "n:3", placed.id)


@pytest.mark.anyio
async def test_signals_go_to_the_other_partys_socket_in_the_call_only(chat) -> None:
    widget, ann, bo, dialog = await people(chat)
    calls = chat.services.calls
    offer = {"description": {"type": "offer", "sdp": "v=0"}}
    placed = await calls.invite(widget, ann, "a:1", dialog, VIDEO)
    with pytest.raises(Conflict, match="in progress"):
        await calls.signal(widget, ann, "a:1", placed.id, offer)
    await calls.accept(widget, bo, "b:2", placed.id)

    await calls.signal(widget, ann, "a:1", placed.id, offer)
    await calls.signal(widget, bo, "b:2", placed.id, {"candidate": {"candidate": "c"}})

    relayed = [e for e in chat.published if isinstance(e, CallSignalled)]
    assert [(e.to_user_id, e.to_socket, e.from_remote_user_id) for e in relayed] == [
        (bo.id, "b:2", 1), (ann.id, "a:1", 2)]  # fmt: skip
    assert relayed[0].signal == offer
    with pytest.raises(Forbidden, match="not the one in the call"):
        await calls.signal(widget, ann, "a:9", placed.id, offer)  # another tab of Ann's
    eve = await chat.user(widget, 3)
    with pytest.raises(NotFound):
        await calls.signal(widget, eve, "e:3", placed.id, offer)


@pytest.mark.anyio
async def test_a_lost_socket_ends_the_call_after_the_grace_unless_it_comes_back(chat) -> None:
    widget, ann, bo, dialog = await people(chat)
    calls = chat.services.calls
    placed = await calls.invite(widget, ann, "a:1", dialog, VIDEO)
    await calls.accept(widget, bo, "b:2", placed.id)

    # Bo's socket closed; 15 s later he is back on a new one: the call goes on.
    chat.clock.advance(15)
    await calls.keep(["a:1"])
    assert await swept(chat, widget) == []
    resumed = await calls.resume(widget, bo, "b:5", placed.id)
    assert (resumed.state, resumed.callee_socket) == (CallState.ACTIVE, "b:5")
    # Then Ann's goes for good: past the grace (20 s), the call is over as it was.
    chat.clock.advance(15)
    await calls.keep(["b:5"])
    assert await swept(chat, widget) == []
    chat.clock.advance(6)
    await calls.keep(["b:5"])
    [ended] = await swept(chat, widget)

    assert (ended.outcome, ended.duration) == (CallOutcome.COMPLETED, 36)
    assert records(chat, widget)[-1][0] == "Video call, 0:36"


@pytest.mark.anyio
async def test_a_caller_gone_while_it_rings_cancels_the_call(chat) -> None:
    widget, ann, _, dialog = await people(chat)
    calls = chat.services.calls
    await calls.invite(widget, ann, "a:1", dialog, AUDIO)

    chat.clock.advance(21)
    [ended] = await swept(chat, widget)

    assert ended.outcome == CallOutcome.CANCELLED
    assert records(chat, widget) == [("Missed call", CallSummary(AUDIO, CallOutcome.CANCELLED, 0))]


def test_the_record_says_what_happened() -> None:
    assert record_text(CallSummary(AUDIO, CallOutcome.COMPLETED, 3 * 3600 + 7)) == (
        "Audio call, 180:07"
    )
    assert record_text(CallSummary(VIDEO, CallOutcome.FAILED, 0)) == "Failed call"
    for outcome in (CallOutcome.MISSED, CallOutcome.BUSY, CallOutcome.CANCELLED):
        assert record_text(CallSummary(VIDEO, outcome, 0)) == "Missed call"


@pytest.mark.anyio
async def test_turn_servers_get_credentials_made_per_call(migrated_database_url) -> None:
    servers = [
        {"urls": "stun:stun.example.com:3478"},
        {"urls": ["turn:turn.example.com:3478", "turns:turn.example.com:5349"]},
        {"urls": "turn:other.example.com", "username": "u", "credential": "p"},
    ]
    async with in_process(
        migrated_database_url, ice_servers=servers, turn_secret="s3cret", turn_ttl_seconds=600
    ) as chat:
        widget = await chat.widget()
        ann = await chat.user(widget, 1)

        given = chat.services.calls.ice_servers(ann)

        username, password = turn_credentials("s3cret", ann.id, unix(chat.clock.now()) + 600)
        assert given == [
            servers[0],
            {**servers[1], "username": username, "credential": password},
            servers[2],  # its own credentials stay
        ]


def test_turn_credentials_follow_the_turn_rest_convention() -> None:
    # coturn's use-auth-secret: base64(HMAC-SHA1(secret, "<expiry>:<user id>")).
    assert turn_credentials("s3cret", 7, 1_700_000_600) == (
        "1700000600:7",
        "PvB8GqFh5UcTgLqT2Q0vyc81Wjo=",
    )


@pytest.mark.anyio
async def test_invites_share_the_send_rate_limit_even_to_a_busy_callee(
    migrated_database_url,
) -> None:
    async with in_process(migrated_database_url, send_rate_per_second=1.0, send_burst=3) as chat:
        widget, ann, _, dialog = await people(chat)
        cy = await chat.user(widget, 3)
        with_bo = (await chat.services.rooms.open_dialog(widget, cy, 2)).room.id
        calls = chat.services.calls
        await calls.invite(widget, ann, "a:1", dialog, VIDEO)  # Bo is busy from now on

        for _ in range(3):
            busy = await calls.invite(widget, cy, "c:3", with_bo, VIDEO)
            assert busy.outcome == CallOutcome.BUSY
        with pytest.raises(RateLimited) as refused:
            await calls.invite(widget, cy, "c:3", with_bo, VIDEO)

        assert refused.value.status == 429 and refused.value.retry_after == 1
        assert [text for text, _ in records(chat, widget)] == ["Missed call"] * 3
        chat.clock.advance(1)
        assert (await calls.invite(widget, cy, "c:3", with_bo, VIDEO)).outcome == CallOutcome.BUSY


@pytest.mark.anyio
async def test_a_calls_record_cannot_be_edited(chat) -> None:
    widget, ann, bo, dialog = await people(chat)
    placed = await chat.services.calls.invite(widget, ann, "a:1", dialog, VIDEO)
    await chat.services.calls.decline(widget, bo, placed.id)
    [record] = [
        e.message for e in chat.events(MessageNew) if isinstance(e, MessageNew) and e.message.call
    ]

    with pytest.raises(Forbidden, match="call's record cannot be edited") as refused:
        await chat.services.messages.edit(widget, ann, record.id, "A lovely chat, 9:99")

    assert refused.value.errors == {"message_id": ["A call's record cannot be edited."]}
    page, _ = await chat.services.messages.history(widget, bo, dialog, None, 10)
    assert [m.body for m in page] == ["Declined call"]


@pytest.mark.anyio
async def test_signals_have_a_rate_limit_checked_before_the_database(chat) -> None:
    widget, ann, bo, dialog = await people(chat)
    calls = chat.services.calls
    placed = await calls.invite(widget, ann, "a:1", dialog, VIDEO)
    await calls.accept(widget, bo, "b:2", placed.id)
    candidate = {"candidate": {"candidate": "c"}}

    for _ in range(SIGNAL_BURST):
        await calls.signal(widget, ann, "a:1", placed.id, candidate)
    with pytest.raises(RateLimited):
        await calls.signal(widget, ann, "a:1", placed.id, candidate)
    with pytest.raises(RateLimited):  # refused before the call is even looked up
        await calls.signal(widget, ann, "a:1", 999_999_999, candidate)

    relayed = [e for e in chat.published if isinstance(e, CallSignalled)]
    assert len(relayed) == SIGNAL_BURST
    await calls.signal(widget, bo, "b:2", placed.id, candidate)  # Bo's own budget
    chat.clock.advance(1)
    await calls.signal(widget, ann, "a:1", placed.id, candidate)
