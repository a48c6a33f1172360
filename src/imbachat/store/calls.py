"""SQL for calls: the call rows, and who is in a call now (``call_parties``).

Every change of a call's state is one conditional UPDATE (``WHERE state = …``), so
when two nodes act on the same call at once (an answer and the ring timeout, two
tabs answering) exactly one of them changes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat.domain import Call
from imbachat.errors import Conflict
from imbachat.states import CallKind, CallOutcome, CallState
from imbachat.store.schema import call_parties, calls, users

_caller = users.alias("caller_user")
_callee = users.alias("callee_user")
_caller_party = call_parties.alias("caller_party")
_callee_party = call_parties.alias("callee_party")

_CALLS = (
    select(
        calls,
        _caller.c.remote_user_id.label("caller_remote_id"),
        _callee.c.remote_user_id.label("callee_remote_id"),
        _caller_party.c.socket.label("caller_socket"),
        _callee_party.c.socket.label("callee_socket"),
    )
    .join(_caller, _caller.c.id == calls.c.caller_id)
    .join(_callee, _callee.c.id == calls.c.callee_id)
    .outerjoin(
        _caller_party,
        and_(_caller_party.c.user_id == calls.c.caller_id, _caller_party.c.call_id == calls.c.id),
    )
    .outerjoin(
        _callee_party,
        and_(_callee_party.c.user_id == calls.c.callee_id, _callee_party.c.call_id == calls.c.id),
    )
)
_BY_ID = _CALLS.where(calls.c.id == bindparam("call_id"))


async def get(conn: AsyncConnection, call_id: int) -> Call | None:
    row = (await conn.execute(_BY_ID, {"call_id": call_id})).first()
    return Call.from_row(row) if row else None


async def in_call(conn: AsyncConnection, user_ids: Sequence[int]) -> dict[int, int]:
    """The call each of these users is in now (user id -> call id)."""
    query = select(call_parties.c.user_id, call_parties.c.call_id).where(
        call_parties.c.user_id.in_(list(user_ids))
    )
    return {user_id: call_id for user_id, call_id in await conn.execute(query)}


async def add(
    conn: AsyncConnection,
    *,
    imba_id: int,
    room_id: int,
    caller_id: int,
    callee_id: int,
    kind: CallKind,
    state: CallState,
    now: datetime,
    outcome: CallOutcome | None = None,
) -> int:
    values: dict[str, Any] = {
        "imba_id": imba_id,
        "room_id": room_id,
        "caller_id": caller_id,
        "callee_id": callee_id,
        "kind": kind,
        "state": state,
        "outcome": outcome,
        "started_at": now,
        "ended_at": now if state == CallState.ENDED else None,
    }
    result = await conn.execute(insert(calls).returning(calls.c.id), values)
    return int(result.scalar_one())


async def join(
    conn: AsyncConnection, call_id: int, user_id: int, socket: str | None, now: datetime
) -> None:
    """The user is in the call (the primary key refuses a second call of theirs)."""
    values = {"user_id": user_id, "call_id": call_id, "socket": socket, "seen_at": now}
    try:
        await conn.execute(insert(call_parties), values)
    except IntegrityError:
        # Another node put them in a call since the service looked.
        raise Conflict("One of you is in another call: try again.", field="room_id") from None


async def answer(conn: AsyncConnection, call_id: int, now: datetime) -> bool:
    """Ringing -> active; False when the call no longer rings."""
    statement = (
        update(calls)
        .where(calls.c.id == call_id, calls.c.state == CallState.RINGING)
        .values(state=CallState.ACTIVE, answered_at=now)
    )
    return (await conn.execute(statement)).rowcount == 1


async def set_socket(
    conn: AsyncConnection, call_id: int, user_id: int, socket: str, now: datetime
) -> bool:
    statement = (
        update(call_parties)
        .where(call_parties.c.user_id == user_id, call_parties.c.call_id == call_id)
        .values(socket=socket, seen_at=now)
    )
    return (await conn.execute(statement)).rowcount == 1


async def end(
    conn: AsyncConnection, call_id: int, expected: CallState, outcome: CallOutcome, now: datetime
) -> bool:
    """``expected`` -> ended; its parties are free again. False when the call is no
    longer in ``expected`` (answered or ended meanwhile): the outcome was chosen for
    that state, so the caller reads the call again and decides again."""
    statement = (
        update(calls)
        .where(calls.c.id == call_id, calls.c.state == expected)
        .values(state=CallState.ENDED, outcome=outcome, ended_at=now)
    )
    if (await conn.execute(statement)).rowcount != 1:
        return False
    await conn.execute(delete(call_parties).where(call_parties.c.call_id == call_id))
    return True


async def author_of(conn: AsyncConnection, user_id: int) -> tuple[str, bool]:
    """The name and bot flag a call's record is written under."""
    query = select(users.c.name, users.c.is_bot).where(users.c.id == user_id)
    name, is_bot = (await conn.execute(query)).one()
    return str(name), bool(is_bot)


async def seen(conn: AsyncConnection, sockets: Sequence[str], now: datetime) -> None:
    """These sockets (of one node) are open: their parties stay in their calls."""
    statement = (
        update(call_parties).where(call_parties.c.socket.in_(list(sockets))).values(seen_at=now)
    )
    await conn.execute(statement)


async def due(
    conn: AsyncConnection, rang_before: datetime, seen_before: datetime, limit: int = 100
) -> list[tuple[int, CallState]]:
    """Calls to end: those ringing since before ``rang_before``, and those with a
    party whose socket was last seen open before ``seen_before``."""
    unanswered = select(calls.c.id, calls.c.state).where(
        calls.c.state == CallState.RINGING, calls.c.started_at < rang_before
    )
    lost = (
        select(calls.c.id, calls.c.state)
        .join(call_parties, call_parties.c.call_id == calls.c.id)
        .where(
            calls.c.state != CallState.ENDED,
            call_parties.c.socket.is_not(None),
            call_parties.c.seen_at < seen_before,
        )
    )
    found: dict[int, CallState] = {}
    for query in (unanswered.limit(limit), lost.limit(limit)):
        for call_id, state in await conn.execute(query):
            found[call_id] = state
    return list(found.items())
