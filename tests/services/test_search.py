"""Message search, in-process on the real database: what a member finds (words in
any case, in Russian as in English), what they never find (rooms they are not in,
left or are banned in; deleted messages), the order and the pages of results, text
that is FTS syntax, and the history page around a result."""

from __future__ import annotations

import io
import secrets

import pytest

from imbachat.domain import Room, User, Widget
from imbachat.errors import Forbidden, Invalid, NotFound, TooLarge
from imbachat.services.files import Upload
from imbachat.services.messages import SendCommand
from imbachat.services.search import SearchPage, SearchRequest
from imbachat.store import search as search_store

pytestmark = pytest.mark.anyio


async def search(
    chat, widget: Widget, user: User | None, text: str, **fields: object
) -> SearchPage:
    page: SearchPage = await chat.services.search.search(
        widget, user, SearchRequest(text, **fields), cursor_field="before"
    )
    return page


async def fill(chat, widget: Widget, room: Room) -> None:
    """Messages without the words searched: BM25 weighs nothing a word in most of
    the messages (as in a fresh database, when a test runs alone)."""
    for i in range(8):
        await chat.send(widget, 2, room, f"filler {i}")


def bodies(page: SearchPage) -> list[str]:
    return [result.message.body for result in page.results]


async def test_a_russian_word_is_found_in_any_case_inside_a_sentence(chat) -> None:
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    await chat.send(widget, 2, room, "Всем ПРИВЕТ, как у вас дела сегодня вечером?")
    await chat.send(widget, 2, room, "Приветствую (another word, not the same)")
    await chat.send(widget, 1, room, "The deploy went fine, thanks")
    alice = await chat.user(widget, 1)

    for typed in ("привет", "Привет", "ПРИВЕТ"):
        page = await search(chat, widget, alice, typed)
        assert bodies(page) == ["Всем ПРИВЕТ, как у вас дела сегодня вечером?"], typed
    assert bodies(await search(chat, widget, alice, "DEPLOY")) == ["The deploy went fine, thanks"]
    assert bodies(await search(chat, widget, alice, "дела вечером")) == [
        "Всем ПРИВЕТ, как у вас дела сегодня вечером?"
    ]
    assert bodies(await search(chat, widget, alice, "deploy вечером")) == []  # every word counts


async def test_results_carry_their_room_and_render_like_history(chat) -> None:
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    sent = await chat.send(widget, 2, room, "budget for the offsite")
    alice = await chat.user(widget, 1)

    [result] = (await search(chat, widget, alice, "offsite")).results
    assert result.message == sent
    assert (result.room.id, result.room.name, result.room.type) == (room.id, room.name, room.type)


async def test_only_rooms_the_user_is_an_active_member_of_and_not_banned_in(chat) -> None:
    widget = await chat.widget()
    mine = await chat.room(widget, [1, 2])
    others = await chat.room(widget, [2, 3])
    left = await chat.room(widget, [2, 1])
    banned = await chat.room(widget, [2, 1])
    for room in (mine, others, left, banned):
        await chat.send(widget, 2, room, f"pineapple in room {room.id}")
    elsewhere = await chat.widget()  # the same words in another widget, same host ids
    await chat.send(elsewhere, 2, await chat.room(elsewhere, [1, 2]), "pineapple elsewhere")
    await chat.services.moderation.act(widget, "remove", 1, room_id=left.id)
    await chat.services.moderation.act(widget, "ban", 1, room_id=banned.id)
    alice = await chat.user(widget, 1)

    page = await search(chat, widget, alice, "pineapple")
    assert bodies(page) == [f"pineapple in room {mine.id}"]
    with pytest.raises(Forbidden):
        await search(chat, widget, alice, "pineapple", room_id=others.id)
    with pytest.raises(Forbidden):
        await search(chat, widget, alice, "pineapple", room_id=left.id)
    with pytest.raises(Forbidden, match="banned"):
        await search(chat, widget, alice, "pineapple", room_id=banned.id)
    with pytest.raises(NotFound):
        await search(chat, widget, alice, "pineapple", room_id=10**12)
    # A user in no room at all finds nothing, and is told nothing more.
    assert bodies(await search(chat, widget, await chat.user(widget, 9), "pineapple")) == []


async def test_deleted_messages_are_never_found_and_edits_are_found_by_their_new_words(
    chat,
) -> None:
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    gone = await chat.send(widget, 2, room, "secret rendezvous at noon")
    edited = await chat.send(widget, 2, room, "lunch at the harbour")
    bob, alice = await chat.user(widget, 2), await chat.user(widget, 1)

    await chat.services.messages.delete(widget, bob, gone.id)
    await chat.services.messages.edit(widget, bob, edited.id, "dinner at the lighthouse")

    assert bodies(await search(chat, widget, alice, "rendezvous")) == []
    assert bodies(await search(chat, widget, alice, "harbour")) == []
    assert bodies(await search(chat, widget, alice, "lighthouse")) == ["dinner at the lighthouse"]
    assert bodies(await search(chat, widget, None, "rendezvous")) == []  # nor by the site


