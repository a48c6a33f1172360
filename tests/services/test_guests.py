"""Guests, in-process: a visitor who is not logged in may talk to the site's
support and read public rooms, nothing else, within limits; logging in hands
their conversation to their account."""

from __future__ import annotations

import time

import jwt
import pytest
from sqlalchemy import update

from imbachat.auth.tokens import verify_user_token
from imbachat.domain import Page, UserQuery
from imbachat.errors import Forbidden, Invalid, RateLimited, Unauthorized
from imbachat.events import GuestConverted, GuestCreated
from imbachat.services.guests import GuestDetails
from imbachat.services.messages import SendCommand
from imbachat.services.rooms import RoomSpec
from imbachat.services.widgets import WidgetSettings
from imbachat.states import RoomType, UserStatus
from imbachat.store.schema import rooms

pytestmark = pytest.mark.anyio


async def a_guest(chat, widget, **details):
    return await chat.services.guests.start(widget, GuestDetails(**details), "203.0.113.9")


async def test_a_guest_is_a_user_of_the_widget_with_a_token_of_its_own(chat) -> None:
    widget = await chat.widget()

    guest, token = await a_guest(chat, widget, email="ann@example.com", page="https://site/p")

    assert guest.status == UserStatus.GUEST
    assert guest.remote_user_id < 0  # never a host site's id
    assert guest.name.startswith("Guest ")
    assert verify_user_token(widget.secret_key, token).guest_id == guest.id
    assert chat.events(GuestCreated) == [GuestCreated(guest)]
    [listed] = (await chat.services.users.find(widget, query(status="guest"), page())).items
    assert listed.id == guest.id


async def test_guests_may_be_turned_off(chat) -> None:
    widget = await chat.widget()
    widget = await chat.services.widgets.update(
        widget.imba_id, WidgetSettings(guests_enabled=False)
    )

    with pytest.raises(Forbidden, match="does not take guests"):
        await a_guest(chat, widget)


async def test_one_address_starts_a_few_guests_a_minute(chat) -> None:
    widget = await chat.widget()
    for _ in range(10):
        await a_guest(chat, widget)

    with pytest.raises(RateLimited) as refused:
        await a_guest(chat, widget)
    assert 0 < refused.value.retry_after <= 60
    other = await chat.services.guests.start(widget, GuestDetails(), "198.51.100.7")
    assert other[0].status == UserStatus.GUEST

    chat.clock.advance(61)
    assert (await a_guest(chat, widget))[0].status == UserStatus.GUEST


@pytest.mark.parametrize(
    "details",
    [{"email": "not an address"}, {"name": "x" * 101}, {"page": "javascript:alert(1)"}],
)
async def test_what_a_guest_tells_is_checked(chat, details) -> None:
    widget = await chat.widget()
    with pytest.raises(Invalid):
        await a_guest(chat, widget, **details)


async def test_a_guest_talks_to_support_and_reads_public_rooms_and_nothing_else(chat) -> None:
    widget = await chat.widget()
    public = await chat.room(widget, [2, 3])
    await make_public(chat, public)
    private = await chat.room(widget, [2, 3])
    guest, _ = await a_guest(chat, widget)
    service = chat.services.rooms

    support = (await chat.services.support.open(widget, guest)).room
    assert support.type == RoomType.SUPPORT and support.pipe.startswith("support-guest-")
    sent = await chat.services.messages.send(
        widget, SendCommand(guest.remote_user_id, support.id, "hello, anyone?")
    )
    assert sent.author_remote_id == guest.remote_user_id

    with pytest.raises(Forbidden):
        await service.open_dialog(widget, guest, 2)
    with pytest.raises(Forbidden):
        await service.create_for(widget, guest, RoomSpec(title="mine"))
    with pytest.raises(Forbidden):
        await chat.services.users.search(widget, guest, "2")
    with pytest.raises(Forbidden):
        await service.join_by_pipe(widget, guest, RoomSpec(pipe=private.pipe))
    with pytest.raises(Forbidden):
        await service.join_by_pipe(widget, guest, RoomSpec(pipe="a-new-room", is_public=1))
    joined = await service.join_by_pipe(widget, guest, RoomSpec(pipe=public.pipe))
    assert joined.room.id == public.id
    with pytest.raises(Forbidden, match="read this room"):
        await chat.services.messages.send(
            widget, SendCommand(guest.remote_user_id, public.id, "may I?")
        )

    widget = await chat.services.widgets.update(
        widget.imba_id, WidgetSettings(guests_write_public=True)
    )
    await chat.services.messages.send(widget, SendCommand(guest.remote_user_id, public.id, "ok"))


async def test_a_guest_sends_a_few_messages_a_minute(chat) -> None:
    widget = await chat.widget()
    guest, _ = await a_guest(chat, widget)
    support = (await chat.services.support.open(widget, guest)).room

    for i in range(10):
        await chat.services.messages.send(
            widget, SendCommand(guest.remote_user_id, support.id, f"{i}")
        )
    with pytest.raises(RateLimited, match="Guests send"):
        await chat.services.messages.send(
            widget, SendCommand(guest.remote_user_id, support.id, "one more")
        )
    chat.clock.advance(7)
    await chat.services.messages.send(widget, SendCommand(guest.remote_user_id, support.id, "ok"))


async def test_a_guest_who_logs_in_keeps_their_conversation(chat) -> None:
    widget = await chat.widget()
    guest, _ = await a_guest(chat, widget, email="ann@example.com")
    support = (await chat.services.support.open(widget, guest)).room
    await chat.services.messages.send(widget, SendCommand(guest.remote_user_id, support.id, "hi"))
    member = await chat.user(widget, 42)

    await chat.services.guests.convert(widget, guest, member)

    [view] = await chat.services.rooms.views(member)
    assert (view.room.id, view.room.pipe) == (support.id, "support-42")
    assert [m.user_id for m in view.members or []] == [member.id]
    history, _ = await chat.services.messages.history(widget, member, support.id, None, 10)
    assert [(m.author_remote_id, m.body) for m in history] == [(42, "hi")]
    assert chat.events(GuestConverted) == [GuestConverted(guest, member)]
    with pytest.raises(Unauthorized):  # the guest is gone
        await chat.services.guests.get(widget, guest.id)


async def test_an_expired_guest_token_renews_a_while_but_not_forever(chat) -> None:
    widget = await chat.widget()
    guest, _ = await a_guest(chat, widget)
    now = int(time.time())
    expired = jwt.encode({"guest_id": guest.id, "exp": now - 86_400}, widget.secret_key)
    ancient = jwt.encode({"guest_id": guest.id, "exp": now - 400 * 86_400}, widget.secret_key)
    forged = jwt.encode({"guest_id": guest.id, "exp": now + 60}, "not the secret" * 3)

    renewed, token = await chat.services.guests.renew(widget, expired)

    assert renewed.id == guest.id
    assert verify_user_token(widget.secret_key, token).guest_id == guest.id
    for refused in (ancient, forged):
        with pytest.raises(Unauthorized):
            await chat.services.guests.renew(widget, refused)


async def make_public(chat, room) -> None:
    async with chat.services.db.write() as conn:
        await conn.execute(update(rooms).where(rooms.c.id == room.id).values(is_public=1))


def query(**fields) -> UserQuery:
    return UserQuery(**fields)


def page() -> Page:
    return Page()
