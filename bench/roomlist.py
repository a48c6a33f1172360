"""The `roomlist` scenario: a user in 100 rooms, among many rooms full of messages.

The database is seeded directly (SQLite bulk inserts, counters filled in as the
server maintains them), then one user connects again and again: the time from
connecting to ``ready`` (the room list with previews and unread counts) and the
time of a ``history`` page are what is measured.
"""

from __future__ import annotations

import random
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import orjson
import uvloop
import websockets
from hdrh.histogram import HdrHistogram

from bench.server import ServerUnderTest

MEMBERS_PER_ROOM = 5
USER = 1  # host id of the measured user: a member of the first 100 rooms


def seed(path: str, imba_id: int, rooms: int, messages: int) -> None:
    """Rooms, members and messages, with last_seq, member counts, last message
    dates and read marks as the server would have left them."""
    db = sqlite3.connect(path)
    now = datetime.now(UTC).replace(tzinfo=None)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    users = rooms * MEMBERS_PER_ROOM // 2 + 1
    db.executemany(
        "INSERT INTO users (imba_id, remote_user_id, status, is_banned, is_bot, created_at,"
        " updated_at) VALUES (?, ?, 'user', 0, 0, ?, ?)",
        [(imba_id, uid, stamp, stamp) for uid in range(1, users + 1)],
    )
    ids = dict(db.execute("SELECT remote_user_id, id FROM users WHERE imba_id = ?", (imba_id,)))
    per_room = messages // rooms
    db.executemany(
        "INSERT INTO rooms (imba_id, pipe, name, type, tab, is_public, status, member_count,"
        " last_seq, last_message_at, created_at, updated_at)"
        " VALUES (?, ?, ?, 1, 0, 0, 0, ?, ?, ?, ?, ?)",
        [
            (imba_id, f"r{r}", f"Room {r}", MEMBERS_PER_ROOM, per_room, stamp, stamp, stamp)
            for r in range(rooms)
        ],
    )
    room_ids = [
        row[0]
        for row in db.execute("SELECT id FROM rooms WHERE imba_id = ? ORDER BY id", (imba_id,))
    ]
    rng = random.Random(7)
    member_rows = []
    authors: dict[int, list[int]] = {}
    for index, room in enumerate(room_ids):
        people = {USER} if index < 100 else set()
        while len(people) < MEMBERS_PER_ROOM:
            people.add(rng.randint(2, users))
        authors[room] = [ids[p] for p in people]
        for person in people:
            read = rng.randint(0, per_room)
            member_rows.append((room, ids[person], "member", 0, 0, read, stamp, stamp))
    db.executemany(
        "INSERT INTO members (room_id, user_id, role, status, is_banned, last_read_seq, joined_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        member_rows,
    )
    start = now - timedelta(days=30)
    batch = []
    for room in room_ids:
        for seq in range(1, per_room + 1):
            at = (start + timedelta(seconds=seq * 60)).strftime("%Y-%m-%d %H:%M:%S.%f")
            batch.append(
                (
                    imba_id,
                    room,
                    seq,
                    rng.choice(authors[room]),
                    f"{room}-{seq}-seed00",
                    f"message {seq} of room {room}",
                    at,
                )
            )
        if len(batch) >= 50_000:
            _insert_messages(db, batch)
            batch = []
    _insert_messages(db, batch)
    db.commit()
    db.close()


def _insert_messages(db: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    db.executemany(
        "INSERT INTO messages (imba_id, room_id, seq, author_id, uuid, body, answer_to, liked,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?)",
        rows,
    )


async def measure(ws_url: str, imba_id: int, secret: str, rounds: int) -> dict[str, HdrHistogram]:
    token = jwt.encode({"user_id": USER, "exp": int(time.time()) + 3600}, secret, "HS256")
    url = f"{ws_url}/imbachat/v1/{imba_id}/ws?token={token}"
    ready, after_open, history = (HdrHistogram(1, 60_000_000, 3) for _ in range(3))
    rooms: list[dict[str, Any]] = []
    for _ in range(rounds):
        started = time.perf_counter()
        async with websockets.connect(url, max_size=2**24) as ws:
            opened = time.perf_counter()
            frame = orjson.loads(await ws.recv())
            done = time.perf_counter()
            ready.record_value(int((done - started) * 1e6))
            after_open.record_value(int((done - opened) * 1e6))
            rooms = frame["rooms"]
            room = random.choice(rooms)
            before = random.randint(2, max(2, room["last_seq"]))
            asked = time.perf_counter()
            await ws.send(
                orjson.dumps(
                    {"type": "history", "room_id": room["id"], "before_seq": before, "limit": 50}
                ).decode()
            )
            while orjson.loads(await ws.recv())["type"] != "history":
                pass
            history.record_value(int((time.perf_counter() - asked) * 1e6))
    assert len(rooms) == 100 and all("unread" in r and r["last_message"] for r in rooms)
    return {"ready": ready, "after_open": after_open, "history": history}


def run(quick: bool, profile: str | None = None) -> dict[str, Any]:
    rooms, messages, rounds = (1_000, 100_000, 100) if quick else (10_000, 1_000_000, 300)
    server = ServerUnderTest()
    server.imbachat("migrate")
    imba_id, secret = server.create_widget()
    started = time.monotonic()
    seed(server.database_url.removeprefix("sqlite:///"), imba_id, rooms, messages)
    print(
        f"roomlist: seeded {messages} messages in {rooms} rooms"
        f" in {time.monotonic() - started:.0f} s",
        file=sys.stderr,
        flush=True,
    )
    server.start()
    try:
        server.measure()
        profiler = server.profile(rounds / 10, profile) if profile else None
        found = uvloop.run(measure(server.ws_url, imba_id, secret, rounds))
        usage = server.stop_measuring()
        if profiler is not None:
            profiler.wait(timeout=60)
    finally:
        server.stop()

    def ms(histogram: HdrHistogram) -> dict[str, float]:
        return {
            f"p{p}": round(histogram.get_value_at_percentile(p) / 1000, 2) for p in (50, 90, 99)
        } | {"max": round(histogram.get_max_value() / 1000, 2)}

    return {
        "scenario": "roomlist",
        "quick": quick,
        "target": "room list p99 <= 20 ms; history page <= 10 ms server-side",
        "rooms": rooms,
        "messages": messages,
        "rounds": rounds,
        "room_list_ms": ms(found["ready"]),
        # From the handshake's end: the server's work plus the frame's transfer.
        "room_list_after_open_ms": ms(found["after_open"]),
        "history_page_ms": ms(found["history"]),
        "server": usage,
    }