async def test_the_most_relevant_first_and_the_newest_first_among_equals(chat) -> None:
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    await fill(chat, widget, room)
    texts = [
        "kiwi",
        "a long message that mentions kiwi once among many other words here",
        "kiwi",
    ]
    sent = [await chat.send(widget, 2, room, text) for text in texts]
    alice = await chat.user(widget, 1)

    found = [r.message.id for r in (await search(chat, widget, alice, "kiwi")).results]
    # The word in a short message beats the word in a long one; of two equal
    # ones, the newer comes first.
    assert found == [sent[2].id, sent[0].id, sent[1].id]


async def test_a_very_common_word_matches_but_is_not_weighed_on_sqlite(chat, monkeypatch) -> None:
    """Weighing a word in over COMMON_WORD messages costs SQLite a read of all of
    them: such queries come newest first there (PostgreSQL's ranking does not count
    messages, so it ranks them as any other)."""
    monkeypatch.setattr(search_store, "COMMON_WORD", 4)
    word = f"kiwi{secrets.token_hex(4)}"  # counted across widgets: this test's own
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    await fill(chat, widget, room)
    texts = [word, f"a long message that mentions {word} once among many other words", word]
    sent = [await chat.send(widget, 2, room, text) for text in texts]
    alice = await chat.user(widget, 1)

    found = [r.message.id for r in (await search(chat, widget, alice, word)).results]
    assert found == [sent[2].id, sent[0].id, sent[1].id]  # not common yet: ranked
    sent.append(await chat.send(widget, 2, room, f"{word} again"))
    chat.clock.advance(601)  # what is known of words is renewed every 10 minutes
    found = [r.message.id for r in (await search(chat, widget, alice, word)).results]
    if chat.services.db.is_sqlite:
        assert found == [m.id for m in reversed(sent)]  # newest first
    else:
        assert found == [sent[2].id, sent[0].id, sent[3].id, sent[1].id]


async def test_pages_follow_the_cursor_without_repeats_or_gaps(chat) -> None:
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    sent = [await chat.send(widget, 2, room, f"mango number {i}") for i in range(7)]
    alice = await chat.user(widget, 1)

    seen: list[int] = []
    cursor: str | None = None
    for _ in range(4):
        page = await search(chat, widget, alice, "mango", limit=3, before=cursor)
        seen += [r.message.id for r in page.results]
        cursor = page.next
        if cursor is None:
            break
    assert seen == [m.id for m in reversed(sent)]  # all equal: newest first
    assert cursor is None and len(page.results) == 1

    for bad in ("", "x", "1:2:3", "12", "-:4", "9" * 30 + ":1"):
        with pytest.raises(Invalid, match="before"):
            await search(chat, widget, alice, "mango", before=bad)


async def test_a_limit_is_kept_within_1_to_50(chat) -> None:
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    for i in range(3):
        await chat.send(widget, 2, room, f"plum {i}")
    alice = await chat.user(widget, 1)
    assert len((await search(chat, widget, alice, "plum", limit=0)).results) == 1
    assert len((await search(chat, widget, alice, "plum", limit=1000)).results) == 3


HOSTILE = [
    '"',
    '""',
    '"unterminated',
    "*",
    "kiwi*",
    "NEAR",
    "NEAR(kiwi lime)",
    "kiwi NEAR lime",
    "-",
    "-kiwi",
    "kiwi -lime",
    "kiwi OR lime",
    "NOT kiwi",
    "AND",
    "(",
    ")",
    "^kiwi",
    "body:kiwi",
    "room:1",
    "{body room}: kiwi",
    "kiwi:",
    "'; DROP TABLE messages; --",
    "%_%",
    "\\",
    "🍋🍋",
    "\u202ekiwi",
    "ki\u0301wi",
    "ǅ ß ﬃ İ",
    "x" * 200,
    "kiwi " * 40,
    " ".join(f"w{i}" for i in range(50)),
]


@pytest.mark.parametrize("text", HOSTILE)
async def test_what_people_type_is_never_query_syntax(chat, text: str) -> None:
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    await chat.send(widget, 2, room, "kiwi and lime")
    alice = await chat.user(widget, 1)
    page = await search(chat, widget, alice, text)
    # Only the words count: a word of the message among them may find it, nothing
    # else does (and the query's operators are words like any other).
    assert bodies(page) in ([], ["kiwi and lime"])
    assert bodies(await search(chat, widget, None, text)) in ([], ["kiwi and lime"])


async def test_operators_are_plain_words(chat) -> None:
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    await chat.send(widget, 2, room, "kiwi and lime")
    await chat.send(widget, 2, room, "we are NEAR the station, not far")
    alice = await chat.user(widget, 1)
    assert bodies(await search(chat, widget, alice, "kiwi OR banana")) == []
    assert bodies(await search(chat, widget, alice, "near")) == ["we are NEAR the station, not far"]
    assert bodies(await search(chat, widget, alice, '"kiwi" -lime')) == ["kiwi and lime"]
    assert bodies(await search(chat, widget, alice, "NOT")) == ["we are NEAR the station, not far"]


