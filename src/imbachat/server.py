"""Running the ASGI app under uvicorn."""

from __future__ import annotations

import contextlib
import gc
import resource
from typing import Any

import uvicorn

from imbachat.app import create_app
from imbachat.config import Settings
from imbachat.logs import configure_logging, guard_library_loggers
from imbachat.realtime.wire import WebSocketProtocol


def uvicorn_config(settings: Settings, **overrides: Any) -> uvicorn.Config:
    """The server as imbachat runs it: WebSocket pings drop dead sockets, frames are
    bounded, and compression is off (it costs memory and CPU per socket). The
    websockets sans-I/O protocol lets fan-out write ready frames (realtime.wire)."""
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "ws_ping_interval": settings.ws_ping_interval_seconds,
        "ws_ping_timeout": settings.ws_ping_timeout_seconds,
        "ws_max_size": settings.ws_max_frame_bytes,
        "ws": WebSocketProtocol,
        "ws_per_message_deflate": False,
        "server_header": False,
        # Our own line per request (imbachat.logs) replaces uvicorn's access log, and
        # the process's logging is ours (run_server), not uvicorn's own handlers.
        "access_log": False,
        "log_config": None,
        **overrides,
    }
    guard_library_loggers()
    return uvicorn.Config(create_app(settings), **options)


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


def run_server(settings: Settings) -> None:
    raise_open_files_limit()
    configure_logging(settings.log_format, settings.log_level)
    config = uvicorn_config(settings)
    calm_garbage_collector()
    uvicorn.Server(config).run()


def calm_garbage_collector() -> None:
    """Keep the cyclic GC's full passes short: they stop the whole process, and one
    over every module, route and SQL construct took 100-200 ms (the worst send
    latencies under load). What exists once the app is built lives as long as the
    process, so it is frozen out of collection; young passes run less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
