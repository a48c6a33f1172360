"""One load-generator process: WebSocket clients on uvloop.

The clients are picows listeners (its frame parser is compiled): a receiver costs a
few microseconds per frame, so a thousand of them on this box measure the server
rather than themselves. (The ``websockets`` client cost about 15 µs per frame, and
in ``bigroom`` the two load processes used twice the server's CPU.)

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
from hdrh.histogram import HdrHistogram
from picows import WSError, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

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


class Client(WSListener):
    """One user's socket: counts every tagged message it receives into the tally."""

    def __init__(self, user: int, tag: str, tally: Tally) -> None:
        self.user = user
        self.prefix = tag + "|"
        self.tally = tally
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: WSTransport | None = None
        self._parts: list[bytes] = []  # a fragmented message's frames so far

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.TEXT or (
            frame.msg_type == WSMsgType.CONTINUATION and self._parts
        ):
            self._parts.append(frame.get_payload_as_bytes())
            if frame.fin:
                payload, self._parts = b"".join(self._parts), []
                self.on_message(orjson.loads(payload))
        elif frame.msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def on_message(self, frame: dict[str, Any]) -> None:
        if not self.ready.done():
            self.ready.set_result(None)  # the server's first frame: ready
        if frame.get("type") != "message":
            return
        text = frame["message"]["message"]
        if text.startswith(self.prefix):
            _, room, n, intended = text.split("|", 3)
            self.tally.take(self.user, int(room), int(n), int(intended))

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed before ready"))

    def send(self, frame: dict[str, Any]) -> None:
        assert self.transport is not None
        self.transport.send(WSMsgType.TEXT, orjson.dumps(frame))

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_disconnected:
            self.transport.send_close()
            self.transport.disconnect()


async def connect(cfg: dict[str, Any], user: int, tally: Tally, limit: asyncio.Semaphore) -> Client:
    """Senders connect to ``sender_ws_url`` (node A), everyone else to ``ws_url``."""
    senders = {room["sender"] for room in cfg["rooms"]}
    base = cfg.get("sender_ws_url", cfg["ws_url"]) if user in senders else cfg["ws_url"]
    url = f"{base}/imbachat/v1/{cfg['imba_id']}/ws?token={token(cfg['secret'], user)}"
    error: Exception | None = None
    async with limit:
        for attempt in range(5):
            client: Client | None = None
            try:
                transport, listener = await ws_connect(
                    lambda: Client(user, cfg["tag"], tally),
                    url,
                    websocket_handshake_timeout=60,
                    max_frame_size=2**22,
                )
                assert isinstance(listener, Client)
                client = listener
                client.transport = transport
                await asyncio.wait_for(client.ready, 60)
                return client
            except (OSError, WSError, TimeoutError) as exc:
                error = exc
                if client is not None:
                    client.close()
                await asyncio.sleep(0.5 * (attempt + 1))
    raise RuntimeError(f"user {user} could not connect: {error!r}")


async def send_open_loop(
    cfg: dict[str, Any], room: int, sender: int, client: Client, http: RestPool | None
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
            client.send(frame)
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
        zip(
            users,
            await asyncio.gather(*(connect(cfg, u, tally, limit) for u in users)),
            strict=True,
        )
    )
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
    for client in sockets.values():
        client.close()
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
