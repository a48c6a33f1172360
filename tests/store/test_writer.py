"""Group commit: concurrent sends share commits, and one bad draft fails alone."""

from __future__ import annotations

import asyncio

from sqlalchemy import event

from imbachat.domain import SendRequest


def test_a_hundred_concurrent_sends_cost_a_few_commits(server, widgets) -> None:
    widget = widgets()
    room = widget.room(list(range(1, 101)))

    async def burst(services):
        before = (services.writer.stats.batches, services.writer.stats.messages)
        drafts = [
            SendRequest(imba_id=widget.imba_id, room_id=room, author_remote_id=i, body=f"m{i}")
            for i in range(1, 101)
        ]
        stored = await asyncio.gather(*(services.writer.submit(d) for d in drafts))
        after = (services.writer.stats.batches, services.writer.stats.messages)
        return stored, after[0] - before[0], after[1] - before[1]

    stored, batches, messages = server.run(burst)

    assert messages == 100
    assert batches <= 3, f"100 concurrent sends took {batches} commits"
    assert sorted(message.seq for message, created in stored if created) == list(range(1, 101))
    assert [m.body for m, _ in stored] == [f"m{i}" for i in range(1, 101)]  # each gets its own
    assert [m.author_remote_id for m, _ in stored] == list(range(1, 101))
    assert widget.listed("get_rooms", room_id=str(room))[0]["last_seq"] == 100


def test_a_batch_of_a_hundred_is_stored_with_one_insert(server, widgets) -> None:
    widget = widgets()
    room = widget.room(list(range(1, 101)))
    inserts: list[str] = []  # appended in the writer's thread, read once it is done

    def count(_conn, _cursor, statement, _params, _context, _many) -> None:
        if statement.startswith("INSERT INTO messages"):
            inserts.append(statement)

    async def burst(services):
        engine = services.db.write_engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            before = services.writer.stats.batches
            requests = [
                SendRequest(imba_id=widget.imba_id, room_id=room, author_remote_id=i, body=f"m{i}")
                for i in range(1, 101)
            ]
            stored = await asyncio.gather(*(services.writer.submit(r) for r in requests))
            return stored, services.writer.stats.batches - before
        finally:
            event.remove(engine, "before_cursor_execute", count)

    stored, batches = server.run(burst)

    assert len(inserts) == batches  # not one per message
    assert len({message.id for message, _ in stored}) == 100
    # each sender got the id of their own message (ids were matched back, not guessed)
    bodies = {message.id: message.body for message, _ in stored}
    listed = widget.listed("get_messages", room_id=str(room))
    assert listed
    assert all(bodies[int(m["id"])] == m["message"] for m in listed)


def test_a_bad_draft_fails_alone_and_the_rest_of_its_batch_is_stored(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1])

    async def mixed(services):
        good = [
            SendRequest(imba_id=widget.imba_id, room_id=room, author_remote_id=1, body=f"ok{i}")
            for i in range(5)
        ]
        bad = SendRequest(imba_id=widget.imba_id, room_id=2**40, author_remote_id=1, body="x")
        return await asyncio.gather(
            *(services.writer.submit(d) for d in [*good[:2], bad, *good[2:]]),
            return_exceptions=True,
        )

    results = server.run(mixed)

    assert isinstance(results[2], Exception)
    stored = [r for i, r in enumerate(results) if i != 2]
    assert [message.seq for message, _ in stored] == [1, 2, 3, 4, 5]
    assert len(widget.listed("get_messages", room_id=str(room))) == 5


def test_duplicate_client_ids_in_one_batch_store_one_message(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1])

    async def twice(services):
        draft = SendRequest(
            imba_id=widget.imba_id, room_id=room, author_remote_id=1, body="x", client_id="dup"
        )
        return await asyncio.gather(services.writer.submit(draft), services.writer.submit(draft))

    (first, created_first), (second, created_second) = server.run(twice)

    assert first.id == second.id
    assert (created_first, created_second) == (True, False)
