"""Issue 20: `imbachat serve` stops gracefully and uses every core, as real processes.

SIGTERM under load: no new connections, every socket closed at once with 1001
(clients resume on another node), every send the server acknowledged is in the
database, webhook attempts in flight finish and are recorded, and the process exits
0 within the grace. ``serve --workers 2`` (PostgreSQL and Redis): two processes on
one port, chatting live with each other, all stopped by one SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import select

from imbachat.auth.tokens import issue_user_token
from imbachat.config import Settings
from imbachat.server import export_settings
from imbachat.states import DeliveryStatus
from imbachat.store.db import Database
from imbachat.store.schema import messages, webhook_deliveries
from tests.conftest import create_scratch_database, drop_scratch_database, free_port
from tests.conftest import service_missing as skip_or_fail
from tests.fakes import FakeReceiver
from tests.realtime.client import ChatClient
from tests.realtime.test_multinode import POSTGRES_URL, RedisServer, wait_until

GRACE_SECONDS = 6.0
HOOK_SECRET = "shutdown-hook-secret"
# Every limit out of the way: the load is the point.
LOAD_SETTINGS = {
    "IMBACHAT_SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS),
    "IMBACHAT_SEND_RATE_PER_SECOND": "100000",
    "IMBACHAT_SEND_BURST": "100000",
    "IMBACHAT_WS_FRAMES_PER_SECOND": "0",
    "IMBACHAT_WEBHOOK_INTERNAL_TARGETS": "allow",  # the receiver runs on 127.0.0.1
}


@dataclass
class Served:
    """A running `imbachat serve`."""

    process: subprocess.Popen[bytes]
    port: int
    database: str
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def exit_code(served: Served, timeout: float) -> int:
    """The server's exit code, once it exits within ``timeout`` (else the test fails
    with what it logged)."""
    try:
        return served.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the server did not exit within {timeout} s:\n{served.output()}")


def serve(database: str, workdir: Path, *args: str, **env: str) -> Served:
    port = free_port()
    log = workdir / f"serve-{port}.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("IMBACHAT_")}
    environment.update({"IMBACHAT_FILES_DIR": str(workdir / "files"), **LOAD_SETTINGS, **env})
    process = subprocess.Popen(
        [sys.executable, "-m", "imbachat", "serve", "--port", str(port),
         "--database", database, "--log-level", "warning", *args],
        env=environment, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    served = Served(process, port, database, log)

    def ready() -> bool:
        try:
            return httpx.get(f"{served.url}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return process.poll() is not None

    wait_until(ready, f"imbachat serve on port {port}", timeout=60)
    assert process.poll() is None, served.output()
    return served


@dataclass
class Site:
    """A widget on a served database, as the host site uses it."""

    served: Served
    imba_id: int
    secret: str
    login: str

    @classmethod
    def create(cls, served: Served) -> Site:
        login = f"stop-{served.port}"
        created = subprocess.run(
            [sys.executable, "-m", "imbachat", "widgets", "create", "--login", login,
             "--password", "pw", "--database", served.database],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        widget = json.loads(created.stdout)
        return cls(served, widget["imba_id"], widget["secret_key"], login)

    def token(self, user_id: int) -> str:
        return issue_user_token(self.secret, user_id)

    def room(self, users: list[int]) -> int:
        data = {"imba_id": self.imba_id, "login": self.login, "password": "pw", "room_type": 1}
        data.update({f"users_ids[{i}]": u for i, u in enumerate(users)})
        url = f"{self.served.url}/imbachat/v1/widget/imba_rooms"
        response = httpx.post(url, data=data, timeout=30)
        assert response.status_code == 200, response.text
        return int(response.json()["data"][0]["room_id"])

    def add_webhook(self, url: str) -> None:
        response = httpx.post(
            f"{self.served.url}/api/v1/{self.imba_id}/webhooks",
            json={"url": url, "secret": HOOK_SECRET, "events": "message.new"},
            auth=(str(self.imba_id), self.secret),
            timeout=30,
        )
        assert response.status_code == 201, response.text


@pytest.fixture
def database(tmp_path: Path) -> Iterator[str]:
    """A database of the run's kind (SQLite, or PostgreSQL with
    IMBACHAT_TEST_DATABASE_URL) for these servers alone."""
    url = os.environ.get("IMBACHAT_TEST_DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield f"sqlite:///{tmp_path / 'stop.db'}"
        return
    try:
        scratch = asyncio.run(create_scratch_database(url))
    except Exception as exc:
        skip_or_fail(f"PostgreSQL at {url} is not usable: {exc}")
    yield scratch
    asyncio.run(drop_scratch_database(url, scratch))


@dataclass
class Sender:
    """A socket that sends as fast as its acks come back (a few sends in flight),
    until the server closes it; remembers every acknowledged send."""

    ws: Any
    room: int
    name: str
    window: int = 4
    acked: dict[str, int] = field(default_factory=dict)  # client_id -> message id
    refused: int = 0
    sent: int = 0
    closed_at: float = 0.0

    @classmethod
    async def connect(cls, site: Site, user_id: int, room: int) -> Sender:
        url = f"{site.served.ws_url}/imbachat/v1/{site.imba_id}/ws?token={site.token(user_id)}"
        ws = await websockets.connect(url, open_timeout=10, max_size=None)
        while json.loads(await ws.recv())["type"] != "ready":
            pass
        return cls(ws, room, f"u{user_id}")

    async def run(self) -> None:
        reader = asyncio.create_task(self._read())
        try:
            while not reader.done():
                if self.sent - len(self.acked) - self.refused >= self.window:
                    await asyncio.sleep(0.001)
                    continue
                frame = {"type": "send", "room_id": self.room, "text": f"{self.name} {self.sent}",
                         "client_id": f"{self.name}-{self.sent}"}  # fmt: skip
                try:
                    await self.ws.send(json.dumps(frame))
                except websockets.ConnectionClosed:
                    break
                self.sent += 1
        finally:
            await reader

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                if frame["type"] == "ack":
                    self.acked[frame["client_id"]] = frame["message"]["id"]
                elif frame["type"] == "error":
                    self.refused += 1
        except websockets.ConnectionClosed:
            pass
        self.closed_at = time.monotonic()

    @property
    def close_code(self) -> int | None:
        code: int | None = self.ws.close_code
        return code


def refuses_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


async def stored_messages(database: str, imba_id: int) -> dict[str, int]:
    """client_id -> message id of the widget's messages in the database."""
    db = Database(database)
    try:
        async with db.read() as conn:
            rows = await conn.execute(
                select(messages.c.client_id, messages.c.id).where(messages.c.imba_id == imba_id)
            )
            return {client_id: message_id for client_id, message_id in rows}
    finally:
        await db.close()


