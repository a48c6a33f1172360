"""The raw limits of this machine, measured the way the scenarios measure imbachat.

``python -m bench.limits sockets [--count N]``: a bare server holding N WebSocket
sockets, RSS growth per socket as ``idle`` reports it, for two servers: ``bare``
(an asyncio protocol that answers the handshake and then only holds the socket:
the floor of any Python server, the kernel socket and asyncio's transport) and
``websockets`` (the websockets library's own asyncio server, pings on).

``python -m bench.limits sqlite [--rate R] [--seconds S]``: a bare SQLite writer
(plain ``sqlite3``, WAL, ``synchronous=NORMAL``, one thread) storing R messages a
second in group commits every 2 ms, as imbachat's writer does under load, with the
same indexes a message needs (room and seq, author and client id): the commit
latency and the thread's CPU per message.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sqlite3
import sys
import tempfile
import time
from typing import Any

import psutil

from bench.load import histogram
from imbachat.realtime.upgrade import accept_key, read_request


class _BareSocket(asyncio.Protocol):
    """Answers the upgrade, then holds the socket and reads nothing into state."""

    __slots__ = ("open", "transport")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.open = False

    def data_received(self, data: bytes) -> None:
        if self.open:
            return
        _, _, headers, _ = read_request(data)  # the server's own handshake reading
        accept = accept_key(headers)
        self.transport.write(  # type: ignore[attr-defined]
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        self.open = True


def _serve(kind: str, port: int) -> None:
    from imbachat.server import raise_open_files_limit

    raise_open_files_limit()

    async def main() -> None:
        if kind == "bare":
            loop = asyncio.get_running_loop()
            await loop.create_server(_BareSocket, "127.0.0.1", port, backlog=4096)
        else:
            from websockets.asyncio.server import serve

            async def hold(ws: Any) -> None:
                await ws.wait_closed()

            await serve(hold, "127.0.0.1", port, compression=None, backlog=4096)
        await asyncio.Event().wait()

    asyncio.run(main())


async def _open_sockets(port: int, count: int) -> list[Any]:
    from picows import WSListener, ws_connect

    url = f"ws://127.0.0.1:{port}/"
    opened: list[Any] = []
    gate = asyncio.Semaphore(200)

    async def one() -> None:
        async with gate:
            transport, _ = await ws_connect(WSListener, url)
            opened.append(transport)

    await asyncio.gather(*(one() for _ in range(count)))
    return opened


def sockets(count: int) -> dict[str, Any]:
    from imbachat.server import raise_open_files_limit

    raise_open_files_limit()
    results: dict[str, Any] = {"sockets": count}
    for kind, port in (("bare", 18_771), ("websockets", 18_772)):
        server = multiprocessing.get_context("spawn").Process(target=_serve, args=(kind, port))
        server.start()
        time.sleep(1.5)
        process = psutil.Process(server.pid)
        before = process.memory_info().rss

        async def hold(port: int, process: psutil.Process) -> int:
            opened = await _open_sockets(port, count)
            await asyncio.sleep(3)
            rss = process.memory_info().rss
            for transport in opened:
                transport.disconnect()
            return rss

        rss = asyncio.run(hold(port, process))
        results[f"{kind}_kib_per_socket"] = round((rss - before) / 1024 / count, 1)
        server.kill()
        server.join()
    return results


def sqlite_writer(rate: int, seconds: float) -> dict[str, Any]:
    path = os.path.join(tempfile.mkdtemp(prefix="imbachat-limits-"), "bare.db")
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL"):
        db.execute(f"PRAGMA {pragma}")
    db.executescript(
        """
        CREATE TABLE rooms (id INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY, room_id INTEGER NOT NULL, seq INTEGER NOT NULL,
            author_id INTEGER NOT NULL, body TEXT NOT NULL, client_id TEXT,
            created_at TEXT NOT NULL);
        CREATE UNIQUE INDEX messages_room_seq ON messages (room_id, seq);
        CREATE UNIQUE INDEX messages_client ON messages (author_id, client_id);
        """
    )
    db.executemany("INSERT INTO rooms (id) VALUES (?)", [(room,) for room in range(1, 301)])
    latency = histogram()
    cpu0, started, sent = time.thread_time(), time.monotonic(), 0
    seqs = dict.fromkeys(range(1, 301), 0)
    while (now := time.monotonic()) - started < seconds:
        due = int((now - started) * rate) - sent
        if due > 0:
            rows = []
            for n in range(sent, sent + due):
                room = n % 300 + 1
                seqs[room] += 1
                rows.append((room, seqs[room], n % 3000, f"message {n} " + "x" * 40, f"c{n}"))
            begun = time.perf_counter()
            db.execute("BEGIN")
            db.executemany(
                "INSERT INTO messages (room_id, seq, author_id, body, client_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, datetime('now'))",
                rows,
            )
            db.executemany(
                "UPDATE rooms SET last_seq = ? WHERE id = ?",
                [(seqs[room], room) for room in {row[0] for row in rows}],
            )
            db.execute("COMMIT")
            latency.record_value(max(1, int((time.perf_counter() - begun) * 1e6)))
            sent += due
        time.sleep(0.002)
    cpu = time.thread_time() - cpu0
    return {
        "rate": rate,
        "messages": sent,
        "commit_p50_ms": latency.get_value_at_percentile(50) / 1000,
        "commit_p99_ms": latency.get_value_at_percentile(99) / 1000,
        "writer_cpu_percent": round(100 * cpu / seconds, 1),
        "cpu_us_per_message": round(cpu * 1e6 / max(1, sent), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.limits", description=__doc__)
    parser.add_argument("what", choices=("sockets", "sqlite"))
    parser.add_argument("--count", type=int, default=2_000, help="sockets to hold")
    parser.add_argument("--rate", type=int, default=3_000, help="messages a second")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    if args.what == "sockets":
        report = sockets(args.count)
    else:
        report = sqlite_writer(args.rate, args.seconds)
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
