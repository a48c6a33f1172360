"""The `storm` scenario: every client reconnects and resumes at once.

Rooms of 10 members, every member online (one socket per user), one sender per
room sending at a steady rate with ``client_id``s. Then the server process is
restarted on the same port and database (SIGTERM, as a deploy does): every socket
drops, and every client reconnects at once (a jitter of at most 1 s, then retries
with backoff while the server is down), passing its position at connect
(``resume=room:seq``); senders re-send what was not acknowledged, with the same
``client_id``, and keep sending. Measured: how long until every client has its
``resumed`` frame, and, after a drain, per member and room, whether every ``seq``
from 1 to the room's final count arrived exactly once and in order (a member that
sends counts its ``ack``s as held).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import multiprocessing as mp
import platform
import queue
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field, replace
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import orjson
import psutil
import uvloop
import websockets
from hdrh.histogram import HdrHistogram

import imbachat
from bench.load import HIGHEST_US, histogram, token
from bench.server import ServerUnderTest, free_port_below_ephemeral

WORKERS = 2
MEMBERS = 10
JITTER = 1.0  # seconds: a client waits up to this long before its first reconnect
BACKOFF_FIRST, BACKOFF_MAX = 0.1, 1.0  # seconds between attempts while the server is down


@dataclass(frozen=True)
class Plan:
    rooms: int
    rate: float  # messages per second offered, in total (one sender per room)
    before: float  # seconds of steady sending before the restart
    deadline: float  # seconds after the new server listens to wait for every client
    after: float  # seconds of sending once every client is back
    drain: float  # seconds at most, after the last send, for acks and deliveries
    target: str = ""


FULL = Plan(
    rooms=1_000,
    rate=200,
    before=10,
    deadline=120,
    after=10,
    drain=30,
    target="10,000 clients reconnect and resume at once: all back within 30 s, nothing lost",
)
QUICK = Plan(rooms=200, rate=100, before=3, deadline=45, after=2, drain=10)


# ---- the load-generator processes --------------------------------------------


@dataclass
class Client:
    user: int
    room: int
    sender: bool
    url: str
    ws: Any = None
    live: bool = False  # connected, and resumed after a reconnect
    state: str = "connecting"  # where the client is, for clients that never came back
    seen: set[int] = field(default_factory=set)  # seqs held (a sender's acks count)
    last_message: int = 0  # highest seq of a message frame, for the order check
    duplicates: int = 0
    out_of_order: int = 0
    dropped_at: float = 0.0  # first drop (wall clock)
    resumed_at: float = 0.0  # first ``resumed`` after it
    drops: int = 0
    attempts: int = 0  # connection attempts after drops
    # senders only
    unacked: dict[str, str] = field(default_factory=dict)  # client_id -> text, in send order
    acked: dict[str, int] = field(default_factory=dict)  # client_id -> seq
    scheduled: int = 0
    frames_sent: int = 0
    sent_once: set[str] = field(default_factory=set)
    resent: int = 0  # sent again (after a reconnect or an error) while not acknowledged
    queued: int = 0  # first sent after a reconnect (due while the socket was down)
    stored_twice: int = 0  # a client_id acknowledged with two different seqs

    @property
    def position(self) -> int:
        return max(self.seen, default=0)


@dataclass
class Worker:
    cfg: dict[str, Any]
    events: Queue
    clients: list[Client] = field(default_factory=list)
    latency: HdrHistogram = field(default_factory=histogram)
    errors: Counter[str] = field(default_factory=Counter)
    back: int = 0
    stop_sending: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: bool = False
    retries: set[asyncio.Task[None]] = field(default_factory=set)

    async def connect(self, client: Client, resume: bool) -> Any:
        """Connect (with the position when resuming) and read ``ready``; retry with
        backoff until it works (or the run ends; a first connect gives up after 10)."""
        url = client.url + (f"&resume={client.room}:{client.position}" if resume else "")
        delay = BACKOFF_FIRST
        for attempt in itertools.count(1):
            if self.stopping:
                return None
            client.attempts += resume
            try:
                client.state = "opening the socket"
                ws = await websockets.connect(url, max_size=2**22, max_queue=None, open_timeout=30)
                client.state = "waiting for ready"
                first = orjson.loads(await ws.recv())
                if first.get("type") != "ready":
                    raise RuntimeError(f"user {client.user}: first frame {first!r}")
                return ws
            except (OSError, websockets.WebSocketException, TimeoutError) as exc:
                self.errors[f"{'re' if resume else ''}connect: {type(exc).__name__}"] += 1
                if not resume and attempt >= 10:
                    raise
            client.state = "backing off"
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(2 * delay, BACKOFF_MAX)
        return None

    async def run_client(self, client: Client) -> None:
        try:
            await self.follow(client)
        except Exception as exc:  # a harness bug must show in the report, not vanish
            client.state = f"crashed while {client.state}: {exc!r}"[:200]
            self.errors[f"client crashed: {type(exc).__name__}"] += 1
            if self.errors[f"client crashed: {type(exc).__name__}"] == 1:
                traceback.print_exc()

    async def follow(self, client: Client) -> None:
        """Read frames; when the socket drops, reconnect and resume, until the end."""
        while True:
            client.state = "waiting for resumed" if client.dropped_at else "connected"
            try:
                async for raw in client.ws:
                    await self.take(client, orjson.loads(raw))
            except websockets.ConnectionClosed:
                pass
            client.live = False
            if self.stopping:
                return
            self.errors[f"socket closed by the server: {client.ws.close_code}"] += 1
            client.drops += 1
            if not client.dropped_at:
                client.dropped_at = time.time()
            client.state = "jitter"
            await asyncio.sleep(random.random() * JITTER)
            client.ws = await self.connect(client, resume=True)
            if client.ws is None:
                return

    async def take(self, client: Client, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "message":
            message = frame["message"]
            seq = message["seq"]
            if frame["room_id"] != client.room:
                self.errors["message of another room"] += 1
                return
            if seq in client.seen:
                client.duplicates += 1
            if seq < client.last_message:
                client.out_of_order += 1
            client.last_message = max(client.last_message, seq)
            client.seen.add(seq)
            if not client.sender:
                intended = int(message["message"].rsplit("|", 1)[1])
                micros = max(1, (time.time_ns() - intended) // 1000)
                self.latency.record_value(min(micros, HIGHEST_US))
        elif kind == "ack":
            cid, seq = frame["client_id"], frame["message"]["seq"]
            if cid in client.acked and client.acked[cid] != seq:
                client.stored_twice += 1
            client.acked[cid] = seq
            client.unacked.pop(cid, None)
            client.seen.add(seq)
        elif kind == "resumed":
            client.live = True
            client.state = "resumed"
            if client.dropped_at and not client.resumed_at:
                client.resumed_at = time.time()
                self.back += 1
                if self.back == len(self.clients):
                    self.events.put(("back", self.cfg["worker"], client.resumed_at))
            for cid, text in list(client.unacked.items()):
                if cid in client.sent_once:
                    client.resent += 1
                else:
                    client.queued += 1
                await self.send(client, cid, text)
        elif kind == "error":
            self.errors[f"error {frame.get('code')}"] += 1
            ref = frame.get("ref")
            if client.sender and ref in client.unacked:
                task = asyncio.create_task(self.retry(client, ref))
                self.retries.add(task)
                task.add_done_callback(self.retries.discard)

    async def retry(self, client: Client, cid: str) -> None:
        """A send answered with an error (e.g. 500 while the server stops): again in
        a second, if still unacknowledged and connected (else the reconnect does)."""
        await asyncio.sleep(1.0)
        if cid in client.unacked and client.live:
            client.resent += 1
            await self.send(client, cid, client.unacked[cid])

    async def send(self, client: Client, cid: str, text: str) -> None:
        frame = {"type": "send", "room_id": client.room, "text": text, "client_id": cid}
        try:
            await client.ws.send(orjson.dumps(frame).decode())
            client.frames_sent += 1
            client.sent_once.add(cid)
        except websockets.ConnectionClosed:
            pass  # re-sent after the reconnect

    async def send_steadily(self, client: Client) -> None:
        """Message n of the room is due at start + phase + n / rate, connected or
        not (while the socket is down it waits with the unacknowledged ones), until
        the harness says stop."""
        rate, start = self.cfg["room_rate"], self.cfg["start_at"]
        phase = random.Random(client.room).random() / rate
        n = 0
        while True:
            intended = start + phase + n / rate
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_sending.wait(), max(0.0, intended - time.time()))
            if self.stop_sending.is_set():
                return
            n += 1
            cid = f"{self.cfg['tag']}-{client.room}-{n}"
            text = f"{self.cfg['tag']}|{client.room}|{n}|{int(intended * 1e9)}"
            client.unacked[cid] = text
            client.scheduled = n
            if client.live:
                await self.send(client, cid, text)

    def settled(self) -> bool:
        """Every send acknowledged and every member holding its room's last seq."""
        final: dict[int, int] = {}
        for client in self.clients:
            if client.sender:
                if client.unacked:
                    return False
                final[client.room] = max(client.acked.values(), default=0)
        return all(client.position >= final.get(client.room, 0) for client in self.clients)