async def delivery_states(database: str) -> dict[str, str]:
    db = Database(database)
    try:
        async with db.read() as conn:
            rows = await conn.execute(
                select(webhook_deliveries.c.delivery_id, webhook_deliveries.c.status)
            )
            return {delivery_id: status for delivery_id, status in rows}
    finally:
        await db.close()


def test_sigterm_under_load_loses_no_acknowledged_message(database: str, tmp_path: Path) -> None:
    served = serve(database, tmp_path)
    site = Site.create(served)
    # A room each: every socket writes as fast as it is answered, and reads only its
    # acks (the clients, in one process, never fall behind the server).
    rooms = {user: site.room([user]) for user in range(1, 7)}
    receiver = FakeReceiver(HOOK_SECRET, hang_seconds=1.5)  # attempts are in flight
    site.add_webhook(receiver.start())

    async def scenario() -> tuple[list[Sender], float]:
        senders = [await Sender.connect(site, user, room) for user, room in rooms.items()]
        chatting = [asyncio.create_task(sender.run()) for sender in senders]
        await asyncio.sleep(1.5)
        assert all(sender.acked for sender in senders), "every socket was chatting"
        served.process.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        await asyncio.wait_for(asyncio.gather(*chatting), timeout=10)
        return senders, stopped_at

    try:
        senders, stopped_at = asyncio.run(scenario())
        # Sockets are closed at once, while webhook attempts still run: no new
        # connections are taken meanwhile.
        closed = {s.name: (s.close_code, round(s.closed_at - stopped_at, 2)) for s in senders}
        assert {code for code, _ in closed.values()} == {1001}, closed
        assert max(after for _, after in closed.values()) < 3.0, closed
        if served.process.poll() is None:
            assert refuses_connections(served.port)
        assert exit_code(served, timeout=GRACE_SECONDS + 10) == 0, served.output()
        assert time.monotonic() - stopped_at < GRACE_SECONDS + 5
    finally:
        if served.process.poll() is None:
            served.process.kill()
        receiver.stop()

    stored = asyncio.run(stored_messages(database, site.imba_id))
    acked = {cid: mid for sender in senders for cid, mid in sender.acked.items()}
    assert len(acked) >= 20
    missing = {cid: mid for cid, mid in acked.items() if stored.get(cid) != mid}
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged sends are not stored"
    # The attempts in flight at SIGTERM were finished and recorded, not cut off.
    wait_until(lambda: len(receiver.got) == sum(receiver.attempts.values()), "the receiver")
    states = asyncio.run(delivery_states(database))
    assert receiver.got
    assert {r.delivery: states[r.delivery] for r in receiver.got} == {
        r.delivery: DeliveryStatus.DELIVERED for r in receiver.got
    }
    assert "Traceback" not in served.output(), served.output()


