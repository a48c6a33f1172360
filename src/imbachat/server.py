"""Running the ASGI app under uvicorn: one process, or several on one port.

Stopping (SIGTERM or Ctrl-C): uvicorn stops accepting, closes every socket with
1001 (:mod:`imbachat.realtime.sockets`), lets HTTP requests in
flight finish (up to ``shutdown_grace_seconds``), then the app's shutdown commits
every send the writer took and lets webhook attempts in flight finish (see
:mod:`imbachat.app`); the process then exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import os
import resource
import sys
from collections.abc import Iterator
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess

from imbachat.app import create_app
from imbachat.config import Settings
from imbachat.logs import configure_logging, guard_library_loggers
from imbachat.realtime.sockets import ChatSocketProtocol
from imbachat.store.db import Database

# What each worker process of `serve --workers N` builds its app with.
APP_FROM_ENV = "imbachat.server:app_from_env"


def uvicorn_config(settings: Settings, **overrides: Any) -> uvicorn.Config:
    """The server as imbachat runs it (one process): see :func:`_options`."""
    options = {**_options(settings), **overrides}
    guard_library_loggers()
    return uvicorn.Config(create_app(settings), **options)


def _options(settings: Settings) -> dict[str, Any]:
    """WebSocket pings drop dead sockets, frames are bounded, and compression is off
    (it costs memory and CPU per socket). The chat's socket path is served by our
    own WebSocket layer (realtime.sockets), any other by uvicorn's. On shutdown,
    requests in flight get the grace period before they are cancelled."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "ws_ping_interval": settings.ws_ping_interval_seconds,
        "ws_ping_timeout": settings.ws_ping_timeout_seconds,
        "ws_max_size": settings.ws_max_frame_bytes,
        "ws": ChatSocketProtocol,
        "ws_per_message_deflate": False,
        "server_header": False,
        # Our own line per request (imbachat.logs) replaces uvicorn's access log, and
        # the process's logging is ours (run_server), not uvicorn's own handlers.
        "access_log": False,
        "log_config": None,
        "timeout_graceful_shutdown": math.ceil(settings.shutdown_grace_seconds),
    }


def raise_open_files_limit(wanted: int = 262_144) -> None:
    """Each socket is a file descriptor: allow as many as the system lets us
    (raising the hard limit too where we may, e.g. as root)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for limits in ((wanted, max(hard, wanted)), (hard, hard)):
        if limits[0] <= soft:
            return
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, limits)
            return


class Server(uvicorn.Server):
    """uvicorn's server, exiting 0 once it has stopped gracefully on SIGTERM or
    SIGINT: uvicorn raises the signal again after its shutdown, so the process would
    end "killed by SIGTERM" (status 143), which supervisors may count as a failure
    although every request and message was finished."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()


def run_server(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT: one process, or ``settings.workers``."""
    raise_open_files_limit()
    configure_logging(settings.log_format, settings.log_level)
    if settings.workers > 1:
        run_workers(settings)
        return
    # Here first, so a database the server must not open (a half-finished copy, an
    # unreachable host) is a clear message rather than a failed startup's traceback.
    asyncio.run(_migrate(settings.database_url))
    config = uvicorn_config(settings)
    calm_garbage_collector()
    Server(config).run()


class WorkersRefused(ValueError):
    """Settings with which several worker processes cannot share their state."""


def check_workers(settings: Settings) -> None:
    """Workers share nothing in memory: messages reach each other's sockets through
    the Redis bus, and all write to one database, which SQLite cannot take from
    several processes at once (its single writer is a thread of one process)."""
    if settings.workers <= 1:
        return
    problems = []
    if not settings.database_url.startswith("postgres"):
        problems.append("a PostgreSQL database (--database postgresql://user@host:5432/db)")
    if not settings.bus_url:
        problems.append("the Redis bus (IMBACHAT_BUS_URL=redis://host:6379)")
    if problems:
        raise WorkersRefused(
            f"--workers {settings.workers} needs " + " and ".join(problems) + ": several "
            "processes share no memory, so they keep their messages in one database and "
            "reach each other's sockets through Redis, as several nodes do."
        )


def run_workers(settings: Settings) -> None:
    """``settings.workers`` processes accepting on one socket, each a node of its own
    (a bus node, its own sockets), under uvicorn's supervisor: it restarts a worker
    that dies and, on SIGTERM, stops every worker (each drains as one process does)
    and waits for them. SIGHUP replaces the workers one at a time."""
    check_workers(settings)
    asyncio.run(_migrate(settings.database_url))  # once, here, with a clear error
    export_settings(settings)
    options = {**_options(settings), "workers": settings.workers, "factory": True}
    config = uvicorn.Config(APP_FROM_ENV, **options)
    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    supervisor.run()
    if any(worker.exitcode == STARTUP_FAILURE for worker in supervisor.processes):
        sys.exit(STARTUP_FAILURE)


async def _migrate(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.migrate()
    finally:
        await db.close()


def export_settings(settings: Settings) -> None:
    """Put every setting in this process's environment as IMBACHAT_*, where the
    worker processes (started fresh, not forked) read them back: they then run with
    exactly the settings the command line and environment gave the parent."""
    for name, value in settings.model_dump().items():
        key = f"IMBACHAT_{name.upper()}"
        if value is None:
            os.environ.pop(key, None)  # the default, not the text "null"
        else:
            os.environ[key] = value if isinstance(value, str) else json.dumps(value)


def app_from_env() -> FastAPI:
    """The app of one worker process, from the IMBACHAT_* environment."""
    settings = Settings()
    raise_open_files_limit()
    configure_logging(settings.log_format, settings.log_level)
    app = create_app(settings)
    calm_garbage_collector()
    return app


def calm_garbage_collector() -> None:
    """Keep the cyclic GC's full passes short: they stop the whole process, and one
    over every module, route and SQL construct took 100-200 ms (the worst send
    latencies under load). What exists once the app is built lives as long as the
    process, so it is frozen out of collection; young passes run less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