async def work(cfg: dict[str, Any], ready: Queue, go: Event, events: Queue, results: Queue) -> None:
    worker = Worker(cfg, events)
    base = f"{cfg['ws_url']}/imbachat/v1/{cfg['imba_id']}/ws?token="
    for room in cfg["rooms"]:
        for user in room["members"]:
            url = base + token(cfg["secret"], user)
            worker.clients.append(Client(user, room["id"], user == room["sender"], url))
    limit = asyncio.Semaphore(200)

    async def first_connect(client: Client) -> None:
        async with limit:
            client.ws = await worker.connect(client, resume=False)
            client.live = True

    await asyncio.gather(*(first_connect(c) for c in worker.clients))
    readers = [asyncio.create_task(worker.run_client(c)) for c in worker.clients]
    ready.put(len(worker.clients))
    await asyncio.get_running_loop().run_in_executor(None, go.wait)
    cfg["start_at"] = cfg["start_value"].value
    progress = asyncio.create_task(report_progress(worker))
    loop = asyncio.get_running_loop()
    loop.run_in_executor(None, cfg["stop_sending"].wait).add_done_callback(
        lambda _: worker.stop_sending.set()
    )
    await asyncio.gather(*(worker.send_steadily(c) for c in worker.clients if c.sender))
    deadline = time.time() + cfg["drain"]
    while time.time() < deadline:
        if worker.settled():
            break
        await asyncio.sleep(0.2)
    settled = worker.settled()
    worker.stopping = True
    progress.cancel()
    await asyncio.gather(
        *(c.ws.close() for c in worker.clients if c.ws is not None), return_exceptions=True
    )
    await asyncio.wait(readers, timeout=10)
    for reader in readers:
        reader.cancel()
    events.put(("done", cfg["worker"], time.time()))
    results.put(
        {
            "settled": settled,
            "clients": [
                {
                    "user": c.user,
                    "room": c.room,
                    "sender": c.sender,
                    "seen": sorted(c.seen),
                    "duplicates": c.duplicates,
                    "out_of_order": c.out_of_order,
                    "dropped_at": c.dropped_at,
                    "resumed_at": c.resumed_at,
                    "drops": c.drops,
                    "attempts": c.attempts,
                    "state": c.state,
                }
                for c in worker.clients
            ],
            "senders": [
                {
                    "room": c.room,
                    "scheduled": c.scheduled,
                    "acked": len(c.acked),
                    "unacked": len(c.unacked),
                    "frames_sent": c.frames_sent,
                    "resent": c.resent,
                    "queued": c.queued,
                    "stored_twice": c.stored_twice,
                    "acked_seqs_distinct": len(set(c.acked.values())),
                }
                for c in worker.clients
                if c.sender
            ],
            "errors": dict(worker.errors),
            "histogram": worker.latency.encode(),
        }
    )


