"""Builds the ASGI application: routes, error mapping, and the lifespan that owns
the database and the bus."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from imbachat import __version__, dashboard, metrics
from imbachat.api import (
    compat_v1,
    compat_v2,
    files,
    guests,
    health,
    moderation,
    native,
    privacy,
    reactions,
    reports,
    unsubscribe,
    widget,
)
from imbachat.api.envelopes import error_response, json_response
from imbachat.api.limits import BodySizeLimit, NoSniff
from imbachat.api.openapi import describe
from imbachat.bus.base import Bus
from imbachat.bus.memory import InMemoryBus
from imbachat.bus.redis import RedisBus
from imbachat.config import Settings
from imbachat.demo import site as demo_site
from imbachat.errors import ImbaError, Invalid
from imbachat.logs import AccessLog
from imbachat.mail.sender import Mailer
from imbachat.realtime import gateway, protocol
from imbachat.realtime.calls import CallKeeper
from imbachat.realtime.gateway import Gateway
from imbachat.realtime.hub import Hub
from imbachat.realtime.presence import MemoryPresence, OnlineStatus, Presence, RedisPresence
from imbachat.realtime.sockets import GATEWAY_STATE_KEY
from imbachat.services import build_services, close_services
from imbachat.services.away import AwayNotifier
from imbachat.services.retention import RetentionWorker
from imbachat.store.db import Database
from imbachat.webhooks.dispatcher import WebhookDispatcher

log = logging.getLogger(__name__)

DESCRIPTION = """\
A self-hostable chat server that speaks the ImbaChat API.

* **v1** calls authenticate with the widget owner's `login` and `password` form fields.
* **v2** calls authenticate with HTTP Basic `imba_id:secret_key`; `get_rooms` and
  `get_messages` also accept a user's token in a `JWT` header.
* Errors answer `{"code", "message", "errors": {field: [reason]}}` with the same status.
* Lists take `limit` (1-500, default 50), `after_id` / `offset` and `order`; the
  next page's cursor is in the `X-Next-After-Id` response header.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        db = Database(settings.database_url)
        await db.migrate()
        bus, presence = await _connect_bus(settings)
        services = build_services(db, bus, settings)
        online = OnlineStatus(presence, services.changes, settings.offline_grace_seconds)
        hub = Hub(services, bus, online)
        hub.watch_credentials(settings.ws_credentials_check_seconds)
        dispatcher = WebhookDispatcher(
            db,
            timeout_seconds=settings.webhook_timeout_seconds,
            retry_base_seconds=settings.webhook_retry_base_seconds,
            refusal=services.webhooks.refusal,
        )
        services.changes.on_deliveries(dispatcher.nudge)
        dispatcher.start()
        if isinstance(bus, RedisBus):
            bus.on_reconnect(hub.resync)
        app.state.services = services
        app.state.gateway = chat_gateway = Gateway(services, hub, settings)
        sweeper = asyncio.create_task(services.files.sweep_forever(), name="file-sweeper")
        indexer = asyncio.create_task(services.search.index.run_forever(), name="search-indexer")
        away = AwayNotifier(
            db,
            services.changes,
            services.files,
            online.online_among,
            settings.away_notify_seconds,
            widgets=services.widgets,
            mailer=_mailer(settings),
            public_url=settings.public_url,
        )
        notifier = asyncio.create_task(
            away.run_forever(settings.away_check_seconds), name="away-notifier"
        )
        calls = asyncio.create_task(
            CallKeeper(services, hub).run_forever(settings.call_check_seconds), name="call-keeper"
        )
        retention = asyncio.create_task(
            RetentionWorker(db, services.changes, services.files, services.clock).run_forever(
                settings.retention_check_seconds
            ),
            name="retention",
        )
        try:
            # In the lifespan's state, the server's socket layer finds the gateway.
            yield {GATEWAY_STATE_KEY: chat_gateway}
        finally:
            sweeper.cancel()
            indexer.cancel()
            notifier.cancel()
            calls.cancel()
            retention.cancel()
            # Awaited (within the grace): a task cancelled in a deletion ends it, with
            # its files' bytes.
            background = (sweeper, indexer, notifier, calls, retention)
            await asyncio.wait(background, timeout=settings.shutdown_grace_seconds)
            # Under uvicorn the sockets were closed (1001) and requests finished before
            # this runs (imbachat.server); the order below holds on any server.
            hub.close_all(protocol.CLOSE_GOING_AWAY, protocol.GOING_AWAY_REASON)
            await services.writer.close()  # every send it took is committed
            await hub.close()
            await dispatcher.close(grace_seconds=settings.shutdown_grace_seconds)
            await close_services(services)

    app = FastAPI(
        title="imbachat",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.openapi = lambda: describe(app)  # type: ignore[method-assign]
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        uploads=files.UPLOAD_PATTERN,
        upload_bytes=settings.max_upload_bytes,
    )
    app.add_middleware(NoSniff)
    app.add_middleware(AccessLog)
    app.add_middleware(metrics.RequestMetrics)
    _map_errors(app)
    app.include_router(health.router)
    if settings.metrics:
        app.include_router(metrics.router(settings.metrics_token))
    app.include_router(compat_v1.router)
    app.include_router(compat_v2.router)
    app.include_router(gateway.router)
    app.include_router(widget.router)
    app.include_router(guests.router)
    app.include_router(files.router)
    app.include_router(unsubscribe.router)
    app.include_router(native.router)
    app.include_router(moderation.router)
    app.include_router(reports.router)
    app.include_router(privacy.router)
    app.include_router(reactions.router)
    app.include_router(dashboard.router)
    if settings.demo:
        app.include_router(demo_site.router)
    return app


def _mailer(settings: Settings) -> Mailer | None:
    """SMTP for away members' e-mails, when configured (links need public_url)."""
    if not settings.smtp_url:
        return None
    if not settings.public_url:
        raise ValueError(
            "IMBACHAT_SMTP_URL needs IMBACHAT_PUBLIC_URL (https://chat.example.com): "
            "e-mails link back to this server"
        )
    return Mailer(settings.smtp_url, settings.email_from)


async def _connect_bus(settings: Settings) -> tuple[Bus, Presence]:
    """In-process by default; Redis when IMBACHAT_BUS_URL names one (several nodes)."""
    if not settings.bus_url:
        return InMemoryBus(), MemoryPresence()
    if not settings.bus_url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"IMBACHAT_BUS_URL must be a redis:// URL, not {settings.bus_url!r}")
    bus = RedisBus(settings.bus_url)
    await bus.start()
    presence = RedisPresence(bus.client)
    presence.start()
    return bus, presence


def _map_errors(app: FastAPI) -> None:
    """Every failure leaves as the one error envelope, with its status."""

    @app.exception_handler(ImbaError)
    async def on_imba_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ImbaError)
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        error = Invalid("Some parameters are invalid.")
        for problem in exc.errors():
            name = ".".join(str(part) for part in problem.get("loc", ())[1:]) or "body"
            error.errors.setdefault(name, []).append(str(problem.get("msg", "invalid")))
        return error_response(error)

    @app.exception_handler(HTTPException)
    async def on_http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        body = {"code": exc.status_code, "message": str(exc.detail), "errors": {}}
        return json_response(body, exc.status_code, dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        body = {"code": 500, "message": "Internal server error.", "errors": {}}
        return json_response(body, 500)
