"""Issue 20: Prometheus metrics at /metrics parse as Prometheus text and move with
traffic; they can be put behind a bearer token or turned off."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import LiveServer
from tests.factories import WidgetFactory
from tests.realtime import test_multinode as multinode
from tests.realtime.client import connect, live, settled
from tests.realtime.test_multinode import Cluster, wait_until

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
SEND_MSG = "/imbachat/v2/{imba_id}/send_msg"
# Two nodes on PostgreSQL and a Redis bus of their own, started once for this module.
nodes = multinode.nodes
cluster = multinode.cluster


def scrape(url: str, **kw: Any) -> Samples:
    response = httpx.get(f"{url}/metrics", timeout=10, **kw)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_parse_and_move_with_rest_and_socket_traffic(
    server: LiveServer, widgets: WidgetFactory
) -> None:
    widget = widgets()
    room = widget.room([1, 2])
    before = scrape(server.url)

    async def scenario() -> None:
        alice, bob = await connect(server, widget, 1), await connect(server, widget, 2)
        during = scrape(server.url)
        assert value(during, "imbachat_ws_sockets_open") >= 2
        await alice.send(room, "over the socket")
        await bob.next("message", room_id=room)
        widget.send(1, room, "over REST")
        await bob.next("message", room_id=room)
        await alice.next("message", room_id=room)
        await settled(alice)
        await alice.close()
        await bob.close()

    live(scenario)
    after = scrape(server.url)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("imbachat_messages_stored_total") >= 2
    # bob got both messages, alice the one sent over REST (her own came as an ack).
    assert moved("imbachat_messages_delivered_total") >= 3
    assert moved("imbachat_ws_frames_in_total", type="send") >= 1
    assert moved("imbachat_ws_frames_in_total", type="ping") >= 1
    assert moved("imbachat_ws_frames_out_total") >= 5  # readies, ack, messages, pong
    assert moved("imbachat_writer_batch_size_count") >= 2
    assert moved("imbachat_writer_commit_seconds_count") >= 2
    ok = {"method": "POST", "route": SEND_MSG, "status": "200"}
    assert moved("imbachat_http_requests_total", **ok) >= 1
    timed = {"method": "POST", "route": SEND_MSG}
    assert moved("imbachat_http_request_seconds_count", **timed) >= 1
    # Route templates, never raw paths: no label names a widget, user or room.
    routes = {label for _, labels in after for name, label in labels if name == "route"}
    assert SEND_MSG in routes
    assert not any(f"/{widget.imba_id}/" in route for route in routes)


def test_unknown_paths_share_one_route_label(server: LiveServer, http: httpx.Client) -> None:
    before = scrape(server.url)
    assert http.get("/no/such/path/12345").status_code == 404
    after = scrape(server.url)
    labels = {"method": "GET", "route": "unmatched", "status": "404"}
    assert value(after, "imbachat_http_requests_total", **labels) > value(
        before, "imbachat_http_requests_total", **labels
    )


def test_metrics_are_not_in_the_openapi_description(http: httpx.Client) -> None:
    assert "/metrics" not in http.get("/openapi.json").json()["paths"]


def test_a_metrics_token_is_required_when_set(start_server: Callable[..., LiveServer]) -> None:
    node = start_server(metrics_token="scrape-secret")
    assert httpx.get(f"{node.url}/metrics").status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert httpx.get(f"{node.url}/metrics", headers=wrong).status_code == 401
    right = {"Authorization": "Bearer scrape-secret"}
    assert value(scrape(node.url, headers=right), "imbachat_ws_sockets_open") >= 0


def test_metrics_can_be_turned_off(start_server: Callable[..., LiveServer]) -> None:
    node = start_server(metrics=False)
    assert httpx.get(f"{node.url}/metrics").status_code == 404
    assert httpx.get(f"{node.url}/healthz").status_code == 200


def test_stored_files_are_counted_with_their_bytes(
    server: LiveServer, widgets: WidgetFactory
) -> None:
    from tests.api.test_files import PDF, uploaded

    widget = widgets()
    before = scrape(server.url)
    uploaded(widget, 1, PDF, "report.pdf")
    after = scrape(server.url)
    assert (
        value(after, "imbachat_files_stored_total") - value(before, "imbachat_files_stored_total")
        >= 1
    )
    assert value(after, "imbachat_files_stored_bytes_total") - value(
        before, "imbachat_files_stored_bytes_total"
    ) >= len(PDF)


def test_webhook_deliveries_are_counted_by_outcome(
    server: LiveServer, widgets: WidgetFactory
) -> None:
    from tests.fakes import FakeReceiver
    from tests.webhooks.test_delivery import SECRET, add_webhook, wait_for

    widget = widgets()
    fake = FakeReceiver(SECRET)
    url = fake.start()
    add_webhook(widget, url, events="message.new")
    room = widget.room([1, 2])
    before = scrape(server.url)
    widget.send(1, room, "to the bot")

    def moved(name: str, **labels: str) -> float:
        return value(scrape(server.url), name, **labels) - value(before, name, **labels)

    try:
        wait_for(lambda: moved("imbachat_webhook_deliveries_total", outcome="delivered") >= 1)
    finally:
        fake.stop()
    assert moved("imbachat_webhook_queue_age_seconds_count") >= 1


def test_host_site_calls_are_counted_by_outcome() -> None:
    import asyncio

    import pytest

    from imbachat import metrics
    from imbachat.webhooks.host_site import HostSite

    def errors() -> float:
        found = metrics.REGISTRY.get_sample_value(
            "imbachat_host_site_calls_total", {"outcome": "error"}
        )
        return found or 0.0

    before = errors()

    async def call_a_closed_port() -> None:
        site = HostSite(timeout_seconds=1.0)
        try:
            with pytest.raises(httpx.HTTPError):
                await site._fetch("GET", "http://127.0.0.1:9/users", None)
        finally:
            await site.close()

    asyncio.run(call_a_closed_port())
    assert errors() == before + 1


def test_the_docs_and_the_sample_dashboard_name_only_real_metrics(
    server: LiveServer, repo_root: Path
) -> None:
    import re

    exposed = {name for name, _ in scrape(server.url)}
    families = {
        family.name
        for family in text_string_to_metric_families(
            httpx.get(f"{server.url}/metrics", timeout=10).text
        )
        if family.name.startswith("imbachat_")
    }
    dashboard = (repo_root / "docs" / "grafana-dashboard.json").read_text()
    used = set(re.findall(r"imbachat_[a-z_]+", dashboard))
    assert used and used <= exposed, used - exposed
    operations = (repo_root / "docs" / "operations.md").read_text()
    listed = {
        name.removesuffix("_total") for name in re.findall(r"`(imbachat_[a-z_]+)`", operations)
    }
    assert families <= listed, families - listed


def test_bus_lag_is_observed_when_an_event_crosses_nodes(cluster: Cluster) -> None:
    room = cluster.room([1, 2])
    lag = "imbachat_bus_lag_seconds_count"
    before_a, before_b = scrape(cluster.a.url), scrape(cluster.b.url)

    cluster.send(cluster.a, 1, room, "from node A")

    def moved_on_b() -> bool:
        return value(scrape(cluster.b.url), lag) > value(before_b, lag)

    wait_until(moved_on_b, "node B to observe the bus's lag")
    after_b = scrape(cluster.b.url)
    # Seconds, not minutes: the same machine's clock on both ends.
    lag_sum = "imbachat_bus_lag_seconds_sum"
    observed = value(after_b, lag) - value(before_b, lag)
    assert 0 <= (value(after_b, lag_sum) - value(before_b, lag_sum)) / observed < 5
    # Node A's own events come back to it from Redis and are ignored, not observed.
    assert value(scrape(cluster.a.url), lag) == value(before_a, lag)


def test_an_open_host_site_breaker_shows_in_a_gauge(widgets: WidgetFactory) -> None:
    from tests.fakes import FakeHostSite

    site = FakeHostSite(mode="401")
    base = site.start()
    try:
        widget = widgets(users_info_url=f"{base}/u?ids=")
        for user in (21, 22, 23):  # three failures in a row open the breaker
            widget.room([user], room_type=1)
            time.sleep(0.15)  # separate requests
        samples = scrape(widget.server.url)
    finally:
        site.stop()
    assert len(site.seen) == 3
    assert value(samples, "imbachat_host_site_breakers_open") >= 1