async def report_progress(worker: Worker) -> None:
    """Where this worker's clients are, every 2 s, on stderr."""
    while not worker.stopping:
        await asyncio.sleep(2)
        states = Counter(c.state for c in worker.clients)
        print(
            f"storm worker {worker.cfg['worker']} {time.time() - worker.cfg['start_at']:+.0f} s:",
            dict(states),
            file=sys.stderr,
            flush=True,
        )


def worker_main(
    cfg: dict[str, Any], ready: Queue, go: Event, events: Queue, results: Queue
) -> None:
    uvloop.run(work(cfg, ready, go, events, results))


# ---- the harness --------------------------------------------------------------


def shut_down(server: ServerUnderTest) -> None:
    """Stop the server, keeping its database: SIGTERM, and SIGKILL if it has not
    exited within a minute (after a failed storm, thousands of handlers may still be
    waiting for the database)."""
    if server.process.poll() is not None:
        return
    server.process.terminate()
    try:
        server.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def stored(server: ServerUnderTest, imba_id: int) -> dict[int, tuple[int, int]]:
    """Per room, its last seq and its number of stored messages, read from the
    database once the server has stopped."""
    db = sqlite3.connect(server.database_url.removeprefix("sqlite:///"))
    try:
        rows = db.execute(
            "SELECT r.id, r.last_seq, COUNT(m.id) FROM rooms r"
            " LEFT JOIN messages m ON m.room_id = r.id WHERE r.imba_id = ? GROUP BY r.id",
            (imba_id,),
        ).fetchall()
    finally:
        db.close()
    return {room: (last_seq, count) for room, last_seq, count in rows}


