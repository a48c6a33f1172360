"""Photos and files over HTTP: upload, attach, fetch by signed link, and every way a
stranger might try to get at them or use them against a visitor's browser."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from PIL import Image

from imbachat.files.links import Variant, signature
from tests.factories import TestWidget
from tests.files.test_images import GPS_IFD, photo_with_gps
from tests.realtime.client import ChatClient, answer_code, connect

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


def upload(
    widget: TestWidget,
    user: int,
    content: bytes,
    name: str = "file.bin",
    *,
    token: str | None = None,
    http: httpx.Client | None = None,
) -> httpx.Response:
    """POST a file as the user: with their token, or (``token=""``) the backend's Basic."""
    client = http or widget.http
    files = {"file": (name, content, "application/octet-stream")}
    if token == "":
        return client.post(
            f"/imbachat/v1/{widget.imba_id}/files",
            auth=widget.basic,
            data={"user_id": str(user)},
            files=files,
        )
    headers = {"JWT": token or widget.token(user)}
    return client.post(f"/imbachat/v1/{widget.imba_id}/files", headers=headers, files=files)


def uploaded(widget: TestWidget, user: int, content: bytes, name: str = "file.bin") -> dict:
    answer = upload(widget, user, content, name)
    assert answer.status_code == 201, answer.text
    data: dict = answer.json()["data"]
    return data


def jpeg_with_gps(tmp_path) -> bytes:
    return photo_with_gps(tmp_path / "photo.jpg").read_bytes()


@pytest.fixture
def chat(widgets) -> tuple[TestWidget, int]:
    widget = widgets()
    return widget, widget.room([1, 2])


