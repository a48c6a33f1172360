"""Reactions: members put emoji on messages; everyone in the room sees the counts
and who reacted, live and in every later read of the message."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from imbachat.errors import Invalid
from imbachat.services import reactions
from imbachat.services.reactions import MAX_DISTINCT, check_emoji
from tests.realtime.client import answer_code, connect, settled

EMOJI = ["😀", "👍", "❤️", "❤", "🇪🇸", "👩‍👩‍👧", "👋🏽", "👩🏽‍💻", "1️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "©️", "↩️", "🫨", "‼️"]
PICKER = Path(reactions.__file__).parent.parent / "widget" / "emoji" / "data.json"


@pytest.mark.parametrize("emoji", EMOJI)
def test_one_emoji_of_any_kind_is_taken(emoji: str) -> None:
    assert check_emoji(emoji) == emoji


def test_every_emoji_the_picker_offers_is_taken() -> None:
    groups = orjson.loads(PICKER.read_bytes())["groups"]
    offered = [entry[0] for group in groups for entry in group["emoji"]]
    assert len(offered) > 1800
    assert [e for e in offered if check_emoji(e) != e] == []


@pytest.mark.parametrize("text", ["", "a", "ok", "1", "👍 ", "👍👍", "<b>", "\u200d", "👍" * 17])
def test_anything_but_one_emoji_is_refused(text: str) -> None:
    with pytest.raises(Invalid):
        check_emoji(text)


def test_members_react_and_everyone_sees_counts_and_who_live(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2, 3])

    async def scenario() -> None:
        ann, bo, cy = [await connect(server, widget, user) for user in (1, 2, 3)]
        sent = await ann.send(room, "Lunch at noon?")
        assert sent["reactions"] == []
        await bo.send_frame({"type": "react", "message_id": sent["id"], "emoji": "👍"})
        # Seen by all before cy reacts: frames of two sockets have no order between them.
        firsts = [await socket.next("reaction", user_id=2) for socket in (ann, bo, cy)]
        await cy.send_frame({"type": "react", "message_id": sent["id"], "emoji": "👍"})
        await cy.send_frame({"type": "react", "message_id": sent["id"], "emoji": "🎉"})
        for socket, first in zip((ann, bo, cy), firsts, strict=True):
            assert (first["room_id"], first["message_id"]) == (room, sent["id"])
            assert (first["emoji"], first["removed"]) == ("👍", False)
            assert first["reactions"] == [{"emoji": "👍", "count": 1, "user_ids": [2]}]
            await socket.next("reaction", user_id=3, emoji="👍")
            last = await socket.next("reaction", user_id=3, emoji="🎉")
            assert last["reactions"] == [
                {"emoji": "👍", "count": 2, "user_ids": [2, 3]},
                {"emoji": "🎉", "count": 1, "user_ids": [3]},
            ]
        # Reacting twice changes nothing and tells nobody again.
        await bo.send_frame({"type": "react", "message_id": sent["id"], "emoji": "👍"})
        await settled(bo)
        await bo.send_frame(
            {"type": "react", "message_id": sent["id"], "emoji": "👍", "remove": True}
        )
        taken_back = await ann.next("reaction", user_id=2)
        assert taken_back["removed"] is True
        assert taken_back["reactions"][0] == {"emoji": "👍", "count": 1, "user_ids": [3]}
        assert ann.taken_none("reaction", user_id=2)

        # Every later read carries them: history, replay, get_messages.
        await bo.send_frame({"type": "history", "room_id": room})
        [shown] = (await bo.next("history"))["messages"]
        assert shown["reactions"] == taken_back["reactions"]
        again = await connect(server, widget, 2)
        await again.send_frame({"type": "resume", "rooms": {str(room): 0}})
        assert (await again.next("message"))["message"]["reactions"] == shown["reactions"]
        for socket in (ann, bo, cy, again):
            await socket.close()
        [listed] = widget.listed("get_messages", room_id=str(room))
        assert listed["reactions"] == shown["reactions"]

    asyncio.run(scenario())


def test_reactions_follow_the_rules_of_the_room(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2])
    elsewhere = widget.room([3, 4])

    async def scenario() -> None:
        ann, bo = await connect(server, widget, 1), await connect(server, widget, 2)
        sent = await ann.send(room, "hello")
        other = (await (await connect(server, widget, 3)).send(elsewhere, "private"))["id"]

        def react(message_id: int, emoji: str) -> dict:
            return {"type": "react", "message_id": message_id, "emoji": emoji}

        assert await answer_code(bo, react(other, "👍")) == 403  # not their room
        assert await answer_code(bo, react(10**12, "👍")) == 404
        assert await answer_code(bo, react(sent["id"], "nice")) == 422
        assert await answer_code(bo, {"type": "react", "message_id": sent["id"]}) == 422
        distinct = ["😀", "😁", "😂", "🤣", "😃", "😄", "😅", "😆", "😉", "😊"] * 2
        distinct[10:] = ["🍎", "🍐", "🍊", "🍋", "🍌", "🍉", "🍇", "🍓", "🫐", "🍈"]
        assert len(set(distinct)) == MAX_DISTINCT
        for emoji in distinct:
            await bo.send_frame(react(sent["id"], emoji))
        await settled(bo)
        assert await answer_code(ann, react(sent["id"], "🥝")) == 413  # a 21st kind
        assert await answer_code(ann, react(sent["id"], "🍎")) is None  # one there already
        widget.set_member(room, 2, muted_until=datetime(2999, 1, 1))
        assert await answer_code(bo, react(sent["id"], "🍐")) == 403
        await ann.send_frame({"type": "delete", "message_id": sent["id"]})
        await ann.next("message_deleted")
        assert await answer_code(ann, react(sent["id"], "🍎")) == 404
        await ann.send_frame({"type": "history", "room_id": room})
        [gone] = (await ann.next("history"))["messages"]
        assert (gone["message"], gone["reactions"]) == ("", [])
        for socket in (ann, bo):
            await socket.close()

    asyncio.run(scenario())


def test_the_backend_reacts_for_a_user_and_webhooks_hear_of_it(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2])
    sent = widget.send(1, room, "Our bot says hi")

    async def scenario() -> None:
        ann = await connect(server, widget, 1)
        answer = widget.post("react", {"user_id": 2, "message_id": sent["id"], "emoji": "🤖"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["message"]["reactions"] == [
            {"emoji": "🤖", "count": 1, "user_ids": [2]}
        ]
        assert (await ann.next("reaction"))["user_id"] == 2
        taken = widget.post(
            "react", {"user_id": 2, "message_id": sent["id"], "emoji": "🤖", "remove": "1"}
        )
        assert taken.json()["message"]["reactions"] == []
        await ann.close()

    asyncio.run(scenario())
    refused = widget.post("react", {"user_id": 3, "message_id": sent["id"], "emoji": "🤖"})
    assert refused.status_code == 404  # nobody by that id yet
    assert widget.post("react", {"user_id": 1, "message_id": sent["id"]}).status_code == 422
