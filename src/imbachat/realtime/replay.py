"""Replay: what a socket missed in its rooms, after the positions it names, in
order and without repeats (with the delivery window of :mod:`connection`)."""

from __future__ import annotations

from imbachat.realtime import frames
from imbachat.realtime.connection import Connection
from imbachat.services.messages import MessageService

MAX_REPLAY_PER_ROOM = 5_000
REPLAY_PAGE = 500


async def replay_rooms(
    messages: MessageService, conn: Connection, positions: dict[int, int]
) -> None:
    """Queue each room's messages after its position, then ``resumed``."""
    reached: dict[int, int] = {}
    truncated: list[int] = []
    for room_id, last_seen in positions.items():
        if room_id not in conn.rooms:
            conn.push(frames.error(403, f"Not a member of room {room_id}.", "resume"))
            continue
        reached[room_id], cut = await _replay(messages, conn, room_id, last_seen)
        if cut:
            truncated.append(room_id)
    # Replayed frames are self-inflicted volume: let them drain before the held
    # live frames count against the socket's queue again.
    await conn.drained()
    conn.push_replayed(frames.resumed(reached, truncated))


async def _replay(
    messages: MessageService, conn: Connection, room_id: int, last_seen: int
) -> tuple[int, bool]:
    """Queue the room's messages after ``last_seen`` that this socket has not
    delivered, page by page, waiting for the socket to drain between pages;
    returns the highest seq the socket now holds and whether the limit cut it."""
    low, high = conn.window(room_id)
    after, sent = last_seen, 0
    while sent < MAX_REPLAY_PER_ROOM:
        page = await messages.replay(conn.widget, conn.user, room_id, after, REPLAY_PAGE)
        for record in page:
            if not low < record.seq <= high:
                conn.push_replayed(frames.message(record))
        if page:
            after = page[-1].seq
            sent += len(page)
        if len(page) < REPLAY_PAGE:
            conn.replayed(room_id, last_seen, after)
            return max(after, conn.high(room_id)), False
        await conn.drained()
    conn.replayed(room_id, last_seen, after)
    return after, True
