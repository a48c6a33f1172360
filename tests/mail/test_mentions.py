"""Mentions reach people who are away even where they muted the room, and someone
who wants only mentions e-mailed gets mail for those and nothing else."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import free_port
from tests.mail.test_digest import inbox, site, wait_until  # noqa: F401 (fixtures)
from tests.realtime.client import ChatClient
from tests.webhooks.test_delivery import add_webhook, receiver  # noqa: F401 (fixture)

DELAY = 1


def test_only_mentions_are_mailed_and_they_pass_a_muted_room(
    start_server,
    widgets,
    inbox,  # noqa: F811 (the fixture)
    site,  # noqa: F811
    receiver,  # noqa: F811
) -> None:
    box, smtp_url = inbox
    port = free_port()
    node = start_server(
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        smtp_url=smtp_url,
        email_from="chat@site.test",
        away_check_seconds=0.2,
    )
    widget = widgets(users_info_url=site)
    changed = widget.http.put(f"/api/v1/{widget.imba_id}/settings", auth=widget.basic,
                              data={"away_notify_seconds": str(DELAY)})  # fmt: skip
    assert changed.status_code == 200, changed.text
    fake, url = receiver()
    add_webhook(widget, url, events="message.unread")
    muted, plain = widget.room([1, 2], room_type=1), widget.room([1, 2], room_type=1)
    wait_until(lambda: len(widget.listed("get_users", login="Bo")) == 1, 10, "Bo's profile")

    async def bo_wants_mentions_only() -> None:
        bo = await ChatClient.connect(node.ws_url, widget.imba_id, widget.token(2))
        await bo.send_frame({"type": "alerts", "email": "mentions"})
        await bo.send_frame({"type": "alerts", "room_id": muted, "muted": True})
        await bo.next("alerts", room_id=muted)
        await bo.close()

    asyncio.run(bo_wants_mentions_only())

    def send(room: int, text: str, **fields: str) -> None:
        with httpx.Client(base_url=node.url, timeout=30) as http:
            answer = http.post(
                f"/imbachat/v2/{widget.imba_id}/send_msg",
                auth=widget.basic,
                data={"user_id": "1", "room_id": str(room), "message": text, **fields},
            )
        assert answer.status_code == 200, answer.text

    send(muted, "noise nobody needs")
    send(plain, "an ordinary message")
    wait_until(lambda: fake.events("message.unread"), DELAY + 10, "the first notice")
    first = fake.events("message.unread")[0].body["data"]
    assert (first["unread_count"], first["mention_count"]) == (1, 0)  # the muted room: no
    assert box.messages == []  # no mention: no e-mail for Bo

    send(muted, "@Bo can you look?", **{"mentions[0]": "2"})
    wait_until(lambda: box.messages, DELAY + 10, "the mention's e-mail")
    [mail] = box.messages
    assert "Ann: @Bo can you look?" in mail.get_body(("plain",)).get_content()
    # The e-mail and the webhook go out side by side: either may land first.
    wait_until(lambda: len(fake.events("message.unread")) > 1, 10, "the second notice")
    second = fake.events("message.unread")[1].body["data"]
    assert second["mention_count"] == 1
    assert [m["message"] for m in second["messages"]][-1] == "@Bo can you look?"
