"""Away members get one digest e-mail per quiet period, through a real SMTP server
(aiosmtpd, started here), in the widget's language, with a working unsubscribe link."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.fakes import FakeHostSite
from tests.realtime.client import ChatClient

DELAY = 2


class Inbox:
    """What the SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=default))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, str]]:
    controller_module = pytest.importorskip("aiosmtpd.controller")
    box = Inbox()
    port = free_port()
    controller = controller_module.Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


@pytest.fixture
def site() -> Iterator[str]:
    fake = FakeHostSite(
        people={
            1: {"user_id": 1, "name": "Ann"},
            2: {"user_id": 2, "name": "Bo", "email": "bo@example.com"},
        }
    )
    base = fake.start()
    yield f"{base}/users?ids="
    fake.stop()


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_someone_away_gets_one_digest_and_can_stop_them(start_server, widgets, inbox, site) -> None:
    box, smtp_url = inbox
    port = free_port()
    node = start_server(
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        smtp_url=smtp_url,
        email_from="Chat <chat@site.test>",
        away_check_seconds=0.2,
    )
    widget = widgets(users_info_url=site)
    settings = {"away_notify_seconds": str(DELAY), "language": "es",
                "email_link_url": "https://site.test/chat?room={room_id}"}  # fmt: skip
    assert widget.http.put(f"/api/v1/{widget.imba_id}/settings", auth=widget.basic,
                           data=settings).status_code == 200  # fmt: skip
    room = widget.room([1, 2])
    wait_until(lambda: len(widget.listed("get_users", login="Bo")) == 1, 10, "Bo's profile")
    with httpx.Client(base_url=node.url, timeout=30) as http:
        for text in ("¿estás?", "<b>llegó</b> el paquete", "llámame"):
            answer = http.post(
                f"/imbachat/v2/{widget.imba_id}/send_msg",
                auth=widget.basic,
                data={"user_id": "1", "room_id": str(room), "message": text},
            )
            assert answer.status_code == 200, answer.text

    wait_until(lambda: box.messages, DELAY + 10, "the digest")
    time.sleep(DELAY + 1)
    [mail] = box.messages
    assert (mail["To"], mail["From"]) == ("bo@example.com", "Chat <chat@site.test>")
    assert mail["Subject"] == "Mensajes sin leer: 3"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    for sent in ("Ann: ¿estás?", "Ann: <b>llegó</b> el paquete", "Ann: llámame"):
        assert sent in text
    assert "&lt;b&gt;llegó&lt;/b&gt;" in html and "<b>llegó" not in html
    assert f"https://site.test/chat?room={room}" in text
    unsubscribe = mail["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith(f"http://127.0.0.1:{port}/imbachat/v1/{widget.imba_id}/")

    with httpx.Client(timeout=30) as browser:
        page = browser.get(unsubscribe)
        assert page.status_code == 200 and 'method="post"' in page.text  # opening stops nothing
        forged = browser.post(unsubscribe.replace("signature=", "signature=0"))
        assert forged.status_code == 403
        done = browser.post(unsubscribe)
        assert done.status_code == 200 and "Hecho" in done.text

    async def bo_choice() -> str:
        bo = await ChatClient.connect(node.ws_url, widget.imba_id, widget.token(2))
        await bo.close()
        return str(bo.ready["alerts"]["email"])

    assert asyncio.run(bo_choice()) == "never"
    with httpx.Client(base_url=node.url, timeout=30) as http:
        http.post(
            f"/imbachat/v2/{widget.imba_id}/send_msg",
            auth=widget.basic,
            data={"user_id": "1", "room_id": str(room), "message": "¿sigues ahí?"},
        )
    time.sleep(DELAY + 2)
    assert len(box.messages) == 1  # unsubscribed: no more e-mails


def test_a_user_without_an_address_or_who_read_in_time_gets_nothing(
    start_server, widgets, inbox, site
) -> None:
    box, smtp_url = inbox
    port = free_port()
    node = start_server(port=port, public_url=f"http://127.0.0.1:{port}", smtp_url=smtp_url,
                        email_from="chat@site.test", away_check_seconds=0.2)  # fmt: skip
    widget = widgets(users_info_url=site)
    widget.http.put(f"/api/v1/{widget.imba_id}/settings", auth=widget.basic,
                    data={"away_notify_seconds": str(DELAY)})  # fmt: skip
    room = widget.room([1, 2])
    wait_until(lambda: len(widget.listed("get_users", login="Bo")) == 1, 10, "Bo's profile")

    async def bo_reads_in_time() -> None:
        bo = await ChatClient.connect(node.ws_url, widget.imba_id, widget.token(2))
        async with httpx.AsyncClient(base_url=node.url, timeout=30) as http:

            async def send(user: int, text: str) -> None:
                answer = await http.post(
                    f"/imbachat/v2/{widget.imba_id}/send_msg",
                    auth=widget.basic,
                    data={"user_id": str(user), "room_id": str(room), "message": text},
                )
                assert answer.status_code == 200, answer.text

            await send(1, "hi Bo")
            message = await bo.next("message", room_id=room)
            await bo.send_frame({"type": "read", "room_id": room,
                                 "seq": message["message"]["seq"]})  # fmt: skip
            await bo.next("read", room_id=room)
            await send(2, "hi Ann")  # Ann is away too, but the site gave no address for her
        await bo.close()

    asyncio.run(bo_reads_in_time())
    time.sleep(DELAY + 2)
    assert box.messages == []


def test_two_nodes_send_one_digest(start_server, widgets, inbox, site) -> None:
    box, smtp_url = inbox
    ports = [free_port(), free_port()]
    nodes = [
        start_server(port=port, public_url=f"http://127.0.0.1:{port}", smtp_url=smtp_url,
                     email_from="chat@site.test", away_check_seconds=0.05)
        for port in ports
    ]  # fmt: skip
    widget = widgets(users_info_url=site)
    widget.http.put(f"/api/v1/{widget.imba_id}/settings", auth=widget.basic,
                    data={"away_notify_seconds": str(DELAY)})  # fmt: skip
    room = widget.room([1, 2])
    wait_until(lambda: len(widget.listed("get_users", login="Bo")) == 1, 10, "Bo's profile")
    for index, text in enumerate(("one", "two", "three")):
        with httpx.Client(base_url=nodes[index % 2].url, timeout=30) as http:
            http.post(
                f"/imbachat/v2/{widget.imba_id}/send_msg",
                auth=widget.basic,
                data={"user_id": "1", "room_id": str(room), "message": text},
            )

    wait_until(lambda: box.messages, DELAY + 10, "the digest")
    time.sleep(2)
    [mail] = box.messages
    assert mail["Subject"] == "Unread messages: 3"
