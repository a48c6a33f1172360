"""Issue 3 §6: two `imbachat serve` processes with a shared PostgreSQL and a Redis
bus behave as one server, and survive a Redis restart without losing a message.

Real processes, a real PostgreSQL (a scratch database) and a private redis-server
this test can stop and start again.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from imbachat.auth.tokens import issue_user_token
from tests.conftest import (
    create_scratch_database,
    drop_scratch_database,
    free_port,
    service_missing,
)
from tests.realtime.client import ChatClient

POSTGRES_URL = os.environ.get("IMBACHAT_TEST_DATABASE_URL", "")
if not POSTGRES_URL.startswith("postgres"):
    POSTGRES_URL = "postgresql://127.0.0.1:5432/test"


class RedisServer:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(lambda: _answers(self.port), "redis-server to start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def _answers(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def wait_until(check, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Node:
    url: str
    ws_url: str
    process: subprocess.Popen[bytes]


@dataclass
class Cluster:
    a: Node
    b: Node
    redis: RedisServer
    imba_id: int
    secret: str
    login: str = "multi"

    def token(self, user_id: int) -> str:
        return issue_user_token(self.secret, user_id)

    def post(self, node: Node, path: str, data: dict) -> dict:
        response = httpx.post(
            f"{node.url}{path}", data=data, auth=(str(self.imba_id), self.secret), timeout=30
        )
        assert response.status_code == 200, response.text
        return response.json()

    def room(self, users: list[int]) -> int:
        data = {"imba_id": self.imba_id, "login": self.login, "password": "node", "room_type": 1}
        data.update({f"users_ids[{i}]": u for i, u in enumerate(users)})
        response = httpx.post(f"{self.a.url}/imbachat/v1/widget/imba_rooms", data=data, timeout=30)
        assert response.status_code == 200, response.text
        return int(response.json()["data"][0]["room_id"])

    def send(self, node: Node, user: int, room: int, text: str) -> dict:
        body = self.post(node, f"/imbachat/v2/{self.imba_id}/send_msg",
                         {"user_id": user, "room_id": room, "message": text})  # fmt: skip
        return body["message"]


def start_node(database_url: str, bus_url: str, logs: Path) -> Node:
    port = free_port()
    env = {
        **os.environ,
        "IMBACHAT_BUS_URL": bus_url,
        "IMBACHAT_OFFLINE_GRACE_SECONDS": "0.3",
        "IMBACHAT_SEND_RATE_PER_SECOND": "10000",
    }
    log = (logs / f"node-{port}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "imbachat", "serve", "--port", str(port),
         "--database", database_url, "--log-level", "warning"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return process.poll() is not None

    wait_until(ready, f"node on port {port}")
    assert process.poll() is None, (logs / f"node-{port}.log").read_text()
    return Node(url, f"ws://127.0.0.1:{port}", process)


@dataclass
class Nodes:
    a: Node
    b: Node
    redis: RedisServer
    database: str


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nodes]:
    """The two nodes, their database and Redis, started once for this module: each
    test has a widget of its own on them (``cluster``), as on the suite's server."""
    if shutil.which("redis-server") is None:
        service_missing("redis-server is not installed (apt-get install redis-server)")
    try:
        database = asyncio.run(create_scratch_database(POSTGRES_URL))
    except Exception as exc:
        service_missing(f"PostgreSQL at {POSTGRES_URL} is not usable: {exc}")
    workdir = tmp_path_factory.mktemp("multinode")
    redis = RedisServer(workdir)
    started: list[Node] = []
    try:
        redis.start()
        started = [start_node(database, redis.url, workdir) for _ in range(2)]
        yield Nodes(started[0], started[1], redis, database)
    finally:
        for node in started:
            node.process.terminate()
        for node in started:
            node.process.wait(timeout=15)
        redis.stop()
        asyncio.run(drop_scratch_database(POSTGRES_URL, database))


