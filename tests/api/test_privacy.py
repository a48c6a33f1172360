"""Privacy requests over the owner's REST API: a user's export as a zip, and their
erasure, after which no API returns their words."""

from __future__ import annotations

import asyncio
import io
import secrets
import zipfile
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.realtime.client import connect


def export(widget: Any, user_id: object, **kw: Any) -> httpx.Response:
    kw.setdefault("auth", widget.basic)
    return widget.http.get(f"/api/v1/{widget.imba_id}/users/{user_id}/export", **kw)


def erase(widget: Any, user_id: object, **kw: Any) -> httpx.Response:
    kw.setdefault("auth", widget.basic)
    return widget.http.post(f"/api/v1/{widget.imba_id}/users/{user_id}/erase", **kw)


def test_the_owner_downloads_everything_held_about_a_user(widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2])
    widget.send(1, room, "hello from Ann")

    response = export(widget, 1)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert f"imbachat-{widget.imba_id}-user-1.zip" in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        exported = orjson.loads(archive.read("user.json"))
    assert [m["message"] for m in exported["messages"]] == ["hello from Ann"]
    assert [m["room_id"] for m in exported["memberships"]] == [room]


def test_an_erased_users_text_is_gone_from_every_api_and_members_see_it_live(
    server, widgets
) -> None:
    widget = widgets()
    room = widget.room([1, 2])
    word = f"zq{secrets.token_hex(8)}"
    sent = widget.send(1, room, f"my number is {word}")

    async def scenario() -> dict[str, Any]:
        ann, bo = await connect(server, widget, 1), await connect(server, widget, 2)
        response = await asyncio.to_thread(erase, widget, 1)
        assert response.status_code == 200, response.text
        frame = await bo.next("user_erased")
        # Ann's page was signed in as someone who no longer exists: it signs in again.
        assert await ann.closed() == 4003
        await bo.close()
        return {"summary": response.json()["data"], "frame": frame}

    seen = asyncio.run(scenario())

    summary = seen["summary"]
    assert (summary["user_id"], summary["messages"], summary["rooms"]) == (1, 1, 1)
    assert (seen["frame"]["user_id"], seen["frame"]["room_ids"]) == (1, [room])
    assert seen["frame"]["member_id"] == sent["author_id"]
    history = widget.post("get_messages", {"room_id": room})
    assert word not in history.text
    assert history.json()["data"] == []  # get_messages leaves deleted messages out
    found = widget.post("search_messages", {"text": word})
    assert found.status_code == 200, found.text
    assert found.json()["data"] == []
    assert word not in found.text
    assert word not in widget.post("get_users").text
    assert erase(widget, 1).status_code == 404  # nobody has that host id now


def test_privacy_requests_need_the_owners_credentials_and_a_known_user(widgets) -> None:
    widget = widgets()
    widget.room([1, 2])

    assert export(widget, 1, auth=(str(widget.imba_id), "wrong")).status_code == 401
    assert erase(widget, 1, auth=None).status_code == 401
    missing = erase(widget, 99)
    assert missing.status_code == 404 and "user_id" in missing.json()["errors"]
    assert export(widget, 99).status_code == 404
    assert export(widget, "abc").status_code == 422
    assert erase(widget, "1e3").status_code == 422


def test_retention_days_is_a_setting(widgets) -> None:
    widget = widgets()
    url = f"/api/v1/{widget.imba_id}/settings"

    kept = widget.http.put(url, auth=widget.basic, data={"retention_days": "30"})
    bad = widget.http.put(url, auth=widget.basic, data={"retention_days": "-1"})

    assert kept.status_code == 200, kept.text
    assert kept.json()["data"]["retention_days"] == 30
    assert bad.status_code == 422 and "retention_days" in bad.json()["errors"]


def test_the_routes_are_in_the_openapi_description(widgets) -> None:
    widget = widgets()
    paths = widget.http.get("/openapi.json").json()["paths"]

    exported = paths["/api/v1/{imba_id}/users/{user_id}/export"]["get"]
    assert "application/zip" in exported["responses"]["200"]["content"]
    assert "post" in paths["/api/v1/{imba_id}/users/{user_id}/erase"]


def test_an_export_whose_client_left_before_the_first_byte_leaves_no_file(
    tmp_path: Path,
) -> None:
    """The zip is a temporary file: removed even when the response never started."""
    from starlette.requests import ClientDisconnect

    from imbachat.api.privacy import TemporaryFileResponse

    zipped = tmp_path / "export.zip"
    zipped.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    response = TemporaryFileResponse(zipped, media_type="application/zip", headers={})

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        raise OSError("the client went away")

    scope = {"type": "http", "asgi": {"spec_version": "2.4"}}
    with pytest.raises(ClientDisconnect):
        asyncio.run(response(scope, receive, send))
    assert not zipped.exists()
