"""One write path: a change's events are announced only once it commits, its
webhook deliveries are written in its own transaction, and a rolled-back change
leaves no trace anywhere."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from imbachat.domain import Page, RoomQuery
from imbachat.events import RoomClosed
from imbachat.states import RoomStatus
from imbachat.store import rooms as room_store
from imbachat.store.schema import rooms, webhook_deliveries
from imbachat.unit_of_work import Changes

pytestmark = pytest.mark.anyio


async def deliveries_of(chat, imba_id: int) -> int:
    async with chat.services.db.read() as conn:
        query = select(func.count()).where(webhook_deliveries.c.imba_id == imba_id)
        return int(await conn.scalar(query) or 0)


async def with_webhook(chat):
    widget = await chat.widget()
    await chat.services.webhooks.add(widget, "http://127.0.0.1:9/hook")
    return widget


async def test_events_are_announced_when_the_change_commits_not_before(chat) -> None:
    widget = await with_webhook(chat)
    room = await chat.room(widget, [1, 2])
    woken: list[bool] = []
    chat.services.changes.on_deliveries(lambda: woken.append(True))

    async with chat.services.changes.begin() as uow:
        await room_store.set_status(uow.conn, room.id, RoomStatus.CLOSED, chat.clock.now())
        uow.emit(RoomClosed(room))
        assert chat.events(RoomClosed) == [] and woken == []

    assert chat.events(RoomClosed) == [RoomClosed(room)]
    assert woken == [True]
    assert await deliveries_of(chat, widget.imba_id) == 2  # room.created, then room.closed


async def test_a_change_that_rolls_back_announces_and_delivers_nothing(chat) -> None:
    widget = await with_webhook(chat)
    room = await chat.room(widget, [1, 2])
    before = await deliveries_of(chat, widget.imba_id)

    with pytest.raises(RuntimeError):
        async with chat.services.changes.begin() as uow:
            await room_store.set_status(uow.conn, room.id, RoomStatus.CLOSED, chat.clock.now())
            uow.emit(RoomClosed(room))
            raise RuntimeError("something failed after the event was emitted")

    assert chat.events(RoomClosed) == []
    assert await deliveries_of(chat, widget.imba_id) == before
    [stored] = (await chat.services.rooms.find(widget, RoomQuery(id=room.id), Page())).items
    assert stored.status == RoomStatus.OPEN


async def test_a_committed_change_stands_even_when_announcing_it_fails(chat) -> None:
    class BrokenBus:
        async def publish(self, event: object) -> None:
            raise ConnectionError("the bus is down")

    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])
    changes = Changes(chat.services.db, BrokenBus())  # type: ignore[arg-type]

    async with changes.begin() as uow:
        await room_store.set_status(uow.conn, room.id, RoomStatus.CLOSED, chat.clock.now())
        uow.emit(RoomClosed(room))

    [stored] = (await chat.services.rooms.find(widget, RoomQuery(id=room.id), Page())).items
    assert stored.status == RoomStatus.CLOSED


async def test_a_synchronous_commit_announces_when_asked_and_once(chat) -> None:
    widget = await chat.widget()
    room = await chat.room(widget, [1, 2])

    def close(uow) -> str:
        uow.conn.execute(
            update(rooms).where(rooms.c.id == room.id).values(status=RoomStatus.CLOSED)
        )
        uow.emit(RoomClosed(room))
        return "done"

    result, announce = await chat.services.changes.commit(close)
    assert result == "done" and chat.events(RoomClosed) == []
    await announce()
    assert chat.events(RoomClosed) == [RoomClosed(room)]