def test_a_photo_is_uploaded_cleaned_and_fetched_by_its_link_alone(chat, tmp_path) -> None:
    widget, _ = chat
    answer = upload(widget, 1, jpeg_with_gps(tmp_path), "holiday.jpg")

    assert answer.status_code == 201, answer.text
    assert answer.headers["access-control-allow-origin"] == "*"
    data = answer.json()["data"]
    assert set(data) == {"id", "name", "size", "content_type", "url", "thumbnail_url", "width",
                         "height"}  # fmt: skip
    assert (data["name"], data["content_type"]) == ("holiday.jpg", "image/jpeg")
    assert (data["width"], data["height"]) == (800, 1200)  # the orientation, applied

    with httpx.Client(base_url=widget.http.base_url) as stranger_browser:  # no credentials
        image = stranger_browser.get(data["url"])
        thumbnail = stranger_browser.get(data["thumbnail_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert image.headers["content-disposition"].startswith("inline;")
    assert int(image.headers["content-length"]) == data["size"] == len(image.content)
    served = Image.open(io.BytesIO(image.content))
    assert served.size == (800, 1200)
    assert not served.getexif().get_ifd(GPS_IFD) and not served.getexif()
    assert max(Image.open(io.BytesIO(thumbnail.content)).size) == 480


def test_the_other_member_gets_the_message_with_its_files_live_and_in_history(
    server, chat, tmp_path
) -> None:
    widget, room = chat
    photo = uploaded(widget, 1, jpeg_with_gps(tmp_path), "photo.jpg")
    document = uploaded(widget, 1, PDF, "minutes.pdf")

    async def scenario() -> tuple[dict, dict, dict]:
        ann, bo = await connect(server, widget, 1), await connect(server, widget, 2)
        assert ann.ready["files"]["max_bytes"] == 25_000_000
        assert "image" in ann.ready["files"]["types"]
        sent = await ann.send(room, "", attachments=[photo["id"], document["id"]])
        live = await bo.next("message")
        await bo.send_frame({"type": "history", "room_id": room})
        history = await bo.next("history")
        later = await ChatClient.connect(
            server.ws_url, widget.imba_id, widget.token(2), resume={room: 0}
        )
        replayed = await later.next("message")
        await ann.close(), await bo.close(), await later.close()
        return sent, live["message"], history["messages"][-1], replayed["message"]

    sent, live, in_history, replayed = asyncio.run(scenario())
    for message in (sent, live, in_history, replayed):
        assert message["message"] == ""
        assert [a["id"] for a in message["attachments"]] == [photo["id"], document["id"]]
        image, pdf = message["attachments"]
        assert (image["width"], image["height"], image["content_type"]) == (800, 1200, "image/jpeg")
        assert (pdf["name"], pdf["content_type"], pdf["thumbnail_url"]) == (
            "minutes.pdf", "application/pdf", None,
        )  # fmt: skip
        assert widget.http.get(pdf["url"]).content == PDF
    [listed] = widget.listed("get_messages", room_id=str(room))
    assert listed["attachments"][1]["name"] == "minutes.pdf"
    assert widget.http.get(listed["attachments"][0]["url"]).status_code == 200


def test_the_backend_uploads_for_a_user_and_sends_with_send_msg(chat) -> None:
    widget, room = chat
    answer = upload(widget, 2, PDF, "report.pdf", token="")
    assert answer.status_code == 201, answer.text
    file_id = answer.json()["data"]["id"]

    sent = widget.send(2, room, "", **{"attachments[0]": str(file_id)})

    assert [a["name"] for a in sent["attachments"]] == ["report.pdf"]
    no_text_no_file = widget.post("send_msg", {"user_id": 2, "room_id": room})
    assert no_text_no_file.status_code == 422
    assert "message" in no_text_no_file.json()["errors"]


def test_only_the_uploader_attaches_a_file_and_only_once(server, chat) -> None:
    widget, room = chat
    file_id = uploaded(widget, 1, PDF, "a.pdf")["id"]

    async def scenario() -> None:
        ann, bo = await connect(server, widget, 1), await connect(server, widget, 2)
        taken = {"type": "send", "room_id": room, "text": "mine now", "attachments": [file_id]}
        assert await answer_code(bo, {**taken, "client_id": "bo-1"}) == 403
        first = await ann.send(room, "here", client_id="ann-1", attachments=[file_id])
        again = await ann.send(room, "here", client_id="ann-1", attachments=[file_id])
        assert again["id"] == first["id"]  # a retry of the same send is the same message
        assert again["attachments"][0]["url"]  # with fresh links
        assert await answer_code(ann, {**taken, "client_id": "ann-2"}) == 409
        assert await answer_code(ann, {**taken, "attachments": [10**12], "client_id": "x"}) == 404
        assert await answer_code(ann, {**taken, "attachments": ["²"], "client_id": "y"}) == 422
        assert await answer_code(ann, {**taken, "attachments": [1] * 11, "client_id": "z"}) == 413
        await ann.close(), await bo.close()

    asyncio.run(scenario())


def test_a_file_of_another_widget_cannot_be_attached(chat, widgets) -> None:
    widget, room = chat
    other = widgets()
    foreign = uploaded(other, 1, PDF)["id"]
    answer = widget.post(
        "send_msg", {"user_id": 1, "room_id": room, "message": "x", "attachments[0]": foreign}
    )
    assert answer.status_code == 404


def test_links_are_refused_when_forged_expired_or_from_another_widget(chat, widgets) -> None:
    widget, _ = chat
    data = uploaded(widget, 1, PDF, "secret.pdf")
    url = urlsplit(data["url"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    path = url.path

    def fetch(**params: str | int) -> int:
        return widget.http.get(path, params={**query, **params}).status_code

    assert fetch() == 200
    assert fetch(signature="0" * 32) == 403
    assert fetch(signature="Ø" * 32) == 403  # not a hex digest at all
    assert fetch(expires=int(query["expires"]) + 3600) == 403  # a longer life, same signature
    past = int(time.time()) - 10
    forged_past = signature(widget.secret_key, widget.imba_id, data["id"], Variant.ORIGINAL, past)
    assert fetch(expires=past, signature=forged_past) == 403  # rightly signed, but expired
    assert widget.http.get(path).status_code == 401  # no link, no credentials
    unknown = path.replace(f"/files/{data['id']}/", "/files/999999999/")
    assert widget.http.get(unknown, params=query).status_code == 403
    assert widget.http.get(path.replace("/original", "/other"), params=query).status_code == 422
    other = widgets()
    moved = path.replace(f"/v1/{widget.imba_id}/", f"/v1/{other.imba_id}/")
    assert widget.http.get(moved, params=query).status_code == 403


def test_without_a_link_only_members_and_the_owner_fetch_a_file(chat, server) -> None:
    widget, room = chat
    file_id = uploaded(widget, 1, PDF)["id"]
    widget.send(1, room, "", **{"attachments[0]": str(file_id)})
    path = f"/imbachat/v1/{widget.imba_id}/files/{file_id}/original"

    assert widget.http.get(path, headers={"JWT": widget.token(2)}).status_code == 200
    assert widget.http.get(path, headers={"JWT": widget.token(3)}).status_code == 403
    assert widget.http.get(path, auth=widget.basic).status_code == 200
    missing = f"/imbachat/v1/{widget.imba_id}/files/123456789/original"
    assert widget.http.get(missing, auth=widget.basic).status_code == 404


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"<!doctype html><script>alert(document.domain)</script>", "page.html"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "logo.svg"),
        (b"<!doctype html><script>alert(1)</script>", "innocent.jpg"),
    ],
)
def test_what_a_browser_could_run_is_only_ever_a_download(chat, content, name) -> None:
    widget, _ = chat
    data = uploaded(widget, 1, content, name)
    assert data["width"] is None and data["thumbnail_url"] is None

    served = widget.http.get(data["url"])

    assert served.status_code == 200 and served.content == content
    assert served.headers["content-disposition"].startswith("attachment;")
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"].startswith("sandbox")
    assert not served.headers["content-type"].startswith("image/")


def test_a_name_with_a_path_and_odd_characters_is_shown_safely(chat) -> None:
    widget, _ = chat
    data = uploaded(widget, 1, PDF, "..\\..\\etc\\отчёт\x1b\x1b.pdf")
    assert data["name"] == "отчёт_.pdf"
    disposition = widget.http.get(data["url"]).headers["content-disposition"]
    assert "\r" not in disposition and "filename*=UTF-8''" in disposition


def test_ranges_serve_part_of_a_file_and_a_range_outside_is_416(chat) -> None:
    widget, _ = chat
    content = bytes(range(256)) * 400  # application/octet-stream would be refused: use text
    content = b"0123456789" * 10_000
    data = uploaded(widget, 1, content, "digits.txt")

    part = widget.http.get(data["url"], headers={"Range": "bytes=10-19"})
    tail = widget.http.get(data["url"], headers={"Range": "bytes=-5"})
    outside = widget.http.get(data["url"], headers={"Range": "bytes=200000-"})
    head = widget.http.head(data["url"])

    assert (part.status_code, part.content) == (206, content[10:20])
    assert part.headers["content-range"] == f"bytes 10-19/{len(content)}"
    assert (tail.status_code, tail.content) == (206, content[-5:])
    assert outside.status_code == 416
    assert outside.headers["content-range"] == f"bytes */{len(content)}"
    assert head.status_code == 200 and head.headers["content-length"] == str(len(content))
    assert head.headers["accept-ranges"] == "bytes"


def test_26_megabytes_is_413_before_the_body_is_read(chat) -> None:
    widget, _ = chat
    answer = upload(widget, 1, b"0" * 26_000_000, "big.txt")
    assert answer.status_code == 413
    assert answer.headers["access-control-allow-origin"] == "*"  # the widget can read why
    assert "25000000" in answer.json()["message"]

    def endless() -> Iterator[bytes]:
        yield b"--b\r\nContent-Disposition: form-data; name=file; filename=x\r\n\r\n"
        for _ in range(30):
            yield b"0" * 1_000_000

    chunked = widget.http.post(
        f"/imbachat/v1/{widget.imba_id}/files",
        headers={"JWT": widget.token(1), "Content-Type": "multipart/form-data; boundary=b"},
        content=endless(),
    )
    assert chunked.status_code == 413


def test_bad_uploads_are_refused_with_the_field_and_the_reason(chat) -> None:
    widget, _ = chat
    base = f"/imbachat/v1/{widget.imba_id}/files"
    token = {"JWT": widget.token(1)}
    no_file = widget.http.post(base, headers=token, data={"x": "1"}, files={"y": ("a", b"b")})
    not_multipart = widget.http.post(base, headers=token, content=b"hello")
    empty = upload(widget, 1, b"", "empty.txt")
    broken_image = upload(widget, 1, b"\x89PNG\r\n\x1a\nnot really", "a.png")
    no_user = widget.http.post(base, auth=widget.basic, files={"file": ("a.pdf", PDF)})
    bad_token = widget.http.post(base, headers={"JWT": "nope"}, files={"file": ("a.pdf", PDF)})
    executable = upload(widget, 1, b"\x7fELF\x02\x01\x01" + bytes(range(200)), "run")

    for answer in (no_file, not_multipart, empty, broken_image):
        assert answer.status_code == 422, answer.text
        assert "file" in answer.json()["errors"]
    assert no_user.status_code == 422 and "user_id" in no_user.json()["errors"]
    assert bad_token.status_code == 401
    assert executable.status_code == 415 and "allowed" in executable.json()["message"]


def test_a_user_banned_in_the_widget_uploads_nothing(chat) -> None:
    widget, _ = chat
    banned = widget.http.post(f"/api/v1/{widget.imba_id}/users/2/ban", auth=widget.basic)
    assert banned.status_code == 200, banned.text
    assert upload(widget, 2, PDF).status_code == 403


def test_the_owner_chooses_the_types_and_the_quota(chat) -> None:
    widget, _ = chat
    settings = f"/api/v1/{widget.imba_id}/settings"
    changed = widget.http.put(settings, auth=widget.basic, data={"file_types": "image"})
    assert changed.status_code == 200 and changed.json()["data"]["file_types"] == ["image"]
    time.sleep(1.1)  # the server reads a widget's settings again within a second or so
    refused = upload(widget, 1, PDF, "a.pdf")
    assert refused.status_code == 415 and "image" in refused.json()["message"]

    widget.http.put(settings, auth=widget.basic, data={"file_types": "", "files_quota_bytes": 200})
    time.sleep(1.1)
    assert upload(widget, 1, b"x" * 150, "a.txt").status_code == 201
    full = upload(widget, 1, b"x" * 100, "b.txt")
    assert full.status_code == 413 and "full" in full.json()["message"]
    shown = widget.http.get(settings, auth=widget.basic).json()["data"]
    assert (shown["files_quota_bytes"], shown["files_bytes"]) == (200, 150)
    bad = widget.http.put(settings, auth=widget.basic, data={"file_types": "image,exe"})
    assert bad.status_code == 422 and "file_types" in bad.json()["errors"]


def test_deleting_the_message_deletes_its_files(chat) -> None:
    widget, room = chat
    data = uploaded(widget, 1, PDF, "gone.pdf")
    sent = widget.send(1, room, "soon gone", **{"attachments[0]": str(data["id"])})
    used = widget.http.get(f"/api/v1/{widget.imba_id}/settings", auth=widget.basic)
    assert used.json()["data"]["files_bytes"] == len(PDF)

    deleted = widget.http.delete(f"/api/v1/{widget.imba_id}/messages/{sent['id']}",
                                 auth=widget.basic)  # fmt: skip

    assert deleted.status_code == 200 and deleted.json()["data"]["attachments"] == []
    assert widget.http.get(data["url"]).status_code == 404
    used = widget.http.get(f"/api/v1/{widget.imba_id}/settings", auth=widget.basic)
    assert used.json()["data"]["files_bytes"] == 0


def test_uploads_are_limited_per_user(start_server, widgets) -> None:
    server = start_server(uploads_per_minute=2)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        widget = widgets()
        codes = [upload(widget, 1, PDF, http=http).status_code for _ in range(3)]
        other_user = upload(widget, 2, PDF, http=http)
    assert codes == [201, 201, 429]
    assert other_user.status_code == 201


def test_files_survive_a_restart(start_server, widgets, tmp_path) -> None:
    files_dir = str(tmp_path / "files")
    first = start_server(files_dir=files_dir)
    widget = widgets()
    with httpx.Client(base_url=first.url, timeout=30) as http:
        data = upload(widget, 1, PDF, "kept.pdf", http=http).json()["data"]
    first.stop()

    again = start_server(files_dir=files_dir)
    with httpx.Client(base_url=again.url, timeout=30) as http:
        assert http.get(data["url"]).content == PDF


def test_preflight_lets_the_widget_upload_from_the_host_sites_pages(chat) -> None:
    widget, _ = chat
    answer = widget.http.options(
        f"/imbachat/v1/{widget.imba_id}/files",
        headers={"Origin": "https://site.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "jwt"},
    )  # fmt: skip
    assert answer.status_code == 204
    assert "JWT" in answer.headers["access-control-allow-headers"]


def test_a_guest_sends_a_photo_to_support(server, widgets, tmp_path) -> None:
    widget = widgets()
    widget.http.put(f"/api/v1/{widget.imba_id}/settings", auth=widget.basic,
                    data={"guests": "1"})  # fmt: skip
    time.sleep(1.1)
    guest = widget.http.post(f"/imbachat/v1/{widget.imba_id}/guests", data={"name": "Eve"})
    assert guest.status_code == 201, guest.text
    token = guest.json()["data"]["token"]
    photo = upload(widget, 0, jpeg_with_gps(tmp_path), "question.jpg", token=token)
    assert photo.status_code == 201, photo.text

    async def scenario() -> dict:
        eve = await ChatClient.connect(server.ws_url, widget.imba_id, token)
        await eve.send_frame({"type": "open_support"})
        room = await eve.next("room", action="opened")
        sent = await eve.send(room["room"]["id"], "", attachments=[photo.json()["data"]["id"]])
        await eve.close()
        return sent

    assert asyncio.run(scenario())["attachments"][0]["width"] == 800


def test_on_two_nodes_with_s3_a_file_uploaded_on_one_is_served_by_the_other(
    start_server, widgets, s3_url
) -> None:
    first, second = start_server(files_url=s3_url), start_server(files_url=s3_url)
    widget = widgets()
    room = widget.room([1, 2])
    with (
        httpx.Client(base_url=first.url, timeout=30) as on_first,
        httpx.Client(base_url=second.url, timeout=30) as on_second,
    ):
        data = upload(widget, 1, PDF * 100, "shared.pdf", http=on_first).json()["data"]
        sent = on_first.post(
            f"/imbachat/v2/{widget.imba_id}/send_msg",
            auth=widget.basic,
            data={
                "user_id": "1",
                "room_id": str(room),
                "message": "",
                "attachments[0]": data["id"],
            },
        )
        assert sent.status_code == 200, sent.text
        listed = on_second.post(
            f"/imbachat/v2/{widget.imba_id}/get_messages", auth=widget.basic,
            data={"room_id": str(room)},
        ).json()["data"]  # fmt: skip
        served = on_second.get(listed[0]["attachments"][0]["url"])
        assert (served.status_code, served.content) == (200, PDF * 100)

        on_second.delete(
            f"/api/v1/{widget.imba_id}/messages/{sent.json()['message']['id']}", auth=widget.basic
        )
        assert on_first.get(data["url"]).status_code == 404
