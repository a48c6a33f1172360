"""The widget's settings over REST: what an owner may read and change."""

from __future__ import annotations

import asyncio

from tests.realtime.client import ChatClient


def settings_of(widget) -> dict:
    answer = widget.http.get(f"/api/v1/{widget.imba_id}/settings", auth=widget.basic)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def change(widget, **fields: str):
    return widget.http.put(f"/api/v1/{widget.imba_id}/settings", data=fields, auth=widget.basic)


def test_settings_never_show_the_api_password(widgets) -> None:
    widget = widgets()
    changed = change(widget, api_login="site", api_password="a-host-password")

    assert changed.status_code == 200, changed.text
    shown = settings_of(widget)
    assert shown["api_login"] == "site"
    assert "api_password" not in shown and "a-host-password" not in changed.text
    assert (shown["theme"], shown["accent_color"]) == ("auto", None)


def test_an_owner_picks_the_theme_and_accent_colour_and_the_widget_is_told_at_connect(
    server, widgets
) -> None:
    widget = widgets()
    changed = change(widget, theme="dark", accent_color="#0F766E")

    assert changed.status_code == 200, changed.text
    assert settings_of(widget)["theme"] == "dark"
    assert settings_of(widget)["accent_color"] == "#0f766e"

    async def connect() -> dict:
        client = await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(1))
        await client.close()
        return client.ready["appearance"]

    assert asyncio.run(connect()) == {"theme": "dark", "accent_color": "#0f766e"}


def test_only_the_fields_given_change_and_an_empty_colour_clears_it(widgets) -> None:
    widget = widgets()
    change(widget, theme="light", accent_color="#123456")
    cleared = change(widget, accent_color="")

    assert cleared.status_code == 200, cleared.text
    assert (settings_of(widget)["theme"], settings_of(widget)["accent_color"]) == ("light", None)


def test_a_bad_theme_or_colour_is_refused_naming_the_field(widgets) -> None:
    widget = widgets()
    for field, value in (
        ("theme", "neon"),
        ("accent_color", "red"),
        ("accent_color", "#12345"),
        ("accent_color", "#1234567"),
        ("accent_color", "javascript:alert(1)"),
    ):
        refused = change(widget, **{field: value})
        assert refused.status_code == 422, (field, value, refused.text)
        assert field in refused.json()["errors"], refused.text
    assert (settings_of(widget)["theme"], settings_of(widget)["accent_color"]) == ("auto", None)


def test_settings_need_the_owners_credentials(widgets) -> None:
    widget, other = widgets(), widgets()
    answer = widget.http.put(
        f"/api/v1/{widget.imba_id}/settings", data={"theme": "dark"}, auth=other.basic
    )
    assert answer.status_code == 401
    assert settings_of(widget)["theme"] == "auto"
