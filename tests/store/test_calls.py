"""A call's state changes only from the state its outcome was chosen for: an end
decided on a ringing call does not apply once an answer got in first (two nodes, or
two transactions under READ COMMITTED), and one user is in one call at a time."""

from __future__ import annotations

import pytest

from imbachat.errors import Conflict
from imbachat.states import CallKind, CallOutcome, CallState
from imbachat.store import calls as call_store


@pytest.mark.anyio
async def test_an_end_chosen_for_a_ringing_call_does_not_apply_once_it_is_answered(chat) -> None:
    widget = await chat.widget()
    ann, bo = await chat.user(widget, 1), await chat.user(widget, 2)
    dialog = (await chat.services.rooms.open_dialog(widget, ann, 2)).room.id
    placed = await chat.services.calls.invite(widget, ann, "a:1", dialog, CallKind.VIDEO)
    db = chat.services.db

    async with db.read() as conn:  # the canceller (or the sweep) reads: ringing
        stale = await call_store.get(conn, placed.id)
    assert stale is not None and stale.state == CallState.RINGING
    async with db.write() as conn:  # meanwhile the callee answers, committed
        assert await call_store.answer(conn, placed.id, chat.clock.now())
    async with db.write() as conn:  # the end decided on what was read
        applied = await call_store.end(
            conn, placed.id, stale.state, CallOutcome.CANCELLED, chat.clock.now()
        )

    assert applied is False
    async with db.read() as conn:
        now = await call_store.get(conn, placed.id)
        parties = await call_store.in_call(conn, [ann.id, bo.id])
    assert now is not None and (now.state, now.outcome) == (CallState.ACTIVE, None)
    assert parties == {ann.id: placed.id, bo.id: placed.id}
    ended = await chat.services.calls.hang_up(widget, ann, placed.id)
    assert ended is not None and ended.outcome == CallOutcome.COMPLETED


@pytest.mark.anyio
async def test_a_user_already_in_a_call_cannot_join_another(chat) -> None:
    widget = await chat.widget()
    ann = await chat.user(widget, 1)
    await chat.user(widget, 2)
    dialog = (await chat.services.rooms.open_dialog(widget, ann, 2)).room.id
    placed = await chat.services.calls.invite(widget, ann, "a:1", dialog, CallKind.AUDIO)

    with pytest.raises(Conflict, match="in another call") as refused:
        async with chat.services.db.write() as conn:
            await call_store.join(conn, placed.id, ann.id, "a:2", chat.clock.now())
    assert refused.value.errors.keys() == {"room_id"}
