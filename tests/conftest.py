"""Test harness: one real uvicorn server per session, on the database under test.

``IMBACHAT_TEST_DATABASE_URL`` picks the database (default: a fresh SQLite file);
with ``IMBACHAT_REQUIRE_SERVICES=1`` an unreachable service fails the run instead
of skipping. Every test makes its own widget, so tests never see each other's data.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
import uvicorn
from sqlalchemy.engine import make_url

from imbachat.config import Settings
from imbachat.server import uvicorn_config
from imbachat.services import Services
from imbachat.store.db import normalize_url
from tests.factories import WidgetFactory

T = TypeVar("T")
REQUIRE_SERVICES = os.environ.get("IMBACHAT_REQUIRE_SERVICES") == "1"


def service_missing(reason: str) -> None:
    """Skip, or fail when the run promised the services are there."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (IMBACHAT_REQUIRE_SERVICES=1 requires it)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _admin_connection(url: str) -> asyncpg.Connection:
    parts = make_url(normalize_url(url))
    return await asyncpg.connect(
        host=parts.host or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        database=parts.database,
        timeout=5,
    )


async def create_scratch_database(url: str) -> str:
    """A new, empty database beside the one in ``url``: concurrent test runs never
    share tables, and migrations are always tested from an empty database."""
    parts = make_url(normalize_url(url))
    name = f"{parts.database}_imbachat_{os.getpid()}_{secrets.token_hex(3)}"
    conn = await _admin_connection(url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return parts.set(database=name).render_as_string(hide_password=False)


async def drop_scratch_database(url: str, scratch_url: str) -> None:
    conn = await _admin_connection(url)
    try:
        await conn.execute(
            f'DROP DATABASE IF EXISTS "{make_url(scratch_url).database}" WITH (FORCE)'
        )
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("IMBACHAT_TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'imbachat-test.db'}"
        return
    if not url.startswith("postgres"):
        yield url
        return
    try:
        scratch = asyncio.run(create_scratch_database(url))
    except (OSError, asyncpg.PostgresError) as exc:
        service_missing(f"PostgreSQL at {url} is not usable: {exc}")
    yield scratch
    asyncio.run(drop_scratch_database(url, scratch))


class LiveServer:
    """A real uvicorn server in a background thread, with its own event loop."""

    def __init__(self, settings: Settings, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        config = uvicorn_config(settings, host="127.0.0.1", port=self.port, log_level="warning")
        self.app = config.app
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.loop: asyncio.AbstractEventLoop | None = None

    def _serve(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self._server.serve())

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    def run(self, work: Callable[[Services], Awaitable[T]]) -> T:
        """Run a coroutine on the server's loop, with its services."""
        assert self.loop is not None
        future = asyncio.run_coroutine_threadsafe(_call(work, self.services), self.loop)
        return future.result(timeout=30)


async def _call(work: Callable[[Services], Awaitable[T]], services: Services) -> T:
    return await work(services)


def bus_url() -> str:
    """IMBACHAT_TEST_BUS_URL runs the server on the Redis bus instead of in-process."""
    url = os.environ.get("IMBACHAT_TEST_BUS_URL", "")
    if url and redis_problem(url):
        service_missing(redis_problem(url) or "")
    return url


def redis_problem(url: str) -> str | None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis at {url} is not reachable: {exc}"
    return None


# Uploads of every test server of this run, removed with the system's temporary files.
FILES_DIR = tempfile.mkdtemp(prefix="imbachat-test-files-")
# Short timers so presence and auth timeouts are observable in tests.
TEST_TIMINGS = {
    "offline_grace_seconds": 0.3,
    "ws_auth_timeout_seconds": 1.0,
    "webhook_retry_base_seconds": 0.1,
    "send_rate_per_second": 10_000.0,  # specs of the limiters set their own
    "ws_frames_per_second": 10_000.0,
    "ws_reads_per_second": 10_000.0,
    "owner_auth_failures_per_address": 10_000,
    "webhook_internal_targets": "allow",  # the tests' receivers run on 127.0.0.1
    "files_dir": FILES_DIR,
}


@pytest.fixture(scope="session", autouse=True)
def argon2_once_per_password() -> Iterator[None]:
    """Argon2 is slow on purpose (a hash or a check takes 0.1 to 0.3 s here), and nearly
    every test makes a widget with the factory's one password, then signs in with it:
    half the suite's time went to hashing that password again. Within this run (in
    this process), a password is hashed once and a hash that matched its password
    matches it again without a second argon2 check. Every wrong password, unknown
    login (the stand-in hash) and new password still costs a real check, so the
    timing and crowd specifications in tests/api/test_hostile_requests.py still see
    argon2's cost; the CLI's subprocesses hash for real."""
    from imbachat.auth import owner
    from imbachat.services import widgets

    real_hash, real_matches = owner.hash_password, owner.password_matches
    hashes: dict[str, str] = {}
    matched: set[tuple[str, str]] = set()

    def hash_password(password: str) -> str:
        if password not in hashes:
            hashes[password] = real_hash(password)
        return hashes[password]

    def password_matches(password_hash: str, password: str) -> bool:
        if (password_hash, password) in matched:
            return True
        if not real_matches(password_hash, password):
            return False
        matched.add((password_hash, password))
        return True

    patches = [(owner, "hash_password", hash_password), (owner, "password_matches",
               password_matches), (widgets, "hash_password", hash_password),
               (widgets, "password_matches", password_matches)]  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        for module, name, replacement in patches:
            patch.setattr(module, name, replacement)
        yield


@pytest.fixture(scope="session")
def server(database_url: str) -> Iterator[LiveServer]:
    # Away notices are specified on servers of their own (start_server, checking every
    # 0.2 s); this one's check, every 15 s, told their members it saw as offline (on
    # the in-process bus it does not see those servers' sockets) in the middle of them.
    timings = {**TEST_TIMINGS, "away_check_seconds": 86_400.0}
    live = LiveServer(Settings(database_url=database_url, bus_url=bus_url(), **timings))
    live.start()
    yield live
    live.stop()


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture
def widgets(server: LiveServer, http: httpx.Client) -> WidgetFactory:
    return WidgetFactory(server, http)


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
def start_server(database_url: str) -> Iterator[Callable[..., LiveServer]]:
    """Start another real server on the same database, with some settings changed."""
    started: list[LiveServer] = []

    def start(port: int | None = None, **overrides: Any) -> LiveServer:
        settings = {"database_url": database_url, "bus_url": bus_url(), **TEST_TIMINGS, **overrides}
        live = LiveServer(Settings(**settings), port)
        live.start()
        started.append(live)
        return live

    yield start
    for live in started:
        if live.running:
            live.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: they hold an event loop in the main thread while they run."""
    items.sort(key=lambda item: "/e2e/" in str(item.fspath))


@pytest.fixture(scope="session")
def migrated_database_url(database_url: str) -> str:
    """The database under test with its schema, for services run in-process."""
    from imbachat.store.db import Database

    async def migrate() -> None:
        db = Database(database_url)
        try:
            await db.migrate()
        finally:
            await db.close()

    asyncio.run(migrate())
    return database_url


@pytest.fixture
def anyio_backend() -> str:
    """In-process specifications (``@pytest.mark.anyio``) run on asyncio."""
    return "asyncio"


@pytest.fixture
async def chat(migrated_database_url: str) -> Any:
    """The services in-process on the database under test (see tests/inprocess.py)."""
    from tests.inprocess import in_process

    async with in_process(migrated_database_url) as chat:
        yield chat


@pytest.fixture(scope="session")
def s3_url() -> Iterator[str]:
    """A real S3-compatible server (moto's) on this machine, for files on several nodes."""
    server_module = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    port = free_port()
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    try:
        yield f"s3://imbachat-test/uploads?endpoint=http://127.0.0.1:{port}"
    finally:
        server.stop()
