"""The hub after a bus outage: every followed room is caught up from the database,
each message once and in seq order, a page at a time."""

from __future__ import annotations

import asyncio

from tests.realtime.client import connect, live, settled


def message_seqs(frames: list[dict]) -> list[int]:
    return [f["message"]["seq"] for f in frames if f["type"] == "message"]


def test_messages_the_bus_lost_are_caught_up_in_order_page_by_page(start_server, widgets) -> None:
    server = start_server()
    lone_node = start_server(bus_url="")  # on the same database, on no shared bus
    widget = widgets()
    room = widget.room([1, 2], room_type=1)
    hub = server.app.state.gateway.hub
    hub.ordering.resync_page = 7  # 30 missed messages: five pages, the last one short

    async def scenario() -> None:
        reader = await connect(server, widget, 2)
        # Stored by a node whose events never reach this one: as if the bus lost them.
        widget.store_many(room, 1, 30, via=lone_node)
        await settled(reader)
        assert message_seqs(reader.frames) == []

        resync = asyncio.run_coroutine_threadsafe(hub.resync(), server.loop)
        await asyncio.wrap_future(resync)
        await reader.until(lambda: len(message_seqs(reader.frames)) >= 30)
        await settled(reader)
        assert message_seqs(reader.frames) == list(range(1, 31))

        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(hub.resync(), server.loop))
        await settled(reader)
        assert message_seqs(reader.frames) == list(range(1, 31)), "a second resync repeats nothing"
        await reader.close()

    live(scenario)