def test_more_workers_than_one_need_postgresql_and_redis(tmp_path: Path) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "imbachat", "serve", "--workers", "2", "--port", str(free_port()),
         "--database", f"sqlite:///{tmp_path / 'w.db'}"],
        capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("IMBACHAT_")},
    )  # fmt: skip
    assert refused.returncode == 1
    assert "--workers 2 needs a PostgreSQL database" in refused.stderr
    assert "IMBACHAT_BUS_URL" in refused.stderr
    assert not (tmp_path / "w.db").exists()  # refused before touching anything


def test_workers_run_with_exactly_the_settings_the_command_gave_the_parent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in Settings.model_fields:  # set first, so that each is put back afterwards
        monkeypatch.setenv(f"IMBACHAT_{name.upper()}", "")
        monkeypatch.delenv(f"IMBACHAT_{name.upper()}")
    given = Settings(
        database_url="postgresql://chat@db:5432/chat",
        bus_url="redis://bus:6379",
        port=8123,
        workers=4,
        metrics=False,
        shutdown_grace_seconds=2.5,
        log_format="json",
        public_url="https://chat.example.com",
    )
    export_settings(given)
    assert Settings() == given  # what each worker builds its app with


@pytest.fixture
def postgres_and_redis(tmp_path: Path) -> Iterator[tuple[str, str]]:
    if shutil.which("redis-server") is None:
        skip_or_fail("redis-server is not installed (apt-get install redis-server)")
    try:
        scratch = asyncio.run(create_scratch_database(POSTGRES_URL))
    except Exception as exc:
        skip_or_fail(f"PostgreSQL at {POSTGRES_URL} is not usable: {exc}")
    redis = RedisServer(tmp_path)  # its own: no other run's events on its channel
    try:
        redis.start()
        yield scratch, redis.url
    finally:
        redis.stop()
        asyncio.run(drop_scratch_database(POSTGRES_URL, scratch))


def worker_pid(port: int, sock: socket.socket) -> int:
    """Ask /healthz on this connection: the worker that accepted it answers."""
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(4096)
    pid: int = json.loads(body)["pid"]
    return pid


async def socket_on_a_worker(site: Site, user_id: int) -> tuple[int, ChatClient]:
    """A chat socket, and the pid of the worker it is on: /healthz is asked on the
    TCP connection the WebSocket then opens on."""
    sock = socket.create_connection(("127.0.0.1", site.served.port), timeout=10)
    pid = await asyncio.to_thread(worker_pid, site.served.port, sock)
    sock.settimeout(None)
    url = f"{site.served.ws_url}/imbachat/v1/{site.imba_id}/ws?token={site.token(user_id)}"
    client = ChatClient(await websockets.connect(url, sock=sock, open_timeout=10))
    client.ready = await client.next("ready")
    return pid, client


def test_workers_share_one_port_chat_live_and_stop_on_one_sigterm(
    postgres_and_redis: tuple[str, str], tmp_path: Path
) -> None:
    database, bus_url = postgres_and_redis
    served = serve(database, tmp_path, "--workers", "2", IMBACHAT_BUS_URL=bus_url)
    try:
        site = Site.create(served)
        room = site.room([1, 2])
        pids: set[int] = set()

        def both_workers_answer() -> bool:
            with httpx.Client(timeout=5) as fresh:  # a new connection each time
                pids.add(fresh.get(f"{served.url}/healthz").json()["pid"])
            return len(pids) == 2

        wait_until(both_workers_answer, "both workers to answer", timeout=60)
        assert served.process.pid not in pids  # the parent only supervises

        async def scenario() -> list[int | None]:
            alice_pid, alice = await socket_on_a_worker(site, 1)
            for _ in range(40):
                bob_pid, bob = await socket_on_a_worker(site, 2)
                if bob_pid != alice_pid:
                    break
                await bob.close()
            assert bob_pid != alice_pid, "40 sockets in a row landed on alice's worker"
            sent = await alice.send(room, "across workers")
            assert (await bob.next("message", room_id=room))["message"]["id"] == sent["id"]
            reply = await bob.send(room, "and back")
            assert (await alice.next("message", room_id=room))["message"]["id"] == reply["id"]
            served.process.send_signal(signal.SIGTERM)
            return [await client.closed(timeout=5) for client in (alice, bob)]

        assert asyncio.run(scenario()) == [1001, 1001]
        assert exit_code(served, timeout=GRACE_SECONDS + 10) == 0, served.output()
        for pid in pids:
            wait_until(lambda pid=pid: not _alive(pid), f"worker {pid} to exit", timeout=5)
    finally:
        if served.process.poll() is None:
            served.process.kill()
    assert "Traceback" not in served.output()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
