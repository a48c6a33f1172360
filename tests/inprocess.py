"""Services in-process: the real services on the real database under test, with a
manual clock and the in-process bus, but no server. For specifications of rules,
which then run in milliseconds and never wait out a real timer."""

from __future__ import annotations

import itertools
import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from imbachat.bus.memory import InMemoryBus
from imbachat.clock import ManualClock
from imbachat.config import Settings
from imbachat.domain import Message, Room, User, Widget
from imbachat.events import Event
from imbachat.services import Services, build_services, close_services
from imbachat.services.messages import SendCommand
from imbachat.services.rooms import RoomSpec
from imbachat.services.widgets import NewWidget
from imbachat.states import RoomType
from imbachat.store.db import Database

_logins = itertools.count(1)


@dataclass
class Chat:
    """A chat server's services without the server, and helpers to arrange state."""

    services: Services
    clock: ManualClock
    published: list[Event] = field(default_factory=list)

    async def widget(self) -> Widget:
        login = f"inprocess{next(_logins)}-{secrets.token_hex(3)}"
        return await self.services.widgets.create(NewWidget(login=login, password="pw"))

    async def room(
        self, widget: Widget, users: list[int], kind: RoomType = RoomType.CONFERENCE
    ) -> Room:
        """A room with these host users; the first is its admin."""
        spec = RoomSpec(title="Room", type=kind, remote_user_ids=users)
        return (await self.services.rooms.create_or_join(widget, spec)).room

    async def user(self, widget: Widget, remote_id: int) -> User:
        [user] = await self.services.users.ensure(widget, [remote_id])
        return user

    async def send(self, widget: Widget, author: int, room: Room, text: str) -> Message:
        return await self.services.messages.send(widget, SendCommand(author, room.id, text))

    def events(self, kind: type[Event]) -> list[Event]:
        return [event for event in self.published if isinstance(event, kind)]


@asynccontextmanager
async def in_process(database_url: str, **settings: object) -> AsyncIterator[Chat]:
    db = Database(database_url)
    bus = InMemoryBus()
    clock = ManualClock()
    options = {
        "send_rate_per_second": 10_000.0,
        "webhook_internal_targets": "allow",  # the tests' receivers are local
        "files_dir": tempfile.mkdtemp(prefix="imbachat-test-files-"),
        **settings,
    }
    services = build_services(db, bus, Settings(database_url=database_url, **options), clock)
    chat = Chat(services, clock)

    async def record(event: Event) -> None:
        chat.published.append(event)

    bus.subscribe(record)
    try:
        yield chat
    finally:
        await close_services(services)
