"""python -m bench.run SCENARIO [--quick] [--json FILE]

Starts a real server, builds the scenario's rooms through the REST API, runs the
load from separate processes, and reports rate, latency percentiles, loss,
duplication, order, and the server's CPU and peak memory.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import queue
import secrets
import sys
import time
from dataclasses import dataclass, replace
from typing import Any

import httpx
import psutil
from hdrh.histogram import HdrHistogram

import imbachat
from bench import flood, load, roomlist, storm, uploads
from bench.server import REDIS_URL, ServerUnderTest, drop_postgres, scratch_postgres

WORKERS = 2


@dataclass(frozen=True)
class Scenario:
    name: str
    rooms: int
    members: int
    rate: float  # messages per second, offered, in total
    duration: float
    mode: str = "ws"
    idle: int = 0
    target: str = ""
    profile: str = ""  # py-spy's raw samples of the server during the load go here
    uploaders: int = 0  # clients uploading large files in a loop meanwhile
    upload_bytes: int = 20_000_000


SCENARIOS = {
    "send": (
        Scenario(
            "send",
            rooms=100,
            members=10,
            rate=2000,
            duration=20,
            target=">= 2,000 msg/s, p99 <= 50 ms, zero loss",
        ),
        Scenario("send", rooms=20, members=10, rate=400, duration=8),
    ),
    "send-uploads": (
        Scenario(
            "send-uploads",
            rooms=100,
            members=10,
            rate=2000,
            duration=20,
            uploaders=4,
            target="send's p99 within noise while 4 clients upload 20 MB files in a loop",
        ),
        Scenario("send-uploads", rooms=20, members=10, rate=400, duration=8, uploaders=4),
    ),
    "send-rest": (
        Scenario(
            "send-rest",
            rooms=50,
            members=10,
            rate=1000,
            duration=20,
            mode="rest",
            target=">= 1,000 msg/s, p99 <= 50 ms",
        ),
        Scenario("send-rest", rooms=20, members=10, rate=300, duration=8, mode="rest"),
    ),
    "bigroom": (
        Scenario(
            "bigroom",
            rooms=1,
            members=1000,
            rate=20,
            duration=20,
            target="p99 to the last member <= 25 ms",
        ),
        Scenario("bigroom", rooms=1, members=200, rate=20, duration=8),
    ),
    "multinode": (
        Scenario(
            "multinode",
            rooms=100,
            members=10,
            rate=1000,
            duration=15,
            mode="multinode",
            target="p99 within 5 ms of one node at 1,000 msg/s",
        ),
        Scenario("multinode", rooms=20, members=10, rate=200, duration=8, mode="multinode"),
    ),
    "fanout": (
        Scenario(
            "fanout", rooms=1, members=1000, rate=60, duration=15, target=">= 50,000 deliveries/s"
        ),
        Scenario("fanout", rooms=1, members=500, rate=60, duration=8),
    ),
    "idle": (
        Scenario(
            "idle",
            rooms=0,
            members=0,
            rate=0,
            duration=0,
            idle=19_000,
            target=">= 20,000 sockets in <= 1 GiB",
        ),
        Scenario("idle", rooms=0, members=0, rate=0, duration=0, idle=2_000),
    ),
}


def build_rooms(server: ServerUnderTest, imba_id: int, scenario: Scenario) -> list[dict[str, Any]]:
    rooms = []
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for index in range(scenario.rooms):
            members = list(range(index * scenario.members + 1, (index + 1) * scenario.members + 1))
            room_id = None
            # The API takes at most 500 users per call: a bigger room is created, then
            # the rest are added to it.
            for chunk in range(0, len(members), 500):
                data: dict[str, Any] = {
                    "imba_id": imba_id,
                    "login": "bench",
                    "password": "bench",
                    "room_type": 1,
                }
                if room_id is not None:
                    data["room_id"] = room_id
                users = members[chunk : chunk + 500]
                data.update({f"users_ids[{i}]": user for i, user in enumerate(users)})
                answer = client.post("/imbachat/v1/widget/imba_rooms", data=data)
                answer.raise_for_status()
                room_id = int(answer.json()["data"][0]["room_id"])
            rooms.append({"id": room_id, "members": members, "sender": members[0]})
    return rooms


def split(rooms: list[dict[str, Any]], idle: int, scenario: Scenario) -> list[dict[str, list[Any]]]:
    """Rooms (or, for one big room, its members) and idle users per worker."""
    parts: list[dict[str, list[Any]]] = [{"rooms": [], "idle_users": []} for _ in range(WORKERS)]
    if scenario.rooms == 1:
        room = rooms[0]
        for worker in range(WORKERS):
            members = room["members"][worker::WORKERS]
            parts[worker]["rooms"].append({**room, "members": members})
    else:
        for index, room in enumerate(rooms):
            parts[index % WORKERS]["rooms"].append(room)
    for index, user in enumerate(range(1, idle + 1)):
        parts[index % WORKERS]["idle_users"].append(user)
    return parts


def collect(answers: Any, workers: list[Any], timeout: float = 600) -> list[Any]:
    """One answer per worker; fails at once if a worker dies without answering
    (rather than waiting out the timeout)."""
    got: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(got) < len(workers):
        try:
            got.append(answers.get(timeout=1))
            continue
        except queue.Empty:
            pass
        dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
        if dead:
            raise RuntimeError(f"a load worker died (exit code {dead[0]}); see its traceback")
        if time.monotonic() > deadline:
            raise TimeoutError(f"load workers gave {len(got)} of {len(workers)} answers")
    return got


def percentiles(histogram: HdrHistogram) -> dict[str, float]:
    if histogram.get_total_count() == 0:
        return {}
    return {
        f"p{p}": round(histogram.get_value_at_percentile(p) / 1000, 2) for p in (50, 90, 99)
    } | {"max": round(histogram.get_max_value() / 1000, 2)}


def run(scenario: Scenario, quick: bool) -> dict[str, Any]:
    if scenario.mode == "multinode":
        return run_multinode(scenario, quick)
    server = ServerUnderTest()
    return run_on(scenario, quick, server, server)


def run_multinode(scenario: Scenario, quick: bool) -> dict[str, Any]:
    """The same load on one node, then on two (senders on A, receivers on B), both
    on PostgreSQL; the second adds the Redis bus between the nodes."""
    database = scratch_postgres()
    try:
        one = ServerUnderTest(database)
        single = run_on(replace(scenario, mode="ws"), quick, one, one)
    finally:
        drop_postgres(database)
    database = scratch_postgres()
    node_a = ServerUnderTest(database, REDIS_URL)
    try:
        node_a.start()  # migrates first, alone
        node_b = ServerUnderTest(database, REDIS_URL)
        double = run_on(replace(scenario, mode="ws"), quick, node_b, node_a)
    finally:
        node_a.stop()
        drop_postgres(database)
    double["scenario"] = "multinode"
    double["single_node_latency_ms"] = single["latency_ms"]
    p99 = double["latency_ms"].get("p99", 0) - single["latency_ms"].get("p99", 0)
    double["p99_difference_ms"] = round(p99, 2)
    return double


def run_on(
    scenario: Scenario, quick: bool, server: ServerUnderTest, sender_node: ServerUnderTest
) -> dict[str, Any]:
    """Run a scenario with receivers on ``server`` and senders on ``sender_node``
    (the same server unless two nodes are measured)."""
    server.start()
    try:
        imba_id, secret = server.create_widget()
        rooms = build_rooms(server, imba_id, scenario)
        ctx = mp.get_context("spawn")
        ready, results, go, stop = ctx.Queue(), ctx.Queue(), ctx.Event(), ctx.Event()
        start_at = ctx.Value("d", 0.0)
        configs = [
            {
                "ws_url": server.ws_url,
                "url": server.url,
                "imba_id": imba_id,
                "secret": secret,
                "tag": secrets.token_hex(4),
                "mode": scenario.mode,
                "duration": scenario.duration,
                "room_rate": scenario.rate / max(1, scenario.rooms),
                "drain": 3.0,
                "stop": stop,
                "start_value": start_at,
                "sender_ws_url": sender_node.ws_url,
                **part,
            }
            for part in split(rooms, scenario.idle, scenario)
        ]
        tag = configs[0]["tag"]
        for cfg in configs:
            cfg["tag"] = tag
        workers = [ctx.Process(target=load.main, args=(cfg, ready, go, results)) for cfg in configs]
        rss_before = server.rss()  # the server warm (a widget, its rooms), no socket yet
        for worker in workers:
            worker.start()
        # Started (and ready) before the load: their start-up is not the load's.
        uploaders, uploaded = start_uploaders(ctx, scenario, server, imba_id, secret)
        connected = sum(collect(ready, workers))
        print(f"{scenario.name}: {connected} sockets connected", file=sys.stderr, flush=True)
        start_at.value = time.time() + 1.0  # every worker's first message is due then
        server.measure()
        usage: dict[str, float] = {}
        loadgen = [psutil.Process(worker.pid) for worker in workers]
        loadgen_cpu0, loadgen_t0 = sum(sum(p.cpu_times()[:2]) for p in loadgen), time.monotonic()
        idle_rss = idle_kib = None
        if scenario.idle:
            time.sleep(3)
            rss = server.rss()
            idle_rss = round(rss / 2**20, 1)
            # What each open socket costs the server: RSS growth over their number.
            idle_kib = round((rss - rss_before) / 1024 / max(1, connected), 1)
            stop.set()
        go.set()
        if uploaded is not None:
            uploaded[2].set()
        profiler = server.profile(scenario.duration, scenario.profile) if scenario.profile else None
        outcome = collect(results, workers)
        upload_report = stop_uploaders(uploaders, uploaded)
        loadgen_cpu = sum(sum(p.cpu_times()[:2]) for p in loadgen) - loadgen_cpu0
        usage["loadgen_cpu_percent"] = round(100 * loadgen_cpu / (time.monotonic() - loadgen_t0), 1)
        for worker in workers:
            worker.join(timeout=30)
        usage.update(server.stop_measuring())
        if profiler is not None:
            profiler.wait(timeout=60)
    finally:
        server.stop()
    report = summarize(scenario, quick, rooms, outcome, usage, connected, idle_rss, idle_kib)
    if upload_report is not None:
        report["uploads"] = upload_report
    return report


def start_uploaders(
    ctx: Any, scenario: Scenario, server: ServerUnderTest, imba_id: int, secret: str
) -> tuple[list[Any], Any]:
    """``scenario.uploaders`` processes posting large files until stopped."""
    if not scenario.uploaders:
        return [], None
    done, stop, go = ctx.Queue(), ctx.Event(), ctx.Event()
    processes = [
        ctx.Process(
            target=uploads.main,
            args=(
                {
                    "url": server.url,
                    "imba_id": imba_id,
                    "secret": secret,
                    "user_id": index + 1,  # members of the first room
                    "file_bytes": scenario.upload_bytes,
                    "stop": stop,
                    "go": go,
                },
                done,
            ),
        )
        for index in range(scenario.uploaders)
    ]
    for process in processes:
        process.start()
    return processes, (done, stop, go)


def stop_uploaders(processes: list[Any], uploaded: Any) -> dict[str, Any] | None:
    if not processes:
        return None
    done, stop, _ = uploaded
    stop.set()
    parts = collect(done, processes, timeout=300)
    for process in processes:
        process.join(timeout=30)
    return {
        "clients": len(processes),
        "files": sum(p["uploads"] for p in parts),
        "failed": sum(p["failed"] for p in parts),
        "mb_per_second": round(sum(p["mb_per_second"] for p in parts), 1),
    }


def summarize(
    scenario: Scenario,
    quick: bool,
    rooms: list[dict[str, Any]],
    outcome: list[dict[str, Any]],
    usage: dict[str, float],
    connected: int,
    idle_rss: float | None,
    idle_kib: float | None = None,
) -> dict[str, Any]:
    latency = HdrHistogram(1, load.HIGHEST_US, 3)
    slowest: dict[str, int] = {}
    sent: dict[int, int] = {}
    received: dict[str, int] = {}
    for part in outcome:
        latency.add(HdrHistogram.decode(part["histogram"]))
        for key, us in part["slowest"].items():
            slowest[key] = max(slowest.get(key, 0), us)
        for room, count in part["sent"].items():
            sent[int(room)] = sent.get(int(room), 0) + count
        received.update(part["received"])
    expected = sum(sent.get(r["id"], 0) * (len(r["members"]) - 1) for r in rooms)
    unique = sum(received.values())
    last_member = HdrHistogram(1, load.HIGHEST_US, 3)
    for us in slowest.values():
        last_member.record_value(min(us, load.HIGHEST_US))
    messages = sum(sent.values())
    report = {
        "scenario": scenario.name,
        "quick": quick,
        "target": scenario.target,
        "offered_rate": scenario.rate,
        "achieved_rate": round(messages / scenario.duration, 1) if scenario.duration else 0,
        "messages": messages,
        "deliveries": unique,
        "deliveries_per_second": round(unique / scenario.duration, 1) if scenario.duration else 0,
        "latency_ms": percentiles(latency),
        "last_member_latency_ms": percentiles(last_member),
        "lost": max(0, expected - unique),
        "duplicated": sum(p["duplicates"] for p in outcome),
        "rest_failed": sum(p.get("rest_failed", 0) for p in outcome),
        "out_of_order": sum(p["out_of_order"] for p in outcome),
        "sockets": connected,
        "idle_rss_mb": idle_rss,
        "idle_kib_per_socket": idle_kib,
        "server": usage,
        "versions": {
            "imbachat": imbachat.__version__,
            "python": platform.python_version(),
            "machine": f"{platform.machine()}, {mp.cpu_count()} cores",
        },
    }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=sorted([*SCENARIOS, "flood", "roomlist", "storm"]))
    parser.add_argument("--quick", action="store_true", help="a short smoke run (under 60 s)")
    parser.add_argument("--json", dest="json_file", help="also write the report here")
    parser.add_argument("--rate", type=float, help="offer this many messages/s instead")
    parser.add_argument("--duration", type=float, help="send for this many seconds instead")
    parser.add_argument(
        "--profile", metavar="FILE", help="record the server with py-spy (raw format) meanwhile"
    )
    args = parser.parse_args()
    if args.scenario == "flood":
        report = flood.run(args.quick)
    elif args.scenario == "roomlist":
        report = roomlist.run(args.quick, args.profile)
    elif args.scenario == "storm":
        report = storm.run(args.quick, args.rate, args.profile)
    else:
        full, quick = SCENARIOS[args.scenario]
        scenario = quick if args.quick else full
        if args.rate is not None:
            scenario = replace(scenario, rate=args.rate)
        if args.duration is not None:
            scenario = replace(scenario, duration=args.duration)
        if args.profile:
            scenario = replace(scenario, profile=args.profile)
        report = run(scenario, args.quick)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json_file:
        with open(args.json_file, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")


if __name__ == "__main__":
    main()
