"""The server under test: a real `imbachat serve` process on a fresh SQLite database,
with its CPU time and peak memory sampled while the load runs."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_port_below_ephemeral() -> int:
    """A free port outside the kernel's ephemeral range. A server that restarts
    while thousands of clients keep connecting needs one: while it is down, a
    client's connect to 127.0.0.1:P can be given P itself as its local port (a
    self-connect), and then the new server cannot bind P."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for port in range(low - 1, 1024, -1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


class ServerUnderTest:
    def __init__(
        self, database_url: str | None = None, bus_url: str = "", port: int | None = None
    ) -> None:
        self.shared_database = database_url is not None
        self.tmp = tempfile.TemporaryDirectory(prefix="imbachat-bench-")
        self.database_url = database_url or f"sqlite:///{Path(self.tmp.name) / 'bench.db'}"
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "IMBACHAT_SEND_RATE_PER_SECOND": "0",  # the harness measures, it does not abuse
            "IMBACHAT_WS_FRAMES_PER_SECOND": "0",
            "IMBACHAT_WS_READS_PER_SECOND": "0",
            "IMBACHAT_WS_MAX_SOCKETS_PER_ADDRESS": "1000000",  # every load client is local
            "IMBACHAT_WS_MAX_QUEUE": "100000",
            "IMBACHAT_BUS_URL": bus_url,
            "IMBACHAT_UPLOADS_PER_MINUTE": "0",
            "IMBACHAT_FILES_DIR": str(Path(self.tmp.name) / "files"),
        }
        self.peak_rss = 0
        self._sampling = False

    def imbachat(self, *args: str) -> str:
        command = [sys.executable, "-m", "imbachat", *args, "--database", self.database_url]
        return subprocess.run(
            command, env=self.env, check=True, capture_output=True, text=True
        ).stdout

    def create_widget(self) -> tuple[int, str]:
        created = json.loads(
            self.imbachat("widgets", "create", "--login", "bench", "--password", "bench")
        )
        return int(created["imba_id"]), str(created["secret_key"])

    def start(self, timeout: float = 30) -> None:
        self._spawn()
        self._wait_ready(timeout)

    def _spawn(self) -> None:
        self.started_at = time.time()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "imbachat", "serve", "--port", str(self.port),
             "--database", self.database_url, "--log-level", "warning"],
            env=self.env,
        )  # fmt: skip

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    self.ready_at = time.time()
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)
        self.ps = psutil.Process(self.process.pid)

    def _listening(self) -> bool:
        """Whether the process listens on its port yet (uvicorn binds it only after
        the app's startup, so from then on it serves)."""
        try:
            connections = psutil.Process(self.process.pid).net_connections("tcp")
        except psutil.Error:
            return False
        return any(
            c.status == psutil.CONN_LISTEN and c.laddr.port == self.port for c in connections
        )

    def measure(self) -> None:
        """Start sampling CPU and memory (call when the load begins)."""
        self._cpu0 = sum(self.ps.cpu_times()[:2])
        self._t0 = time.monotonic()
        self._sampling = True
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while self._sampling:
            self.peak_rss = max(self.peak_rss, self.ps.memory_info().rss)
            time.sleep(0.2)

    def rss(self) -> int:
        return int(self.ps.memory_info().rss)

    def profile(self, seconds: float, output: str) -> subprocess.Popen[bytes]:
        """py-spy on the server for ``seconds``: every thread, idle samples included
        (so waiting shows), without pausing the server; raw format for flame graphs."""
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        command = [
            py_spy, "record", "--pid", str(self.process.pid), "--duration",
            str(max(1, int(seconds))), "--rate", "200", "--format", "raw", "--threads",
            "--nonblocking", "-o", output,
        ]  # fmt: skip
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop_measuring(self) -> dict[str, float]:
        self._sampling = False
        cpu = sum(self.ps.cpu_times()[:2]) - self._cpu0
        wall = time.monotonic() - self._t0
        self.peak_rss = max(self.peak_rss, self.ps.memory_info().rss)
        return {
            "cpu_percent": round(100 * cpu / wall, 1),
            "peak_rss_mb": round(self.peak_rss / 2**20, 1),
        }

    def restart(
        self, timeout: float = 60, on_listening: Callable[[], None] | None = None
    ) -> dict[str, float | bool]:
        """Stop the process as a deploy does (SIGTERM: it closes every socket, 1012)
        and start a new one on the same port and database; the new process is
        measured from zero, and ``on_listening`` runs the moment it listens (before
        it answers readyz, which may wait behind a storm). Returns how long each
        half took."""
        self._sampling = False
        began = time.monotonic()
        self.process.terminate()
        killed = False
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            killed = True
        stopped = time.monotonic()
        self.peak_rss = 0
        self._spawn()
        # When clients storm the port, a readyz request waits in the same accept
        # queue as they do: the moment the port listens is when the server is back.
        deadline = time.monotonic() + timeout
        while not self._listening():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        self.listening_at = time.time()
        self.ps = psutil.Process(self.process.pid)
        if on_listening is not None:
            on_listening()
        self._wait_ready(timeout)
        return {
            "stop_seconds": round(stopped - began, 2),
            "listening_seconds": round(self.listening_at - self.started_at, 2),
            "readyz_seconds": round(self.ready_at - self.started_at, 2),
            "killed": killed,
        }

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)
        self.tmp.cleanup()


POSTGRES_URL = os.environ.get("IMBACHAT_BENCH_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
REDIS_URL = os.environ.get("IMBACHAT_BENCH_REDIS_URL", "redis://127.0.0.1:6379")


def _admin(sql: str) -> None:
    import asyncio

    import asyncpg
    from sqlalchemy.engine import make_url

    parts = make_url(POSTGRES_URL)

    async def run() -> None:
        conn = await asyncpg.connect(
            host=parts.host, port=parts.port, user=parts.username, database=parts.database
        )
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def scratch_postgres() -> str:
    """A new empty PostgreSQL database for one run; drop it with drop_postgres."""
    from sqlalchemy.engine import make_url

    name = f"imbachat_bench_{os.getpid()}_{int(time.time())}"
    _admin(f'CREATE DATABASE "{name}"')
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def drop_postgres(url: str) -> None:
    from sqlalchemy.engine import make_url

    _admin(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