def spread(values: list[float]) -> dict[str, float]:
    """p50/p90/p99/max in ms of durations in seconds (up to an hour)."""
    from bench.run import percentiles

    recorded = HdrHistogram(1, 3_600_000_000, 3)
    for seconds in values:
        recorded.record_value(min(3_600_000_000, max(1, int(seconds * 1e6))))
    return percentiles(recorded)


def commit() -> str:
    """The code measured: HEAD, and whether the tree had changes."""
    git = shutil.which("git")
    if git is None:
        return "unknown"

    def ask(*args: str) -> str:
        found = subprocess.run(
            [git, *args], cwd=Path(__file__).parent, capture_output=True, text=True, check=True
        )
        return found.stdout.strip()

    try:
        head = ask("rev-parse", "--short", "HEAD")
        dirty = ask("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}{' + uncommitted changes' if dirty else ''}"


def say(text: str) -> None:
    print(f"storm: {text}", file=sys.stderr, flush=True)


def run(quick: bool, rate: float | None = None, profile: str | None = None) -> dict[str, Any]:
    from bench.run import Scenario, build_rooms

    plan = QUICK if quick else FULL
    if rate is not None:
        plan = replace(plan, rate=rate)
    server = ServerUnderTest(port=free_port_below_ephemeral())
    server.start()
    try:
        imba_id, secret = server.create_widget()
        rooms = build_rooms(
            server,
            imba_id,
            Scenario("storm", rooms=plan.rooms, members=MEMBERS, rate=plan.rate, duration=0),
        )
        ctx = mp.get_context("spawn")
        ready, events, results = ctx.Queue(), ctx.Queue(), ctx.Queue()
        go, stop_sending = ctx.Event(), ctx.Event()
        start_value = ctx.Value("d", 0.0)
        tag = f"s{random.randrange(16**6):06x}"
        configs = [
            {
                "worker": index,
                "ws_url": server.ws_url,
                "imba_id": imba_id,
                "secret": secret,
                "tag": tag,
                "rooms": rooms[index::WORKERS],
                "room_rate": plan.rate / plan.rooms,
                "drain": plan.drain,
                "start_value": start_value,
                "stop_sending": stop_sending,
            }
            for index in range(WORKERS)
        ]
        workers = [
            ctx.Process(target=worker_main, args=(cfg, ready, go, events, results), daemon=True)
            for cfg in configs
        ]
        began = time.monotonic()
        for process in workers:
            process.start()
        connected = sum(ready.get(timeout=900) for _ in workers)
        connect_seconds = round(time.monotonic() - began, 1)
        say(f"{connected} sockets connected in {connect_seconds} s (200 at a time per worker)")
        loadgen = [psutil.Process(process.pid) for process in workers]
        start_value.value = time.time() + 1.0
        server.measure()
        go.set()
        time.sleep(max(0.0, start_value.value + plan.before - time.time()))
        steady = server.stop_measuring()
        restarted_at = time.time()
        storm_began: list[tuple[Usage, subprocess.Popen[bytes] | None]] = []

        def storm_begins() -> None:  # measured from the moment the new server listens
            server.measure()
            profiler = server.profile(plan.deadline, profile) if profile else None
            storm_began.append((Usage(loadgen), profiler))

        restart = server.restart(on_listening=storm_begins)
        stop_s, start_s = restart["stop_seconds"], restart["listening_seconds"]
        say(f"restarted: stopped in {stop_s} s, listening again {start_s} s later")
        [(machine, profiler)] = storm_began
        back = wait_for_workers(events, server.listening_at + plan.deadline)
        storm_usage = server.stop_measuring() | machine.stop()
        if profiler is not None:  # the storm is over: py-spy saves on Ctrl-C
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
        say(f"{len(back)} of {WORKERS} workers had every client back")
        server.measure()
        machine = Usage(loadgen)
        if len(back) == WORKERS:
            time.sleep(plan.after)
        stop_sending.set()
        outcome = [results.get(timeout=plan.drain + 120) for _ in workers]
        after_usage = server.stop_measuring() | machine.stop()
        for process in workers:
            process.join(timeout=30)
    finally:
        shut_down(server)
    try:
        rooms_stored = stored(server, imba_id)
    finally:
        server.tmp.cleanup()
    return summarize(
        plan,
        quick,
        outcome,
        rooms_stored,
        connected=connected,
        connect_seconds=connect_seconds,
        restarted_at=restarted_at,
        listening_at=server.listening_at,
        restart=restart,
        usage={"before": steady, "storm": storm_usage, "after": after_usage},
    )


def wait_for_workers(events: Queue, deadline: float) -> list[Any]:
    """The workers' "every client back" events, until all came (or every worker
    ended, or the deadline)."""
    back: list[Any] = []
    done: list[Any] = []
    while len(back) < WORKERS and len(done) < WORKERS:
        try:
            event = events.get(timeout=max(0.1, deadline - time.time()))
        except queue.Empty:
            break
        (back if event[0] == "back" else done).append(event)
    return back


class Usage:
    """The whole machine's CPU and the load generators' over a window: the server's
    figures mean little if the box was saturated."""

    def __init__(self, loadgen: list[psutil.Process]) -> None:
        self.loadgen = loadgen
        self.t0 = time.monotonic()
        self.machine0 = psutil.cpu_times()
        self.loadgen0 = self._loadgen_cpu()

    def _loadgen_cpu(self) -> float:
        total = 0.0
        for process in self.loadgen:
            with contextlib.suppress(psutil.Error):
                total += sum(process.cpu_times()[:2])
        return total

    def stop(self) -> dict[str, float]:
        wall = time.monotonic() - self.t0
        now = psutil.cpu_times()
        busy = sum(now) - now.idle - (sum(self.machine0) - self.machine0.idle)
        total = sum(now) - sum(self.machine0)
        return {
            "seconds": round(wall, 1),
            "loadgen_cpu_percent": round(100 * (self._loadgen_cpu() - self.loadgen0) / wall, 1),
            "machine_busy_percent": round(100 * busy / total, 1) if total else 0.0,
        }


def summarize(
    plan: Plan,
    quick: bool,
    outcome: list[dict[str, Any]],
    rooms_stored: dict[int, tuple[int, int]],
    *,
    connected: int,
    connect_seconds: float,
    restarted_at: float,
    listening_at: float,
    restart: dict[str, Any],
    usage: dict[str, dict[str, float]],
) -> dict[str, Any]:
    """The report: the workers' per-client records checked against what the
    database holds."""
    from bench.run import percentiles

    server_seqs = {room: last_seq for room, (last_seq, _) in rooms_stored.items()}
    clients = [c for part in outcome for c in part["clients"]]
    senders = [s for part in outcome for s in part["senders"]]
    back = [c for c in clients if c["resumed_at"]]
    missing = {
        id(c): len(set(range(1, server_seqs.get(c["room"], 0) + 1)) - set(c["seen"]))
        for c in clients
    }
    lost = sum(missing.values())
    beyond = sum(
        sum(1 for seq in c["seen"] if seq > server_seqs.get(c["room"], 0)) for c in clients
    )
    latency = histogram()
    errors: Counter[str] = Counter()
    for part in outcome:
        latency.add(HdrHistogram.decode(part["histogram"]))
        errors.update(part["errors"])
    acked = sum(s["acked"] for s in senders)
    stored = sum(server_seqs.values())
    last_back = max((c["resumed_at"] for c in back), default=0.0)
    return {
        "scenario": "storm",
        "quick": quick,
        "target": plan.target,
        "rooms": plan.rooms,
        "members": MEMBERS,
        "clients": len(clients),
        "connected_before": connected,
        "connect_seconds": connect_seconds,
        "offered_rate": plan.rate,
        "restart": {**restart, "down_seconds": round(listening_at - restarted_at, 2)},
        "clients_dropped": sum(1 for c in clients if c["dropped_at"]),
        "clients_back": len(back),
        # From the moment the new process listens (uvicorn binds after the app's
        # startup): the target's "all back within".
        "all_back_seconds": round(last_back - listening_at, 2) if back else None,
        "back_after_seconds": {
            seconds: sum(1 for c in back if c["resumed_at"] - listening_at <= seconds)
            for seconds in (10, 20, 30, 60, 90, 120)
        },
        "back_after_listening_ms": spread([max(0.0, c["resumed_at"] - listening_at) for c in back]),
        "outage_per_client_ms": spread([c["resumed_at"] - c["dropped_at"] for c in back]),
        "not_back_by_state": dict(Counter(c["state"] for c in clients if not c["resumed_at"])),
        "reconnect_attempts": {
            "mean": round(sum(c["attempts"] for c in back) / max(1, len(back)), 2),
            "max": max((c["attempts"] for c in back), default=0),
        },
        "drops_beyond_the_restart": sum(max(0, c["drops"] - 1) for c in clients),
        "messages": {
            "scheduled": sum(s["scheduled"] for s in senders),
            "acked": acked,
            "unacked": sum(s["unacked"] for s in senders),
            "stored_by_server": stored,
            "rooms_with_gaps_in_store": sum(1 for last, n in rooms_stored.values() if last != n),
            "stored_without_ack": stored - sum(s["acked_seqs_distinct"] for s in senders),
            "stored_twice": sum(s["stored_twice"] for s in senders),
            "send_frames": sum(s["frames_sent"] for s in senders),
            "resent": sum(s["resent"] for s in senders),
            "queued_while_down": sum(s["queued"] for s in senders),
        },
        "lost": lost,
        "lost_by_clients_back": sum(missing[id(c)] for c in back),
        "duplicated": sum(c["duplicates"] for c in clients),
        "out_of_order": sum(c["out_of_order"] for c in clients),
        "beyond_last_seq": beyond,
        "settled": all(part["settled"] for part in outcome),
        "delivery_latency_ms": percentiles(latency),
        "client_errors": dict(errors),
        "server": usage,
        "versions": {
            "imbachat": imbachat.__version__,
            "python": platform.python_version(),
            "websockets": websockets.__version__,
            "commit": commit(),
            "machine": f"{platform.machine()}, {mp.cpu_count()} cores",
        },
    }
