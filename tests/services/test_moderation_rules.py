"""The moderation rules, in-process on the real database, with a clock that moves
only when told: who may act on whom, mutes that end on time, the send rate limit
that refills with time. (``test_moderation.py`` drives the same rules through the
REST API and the socket.)"""

from __future__ import annotations

from datetime import timedelta

import pytest

from imbachat.clock import ManualClock
from imbachat.errors import Forbidden, RateLimited
from imbachat.events import MemberMuted
from imbachat.services.moderation import may_act_on
from imbachat.services.ratelimit import SendLimiter
from imbachat.states import MemberRole

ADMIN, MODERATOR, MEMBER = MemberRole.ADMIN, MemberRole.MODERATOR, MemberRole.MEMBER


@pytest.mark.parametrize(
    ("actor", "target", "allowed"),
    [
        (None, ADMIN, True),  # the widget owner acts on anyone
        (ADMIN, MODERATOR, True),
        (ADMIN, MEMBER, True),
        (ADMIN, ADMIN, False),
        (MODERATOR, MEMBER, True),
        (MODERATOR, MODERATOR, False),
        (MODERATOR, ADMIN, False),
        (MEMBER, MEMBER, False),
    ],
)
def test_room_staff_act_only_on_members_of_a_lower_rank(actor, target, allowed) -> None:
    assert may_act_on(actor, target) is allowed


@pytest.mark.anyio
async def test_a_mute_silences_a_member_until_its_time_has_passed(chat) -> None:
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])

    await chat.services.moderation.act(widget, "mute", 2, room_id=room.id, seconds=60)
    [muted] = chat.events(MemberMuted)
    assert muted.until == chat.clock.now() + timedelta(seconds=60)
    with pytest.raises(Forbidden, match="muted"):
        await chat.send(widget, 2, room, "can you hear me?")
    assert (await chat.send(widget, 1, room, "the others can")).body == "the others can"

    chat.clock.advance(59)
    with pytest.raises(Forbidden, match="muted"):
        await chat.send(widget, 2, room, "still muted a second before the end")
    chat.clock.advance(2)
    assert (await chat.send(widget, 2, room, "and now?")).body == "and now?"


@pytest.mark.anyio
async def test_a_muted_member_may_be_unmuted_early(chat) -> None:
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    await chat.services.moderation.act(widget, "mute", 2, room_id=room.id, seconds=3600)

    await chat.services.moderation.act(widget, "unmute", 2, room_id=room.id)

    assert (await chat.send(widget, 2, room, "thanks")).body == "thanks"


def test_the_send_rate_limit_allows_a_burst_then_refills_with_time() -> None:
    clock = ManualClock()
    limiter = SendLimiter(per_second=2, burst=3, clock=clock)
    for _ in range(3):
        limiter.take(1, 42)
    with pytest.raises(RateLimited) as refused:
        limiter.take(1, 42)
    assert refused.value.retry_after == 1
    limiter.take(1, 43)  # other users have their own budget

    clock.advance(0.5)
    limiter.take(1, 42)  # one send's worth came back
    with pytest.raises(RateLimited):
        limiter.take(1, 42)