async def test_text_must_be_1_to_200_characters(chat) -> None:
    widget = await chat.widget()
    alice = await chat.user(widget, 1)
    for blank in ("", "   ", "\n\t"):
        with pytest.raises(Invalid):
            await search(chat, widget, alice, blank)
    with pytest.raises(TooLarge):
        await search(chat, widget, alice, "x" * 201)
    assert bodies(await search(chat, widget, alice, "x" * 200)) == []


async def test_the_site_searches_the_whole_widget_or_one_users_rooms(chat) -> None:
    widget = await chat.widget()
    first = await chat.room(widget, [1, 2])
    second = await chat.room(widget, [2, 3])
    await chat.send(widget, 2, first, "quarterly numbers")
    await chat.send(widget, 3, second, "quarterly report")
    site = chat.services.search

    everything = await site.search_for_site(widget, None, SearchRequest("quarterly"))
    assert sorted(bodies(everything)) == ["quarterly numbers", "quarterly report"]
    mine = await site.search_for_site(widget, 1, SearchRequest("quarterly"))
    assert bodies(mine) == ["quarterly numbers"]
    one_room = await site.search_for_site(widget, None, SearchRequest("quarterly", second.id))
    assert bodies(one_room) == ["quarterly report"]
    with pytest.raises(NotFound, match="user_id"):
        await site.search_for_site(widget, 404, SearchRequest("quarterly"))
    with pytest.raises(NotFound, match="room_id"):
        other = await chat.widget()
        await site.search_for_site(other, None, SearchRequest("quarterly", second.id))


async def test_many_rooms_are_searched_through_memberships_with_the_same_results(
    chat, monkeypatch
) -> None:
    widget = await chat.widget()
    rooms = [await chat.room(widget, [1, 2]) for _ in range(4)]
    outside = await chat.room(widget, [2, 3])
    for room in [*rooms, outside]:
        await chat.send(widget, 2, room, f"apricot {room.id}")
    await chat.services.moderation.act(widget, "ban", 1, room_id=rooms[0].id)
    alice = await chat.user(widget, 1)

    listed = bodies(await search(chat, widget, alice, "apricot"))
    monkeypatch.setattr(search_store, "MAX_ROOM_TERMS", 2)  # more rooms than the query takes
    checked = bodies(await search(chat, widget, alice, "apricot"))
    assert listed == checked == [f"apricot {room.id}" for room in reversed(rooms[1:])]


async def test_only_the_newest_matches_are_ranked(chat, monkeypatch) -> None:
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    await fill(chat, widget, room)
    best = await chat.send(widget, 2, room, "fig fig fig")  # the best match, but old
    for i in range(4):
        await chat.send(widget, 2, room, f"fig and other words {i}")
    alice = await chat.user(widget, 1)
    assert (await search(chat, widget, alice, "fig")).results[0].message.id == best.id

    monkeypatch.setattr(search_store, "WINDOW", 3)
    page = await search(chat, widget, alice, "fig")
    assert len(page.results) == 3 and best.id not in [r.message.id for r in page.results]


async def test_file_links_of_found_messages_are_signed(chat) -> None:
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    bob = await chat.user(widget, 2)
    content = b"%PDF-1.4\n%%EOF\n"
    stored = await chat.services.files.upload(
        widget, bob, Upload(io.BytesIO(content), "minutes.pdf", len(content))
    )
    await chat.services.messages.send(
        widget, SendCommand(2, room.id, "the minutes, attached", attachments=(stored.id,))
    )
    alice = await chat.user(widget, 1)

    [result] = (await search(chat, widget, alice, "minutes")).results
    [attachment] = result.message.attachments
    assert attachment.url and "signature=" in attachment.url, attachment.url


# ---- the history page around a result --------------------------------------------------


async def seqs_around(chat, widget, room, around: int, limit: int) -> tuple[list[int], bool, bool]:
    alice = await chat.user(widget, 1)
    found, older, newer = await chat.services.messages.history_around(
        widget, alice, room.id, around, limit
    )
    return [m.seq for m in found], older, newer


async def test_history_around_a_seq_is_centred_on_it(chat) -> None:
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    for i in range(1, 21):
        await chat.send(widget, 2, room, f"line {i}")

    assert await seqs_around(chat, widget, room, 10, 5) == ([8, 9, 10, 11, 12], True, True)
    assert await seqs_around(chat, widget, room, 10, 4) == ([8, 9, 10, 11], True, True)
    assert await seqs_around(chat, widget, room, 10, 1) == ([10], True, True)
    # Near an end the page fills from the other side.
    assert await seqs_around(chat, widget, room, 2, 5) == ([1, 2, 3, 4, 5], False, True)
    assert await seqs_around(chat, widget, room, 20, 5) == ([16, 17, 18, 19, 20], True, False)
    assert await seqs_around(chat, widget, room, 99, 3) == ([18, 19, 20], True, False)
    assert await seqs_around(chat, widget, room, 10, 200) == (list(range(1, 21)), False, False)
    outsider = await chat.user(widget, 3)
    with pytest.raises(Forbidden):
        await chat.services.messages.history_around(widget, outsider, room.id, 10, 5)
