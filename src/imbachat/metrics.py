"""This node's Prometheus metrics, each defined once, and the ``/metrics`` endpoint.

Per node (process), never per user or room: every label has a bounded set of
values. Counters on the send and fan-out paths (frames, deliveries, sockets) are
plain integers in :data:`LIVE`, bumped without locks or allocations and read only
when Prometheus scrapes; everything counted per request, per batch or per
delivery attempt uses ``prometheus_client``'s own metrics.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator

from fastapi import APIRouter
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imbachat.realtime import protocol

# No ``*_created`` series: they double every counter's and Prometheus ignores them.
disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

# Frame types a client may send (``auth`` included); anything else counts as "other".
FRAME_TYPES: tuple[str, ...] = (*protocol._FIELDS, "other")


class LiveCounts:
    """Plain counters for the hot paths; the event loop's thread bumps them."""

    __slots__ = ("delivered", "frames_in", "frames_out", "sockets_open")

    def __init__(self) -> None:
        self.frames_in: dict[str, int] = dict.fromkeys(FRAME_TYPES, 0)
        self.frames_out = 0  # frames written to sockets
        self.delivered = 0  # message frames queued on sockets
        self.sockets_open = 0


LIVE = LiveCounts()


def frame_in(kind: str | None) -> None:
    """Count one incoming frame; ``kind`` None (unreadable, refused) is "other"."""
    counts = LIVE.frames_in
    key = kind if kind in counts else "other"
    counts[key] += 1


class _LiveCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        frames_in = CounterMetricFamily(
            "imbachat_ws_frames_in", "Frames received from sockets, by type.", labels=["type"]
        )
        for kind, count in LIVE.frames_in.items():
            frames_in.add_metric([kind], count)
        yield frames_in
        yield CounterMetricFamily(
            "imbachat_ws_frames_out", "Frames written to sockets.", value=LIVE.frames_out
        )
        yield CounterMetricFamily(
            "imbachat_messages_delivered",
            "Message frames queued on sockets (one per receiving socket).",
            value=LIVE.delivered,
        )
        yield GaugeMetricFamily(
            "imbachat_ws_sockets_open", "Sockets open on this node.", value=LIVE.sockets_open
        )


REGISTRY.register(_LiveCollector())

MESSAGES_STORED = Counter(
    "imbachat_messages_stored", "Messages committed by the writer.", registry=REGISTRY
)
WRITER_BATCH_SIZE = Histogram(
    "imbachat_writer_batch_size",
    "Sends committed together in one writer batch.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
    registry=REGISTRY,
)
WRITER_COMMIT_SECONDS = Histogram(
    "imbachat_writer_commit_seconds",
    "Time to commit one writer batch.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
    registry=REGISTRY,
)
HTTP_REQUESTS = Counter(
    "imbachat_http_requests",
    "REST requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "imbachat_http_request_seconds",
    "Time to answer a REST request, by method and route template.",
    ["method", "route"],
    registry=REGISTRY,
)
WEBHOOK_DELIVERIES = Counter(
    "imbachat_webhook_deliveries",
    "Webhook delivery attempts, by outcome: delivered, retry (failed, tried again later)"
    " or failed (given up).",
    ["outcome"],
    registry=REGISTRY,
)
WEBHOOK_QUEUE_AGE = Histogram(
    "imbachat_webhook_queue_age_seconds",
    "Age of a webhook delivery (since its event) when it is attempted.",
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 21600, 86400),
    registry=REGISTRY,
)
HOST_SITE_CALLS = Counter(
    "imbachat_host_site_calls",
    "Calls to host sites' Users info and search URLs, by outcome (ok, error).",
    ["outcome"],
    registry=REGISTRY,
)
HOST_SITE_BREAKERS_OPEN = Gauge(
    "imbachat_host_site_breakers_open",
    "Widgets whose host site is left alone after failing several times in a row.",
    registry=REGISTRY,
)
BUS_LAG_SECONDS = Histogram(
    "imbachat_bus_lag_seconds",
    "Time from another node publishing a bus event to this node receiving it.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
FILES_STORED = Counter("imbachat_files_stored", "Files uploaded and stored.", registry=REGISTRY)
FILES_STORED_BYTES = Counter(
    "imbachat_files_stored_bytes", "Bytes of the files stored.", registry=REGISTRY
)


class RequestMetrics:
    """ASGI middleware: counts and times each HTTP request by its route template
    (``/imbachat/v2/{imba_id}/send_msg``; "unmatched" when no route took it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_SECONDS.labels(method, route).observe(time.perf_counter() - started)


def router(token: str = "") -> APIRouter:
    """``GET /metrics`` in Prometheus text format; with a token, only for
    ``Authorization: Bearer <token>``. Not in the OpenAPI description."""
    routes = APIRouter()
    expected = f"Bearer {token}".encode()

    @routes.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        if token:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return Response(
                    "a bearer token is required\n",
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                    media_type="text/plain",
                )
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return routes
