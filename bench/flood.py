"""The `flood` scenario: one user floods, everyone else must not notice.

A room of 50 users with a page of history. Bystanders (one socket each) ping the
server every 100 ms and time the answer. Then one user opens as many sockets as
the server lets them and, from a process of their own, sends ``history`` frames on
all of them as fast as they can without reading the answers, reconnecting when
cut off. Measured: the bystanders' round trip before and during the flood, how
the flooder's sockets were closed, and the server's CPU and memory. The server
runs with its default limits (frame budget, queue bounds, socket caps).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections import Counter
from typing import Any

import httpx
import jwt
import orjson
import uvloop
import websockets
from hdrh.histogram import HdrHistogram

from bench.server import ServerUnderTest

BYSTANDERS = 50
FLOODER = 1  # host id of the flooding user
PING_EVERY = 0.1


def token(secret: str, user: int) -> str:
    return jwt.encode({"user_id": user, "exp": int(time.time()) + 3600}, secret, "HS256")


async def bystander(url: str, until: float, split_at: float, found: dict[str, HdrHistogram]):
    async with websockets.connect(url, max_size=2**24) as ws:
        await ws.recv()  # ready
        while time.monotonic() < until:
            sent = time.perf_counter()
            await ws.send('{"type":"ping"}')
            while orjson.loads(await ws.recv())["type"] != "pong":
                pass
            rtt = int((time.perf_counter() - sent) * 1e6)
            found["before" if time.monotonic() < split_at else "during"].record_value(rtt)
            await asyncio.sleep(PING_EVERY)


async def flood_socket(url: str, room: int, until: float, closes: Counter[Any]) -> int:
    sent = 0
    frame = orjson.dumps({"type": "history", "room_id": room, "limit": 200}).decode()
    while time.monotonic() < until:
        try:
            async with websockets.connect(url, max_queue=1, max_size=2**24) as ws:
                while time.monotonic() < until:
                    await ws.send(frame)
                    sent += 1
                    if sent % 50 == 0:
                        await asyncio.sleep(0)
        except websockets.ConnectionClosed as exc:
            closes[exc.rcvd.code if exc.rcvd else None] += 1
            await asyncio.sleep(0.05)
        except (OSError, websockets.InvalidStatus):
            closes["refused"] += 1
            await asyncio.sleep(0.05)
    return sent


def flooder(url: str, room: int, sockets: int, start_at: float, seconds: float, out: Any) -> None:
    """Started ahead (a process's start costs the box's CPU too), flooding from
    ``start_at`` (wall clock) on."""

    async def main() -> None:
        closes: Counter[Any] = Counter()
        await asyncio.sleep(max(0.0, start_at - time.time()))
        until = time.monotonic() + seconds
        sent = await asyncio.gather(
            *(flood_socket(url, room, until, closes) for _ in range(sockets))
        )
        out.put({"frames_sent": sum(sent), "closes": {str(k): v for k, v in closes.items()}})

    uvloop.run(main())


def run(quick: bool) -> dict[str, Any]:
    calm, seconds = (3.0, 10.0) if quick else (5.0, 30.0)
    server = ServerUnderTest()
    for name in (
        "IMBACHAT_WS_FRAMES_PER_SECOND",
        "IMBACHAT_WS_READS_PER_SECOND",
        "IMBACHAT_WS_MAX_SOCKETS_PER_ADDRESS",
    ):
        server.env.pop(name)  # this scenario measures the defaults
    server.env.pop("IMBACHAT_WS_MAX_QUEUE")
    server.imbachat("migrate")
    imba_id, secret = server.create_widget()
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            people = {f"users_ids[{i}]": str(i + 1) for i in range(BYSTANDERS + 1)}
            created = http.post(
                "/imbachat/v1/widget/imba_rooms",
                data={"imba_id": imba_id, "login": "bench", "password": "bench", **people},
            ).json()
            room = int(created["data"][0]["room_id"])
            for i in range(200):
                http.post(
                    f"/imbachat/v2/{imba_id}/send_msg",
                    auth=(str(imba_id), secret),
                    data={"user_id": 2, "room_id": room, "message": f"history {i} " + "x" * 500},
                )
        base = f"{server.ws_url}/imbachat/v1/{imba_id}/ws?token="
        found = {name: HdrHistogram(1, 60_000_000, 3) for name in ("before", "during")}
        out: Any = multiprocessing.get_context("spawn").Queue()
        server.measure()
        start = time.monotonic()
        flood = multiprocessing.get_context("spawn").Process(
            target=flooder,
            args=(base + token(secret, FLOODER), room, 20, time.time() + calm, seconds, out),
        )
        flood.start()

        async def bystanders() -> None:
            until = start + calm + seconds
            await asyncio.gather(
                *(
                    bystander(base + token(secret, user), until, start + calm, found)
                    for user in range(2, BYSTANDERS + 2)
                )
            )

        uvloop.run(bystanders())
        flooded = out.get(timeout=60)
        flood.join(timeout=30)
        usage = server.stop_measuring()
    finally:
        server.stop()

    def ms(histogram: HdrHistogram) -> dict[str, float]:
        return {
            f"p{p}": round(histogram.get_value_at_percentile(p) / 1000, 2) for p in (50, 90, 99)
        } | {"max": round(histogram.get_max_value() / 1000, 2)}

    return {
        "scenario": "flood",
        "quick": quick,
        "target": "bystanders' round trip p99 < 50 ms during the flood",
        "bystanders": BYSTANDERS,
        "round_trip_ms_before": ms(found["before"]),
        "round_trip_ms_during": ms(found["during"]),
        "flooder": flooded,
        "server": usage,
    }
