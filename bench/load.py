"""One load-generator process: WebSocket clients on uvloop.

Senders are open-loop: message ``n`` of a room is due at ``start + n / rate`` and
carries that intended time, so latency counts from when it *should* have left
(no coordinated omission). Receivers count every tagged message they get, so
loss, duplication and order are measured, not assumed.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any

import jwt
import orjson
import uvloop
import websockets
from hdrh.histogram import HdrHistogram

from bench.rest_client import RestPool

HIGHEST_US = 120_000_000  # 2 minutes


def histogram() -> HdrHistogram:
    return HdrHistogram(1, HIGHEST_US, 3)


@dataclass
class Tally:
    latency: HdrHistogram = field(default_factory=histogram)
    seen: dict[tuple[int, int], set[int]] = field(default_factory=lambda: defaultdict(set))
    last: dict[tuple[int, int], int] = field(default_factory=dict)
    duplicates: int = 0
    out_of_order: int = 0
    slowest: dict[tuple[int, int], int] = field(default_factory=dict)  # (room, n) -> max µs

    def take(self, receiver: int, room: int, n: int, intended_ns: int) -> None:
        micros = max(1, (time.time_ns() - intended_ns) // 1000)
        self.latency.record_value(min(micros, HIGHEST_US))
        key = (receiver, room)
        if n in self.seen[key]:
            self.duplicates += 1
            return
        self.seen[key].add(n)
        if n < self.last.get(key, -1):
            self.out_of_order += 1
        self.last[key] = max(n, self.last.get(key, -1))
        self.slowest[(room, n)] = max(self.slowest.get((room, n), 0), micros)


def token(secret: str, user: int) -> str:
    return jwt.encode({"user_id": user, "exp": int(time.time()) + 3600}, secret, "HS256")


async def connect(cfg: dict[str, Any], user: int, limit: asyncio.Semaphore) -> Any:
    """Senders connect to ``sender_ws_url`` (node A), everyone else to ``ws_url``."""
    senders = {room["sender"] for room in cfg["rooms"]}
    base = cfg.get("sender_ws_url", cfg["ws_url"]) if user in senders else cfg["ws_url"]
    url = f"{base}/imbachat/v1/{cfg['imba_id']}/ws?token={token(cfg['secret'], user)}"
    async with limit:
        for attempt in range(5):
            try:
                ws = await websockets.connect(url, max_size=2**22, max_queue=None, open_timeout=60)
                await ws.recv()  # ready
                return ws
            except (OSError, websockets.WebSocketException, TimeoutError):
                await asyncio.sleep(0.5 * (attempt + 1))
    raise RuntimeError(f"user {user} could not connect")


async def receive(ws: Any, user: int, tag: str, tally: Tally) -> None:
    prefix = tag + "|"
    try:
        async for raw in ws:
            frame = orjson.loads(raw)
            if frame.get("type") != "message":
                continue
            text = frame["message"]["message"]
            if text.startswith(prefix):
                _, room, n, intended = text.split("|", 3)
                tally.take(user, int(room), int(n), int(intended))
    except websockets.ConnectionClosed:
        pass


async def send_open_loop(
    cfg: dict[str, Any], room: int, sender: int, ws: Any, http: RestPool | None
) -> tuple[int, int]:
    """Send the room's messages on time; returns how many were sent, and how many
    REST calls failed (not answered 200)."""
    rate, start, end = cfg["room_rate"], cfg["start_at"], cfg["start_at"] + cfg["duration"]
    # Each room gets its own phase, so the aggregate offered load is smooth rather
    # than every room sending at the same instant.
    phase = random.Random(room).random() / rate
    tasks: list[asyncio.Task[tuple[int, bytes]]] = []
    n = 0
    while True:
        intended = start + phase + n / rate
        if intended >= end:
            break
        delay = intended - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        text = f"{cfg['tag']}|{room}|{n}|{int(intended * 1e9)}"
        if http is None:
            frame = {"type": "send", "room_id": room, "text": text, "client_id": f"{room}-{n}"}
            await ws.send(orjson.dumps(frame).decode())
        else:
            form = {"user_id": sender, "room_id": room, "message": text}
            task = asyncio.create_task(
                http.post_form(f"/imbachat/v2/{cfg['imba_id']}/send_msg", form)
            )
            tasks.append(task)
        n += 1
    answers = await asyncio.gather(*tasks, return_exceptions=True)
    failed = sum(1 for a in answers if isinstance(a, BaseException) or a[0] != 200)
    return n, failed


async def run(cfg: dict[str, Any], ready: Queue, go: Event, results: Queue) -> None:
    limit = asyncio.Semaphore(200)
    tally = Tally()
    users = sorted(
        {u for room in cfg["rooms"] for u in room["members"]} | set(cfg.get("idle_users", []))
    )
    sockets = dict(
        zip(users, await asyncio.gather(*(connect(cfg, u, limit) for u in users)), strict=True)
    )
    readers = [asyncio.create_task(receive(ws, u, cfg["tag"], tally)) for u, ws in sockets.items()]
    ready.put(len(sockets))
    await asyncio.get_running_loop().run_in_executor(None, go.wait)
    cfg["start_at"] = cfg["start_value"].value
    http = None
    if cfg["mode"] == "rest":
        http = RestPool(cfg["url"], str(cfg["imba_id"]), cfg["secret"], size=64)
    sent: dict[int, int] = {}
    failed = 0
    if cfg["rooms"] and cfg["duration"]:
        senders = [r for r in cfg["rooms"] if r["sender"] in sockets]
        counts = await asyncio.gather(
            *(
                send_open_loop(cfg, r["id"], r["sender"], sockets[r["sender"]], http)
                for r in senders
            )
        )
        sent = {r["id"]: c for r, (c, _) in zip(senders, counts, strict=True)}
        failed = sum(f for _, f in counts)
        # Listen until the run is over everywhere, not just until this worker's
        # own senders are done (a worker may hold receivers only).
        end = cfg["start_at"] + cfg["duration"] + cfg["drain"]
        await asyncio.sleep(max(0.0, end - time.time()))
    else:
        await asyncio.get_running_loop().run_in_executor(None, cfg["stop"].wait)
    for ws in sockets.values():
        await ws.close()
    for reader in readers:
        reader.cancel()
    if http is not None:
        await http.close()
    received = {f"{u}:{room}": len(ns) for (u, room), ns in tally.seen.items()}
    results.put(
        {
            "sent": sent,
            "rest_failed": failed,
            "received": received,
            "duplicates": tally.duplicates,
            "out_of_order": tally.out_of_order,
            "histogram": tally.latency.encode(),
            "slowest": {f"{room}:{n}": us for (room, n), us in tally.slowest.items()},
        }
    )


def main(cfg: dict[str, Any], ready: Queue, go: Event, results: Queue) -> None:
    uvloop.run(run(cfg, ready, go, results))