@pytest.fixture
def cluster(nodes: Nodes) -> Cluster:
    if nodes.redis.process is None:  # a test stopped it and failed before starting it again
        nodes.redis.start()
    login = f"multi-{secrets.token_hex(4)}"
    created = subprocess.run(
        [sys.executable, "-m", "imbachat", "widgets", "create", "--login", login,
         "--password", "node", "--database", nodes.database],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    widget = json.loads(created.stdout)
    return Cluster(nodes.a, nodes.b, nodes.redis, widget["imba_id"], widget["secret_key"], login)


def assert_in_order(frames: list[dict], room: int, total: int) -> None:
    seqs = [f["message"]["seq"] for f in frames if f["type"] == "message" and f["room_id"] == room]
    assert seqs == list(range(1, total + 1))


def test_messages_sent_to_either_node_reach_both_in_order(cluster: Cluster) -> None:
    room = cluster.room([1, 2, 3])

    asyncio.run(messages_through_both_nodes(cluster, room))


async def messages_through_both_nodes(cluster: Cluster, room: int) -> None:
    """REST sends alternate between nodes while a socket writes on A; readers on A
    and on B each see all 100 messages in seq order."""
    on_a = await ChatClient.connect(cluster.a.ws_url, cluster.imba_id, cluster.token(1))
    on_b = await ChatClient.connect(cluster.b.ws_url, cluster.imba_id, cluster.token(2))
    writer = await ChatClient.connect(cluster.a.ws_url, cluster.imba_id, cluster.token(3))

    def rest(i: int) -> dict:
        return cluster.send(cluster.a if i % 2 else cluster.b, 3, room, f"rest {i}")

    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=6) as pool:
        rest_done = asyncio.gather(*(loop.run_in_executor(pool, rest, i) for i in range(60)))
        for i in range(40):
            await writer.send(room, f"socket {i}")
        await rest_done
    for client in (on_a, on_b):
        await client.until(lambda c=client: _count(c, room) >= 100, timeout=15)
    assert_in_order(on_a.frames, room, 100)
    assert_in_order(on_b.frames, room, 100)
    for client in (on_a, on_b, writer):
        await client.close()


def _count(client: ChatClient, room: int) -> int:
    return sum(1 for f in client.frames if f["type"] == "message" and f["room_id"] == room)


def test_presence_is_global(cluster: Cluster) -> None:
    cluster.room([1, 2])

    async def scenario() -> None:
        alice = await ChatClient.connect(cluster.a.ws_url, cluster.imba_id, cluster.token(1))
        bob = await ChatClient.connect(cluster.b.ws_url, cluster.imba_id, cluster.token(2))
        assert (await alice.next("presence", user_id=2))["online"] is True
        late = await ChatClient.connect(cluster.a.ws_url, cluster.imba_id, cluster.token(3))
        assert late.ready["user"]["user_id"] == 3
        carol_sees = await ChatClient.connect(cluster.b.ws_url, cluster.imba_id, cluster.token(1))
        members = {m["user_id"]: m["online"] for m in carol_sees.ready["rooms"][0]["members"]}
        assert members == {1: True, 2: True}  # Bob is on node B, Alice on both
        await bob.close()
        assert (await alice.next("presence", user_id=2))["online"] is False
        for client in (alice, late, carol_sees):
            await client.close()

    asyncio.run(scenario())


def test_a_redis_restart_loses_no_message(cluster: Cluster) -> None:
    room = cluster.room([1, 2])

    async def scenario() -> None:
        on_b = await ChatClient.connect(cluster.b.ws_url, cluster.imba_id, cluster.token(2))
        for i in range(5):
            cluster.send(cluster.a, 1, room, f"before {i}")
        cluster.redis.stop()
        for i in range(5):  # stored on node A while the bus is down
            await asyncio.to_thread(cluster.send, cluster.a, 1, room, f"during {i}")
        cluster.redis.start()
        for i in range(5):
            await asyncio.to_thread(cluster.send, cluster.a, 1, room, f"after {i}")
        await on_b.until(lambda: _count(on_b, room) >= 15, timeout=20)
        assert_in_order(on_b.frames, room, 15)
        # A client that reconnects and resumes from anywhere gets the rest exactly.
        again = await ChatClient.connect(
            cluster.b.ws_url, cluster.imba_id, cluster.token(2), resume={room: 7}
        )
        await again.next("resumed")
        assert [f["message"]["seq"] for f in again.frames if f["type"] == "message"] == list(
            range(8, 16)
        )
        await on_b.close()
        await again.close()

    asyncio.run(scenario())
