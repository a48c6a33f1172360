"""An owner who lists the host pages of their chat keeps it off every other page:
the widget's socket and guest sign-ups from elsewhere are refused."""

from __future__ import annotations

import asyncio

import websockets

from tests.realtime.client import connect


def set_origins(widget, value: str):
    return widget.http.put(
        f"/api/v1/{widget.imba_id}/settings", auth=widget.basic, data={"allowed_origins": value}
    )


def test_only_the_listed_pages_may_open_the_widget(server, widgets) -> None:
    widget = widgets()
    widget.room([1, 2])
    changed = set_origins(widget, "https://shop.example, https://*.shop.example")
    assert changed.status_code == 200, changed.text
    assert changed.json()["data"]["allowed_origins"] == [
        "https://shop.example",
        "https://*.shop.example",
    ]
    url = f"{server.ws_url}/imbachat/v1/{widget.imba_id}/ws?token={widget.token(1)}"

    async def open_from(origin: str | None) -> tuple[int | None, str]:
        headers = {"Origin": origin} if origin else {}
        async with websockets.connect(url, additional_headers=headers) as ws:
            try:
                first = await asyncio.wait_for(ws.recv(), 5)
            except websockets.ConnectionClosed:
                return ws.close_code, ""
            return None, str(first)

    async def scenario() -> None:
        assert (await open_from("https://evil.example"))[0] == 4010
        assert (await open_from("null"))[0] == 4010
        for allowed in ("https://shop.example", "https://m.shop.example", None):
            code, first = await open_from(allowed)
            assert code is None and '"type":"ready"' in first, allowed
        ann = await connect(server, widget, 1)  # a server-side client: no Origin
        await ann.close()

    asyncio.run(scenario())

    guests = f"/imbachat/v1/{widget.imba_id}/guests"
    refused = widget.http.post(guests, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    assert refused.headers["access-control-allow-origin"] == "*"  # the widget can read why
    assert widget.http.post(guests, headers={"Origin": "https://shop.example"}).status_code == 201

    assert set_origins(widget, "shop.example").status_code == 422
    assert set_origins(widget, "").json()["data"]["allowed_origins"] == []
    assert widget.http.post(guests, headers={"Origin": "https://evil.example"}).status_code == 201
