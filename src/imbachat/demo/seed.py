"""Seed data of ``imbachat demo``: one widget, three users, two rooms with history.

Seeding is idempotent: running the demo again reuses what is there.
"""

from __future__ import annotations

from dataclasses import dataclass

from imbachat.bus.memory import InMemoryBus
from imbachat.clock import utcnow
from imbachat.config import Settings
from imbachat.domain import Widget
from imbachat.services import build_services
from imbachat.services.messages import SendCommand
from imbachat.services.rooms import RoomSpec
from imbachat.services.widgets import NewWidget
from imbachat.states import RoomType, UserStatus
from imbachat.store import users as user_store
from imbachat.store import widgets as widget_store
from imbachat.store.db import Database

DEMO_IMBA_ID = 1
DEMO_LOGIN = "admin"
DEMO_PASSWORD = "admin"  # noqa: S105 - a demo on localhost, printed for the user to try
DEMO_USERS = {
    1: ("Alice", UserStatus.ADMIN),
    2: ("Bob", UserStatus.USER),
    3: ("Carol", UserStatus.USER),
}
CONFERENCE_HISTORY = [
    (1, "Welcome to the imbachat demo, everyone!"),
    (2, "Hi Alice! Glad to be here."),
    (3, "Hello both. Is this chat live?"),
    (1, "It is: open another user's page and write to each other."),
]
SUPPORT_HISTORY = [
    (3, "Hi, I cannot find my order confirmation."),
    (1, "Hello Carol, I am looking into it right now."),
]


@dataclass(frozen=True, slots=True)
class DemoSeed:
    widget: Widget
    conference_id: int
    support_id: int

    def instructions(self, base: str) -> str:
        imba, secret = self.widget.imba_id, self.widget.secret_key
        auth = f"--user {imba}:{secret}"
        return f"""
Open the demo site as two people and chat:
  {base}/?user=1   (Alice)
  {base}/?user=2   (Bob, in another browser or a private window)

imbachat demo: widget imba_id={imba}, owner login {DEMO_LOGIN!r} / password {DEMO_PASSWORD!r}
  secret_key: {secret}
  users: Alice (1, admin), Bob (2), Carol (3); conference room {self.conference_id},
  support room {self.support_id}. API docs: {base}/docs

Try the ImbaChat API:
  curl -X POST {base}/imbachat/v1/widget/imba_rooms --form imba_id={imba} \\
       --form login={DEMO_LOGIN} --form password={DEMO_PASSWORD} \\
       --form 'users_ids[0]=1' --form 'users_ids[1]=2' --form room_type=1 \\
       --form 'room_title=My first room'
  curl -X POST {base}/imbachat/v2/{imba}/get_users {auth} --form status=user
  curl -X POST {base}/imbachat/v2/{imba}/get_rooms {auth} --form room_type=1
  curl -X POST {base}/imbachat/v2/{imba}/get_messages {auth} --form room_id={self.conference_id}
  curl -X POST {base}/imbachat/v2/{imba}/send_msg {auth} \\
       --form user_id=2 --form room_id={self.conference_id} --form 'message=Hello from curl'
"""


async def seed_demo(db: Database) -> DemoSeed:
    bus = InMemoryBus()
    services = build_services(db, bus, Settings())
    widgets, users = services.widgets, services.users
    rooms, messages = services.rooms, services.messages
    async with db.read() as conn:
        widget = await widget_store.get(conn, DEMO_IMBA_ID)
    if widget is None:
        widget = await widgets.create(
            NewWidget(login=DEMO_LOGIN, password=DEMO_PASSWORD, imba_id=DEMO_IMBA_ID)
        )
    people = await users.ensure(widget, list(DEMO_USERS))
    async with db.write() as conn:
        for person in people:
            name, status = DEMO_USERS[person.remote_user_id]
            await user_store.set_profile(conn, person.id, name=name, status=status, now=utcnow())
    conference = await rooms.create_or_join(
        widget,
        RoomSpec(
            title="Team chat", pipe="demo-team", type=RoomType.CONFERENCE, remote_user_ids=[1, 2, 3]
        ),
    )
    support = await rooms.create_or_join(
        widget,
        RoomSpec(
            title="Technical support",
            pipe="demo-support",
            type=RoomType.SUPPORT,
            remote_user_ids=[3, 1],
        ),
    )
    for room, history in ((conference.room, CONFERENCE_HISTORY), (support.room, SUPPORT_HISTORY)):
        if room.last_seq == 0:
            for author, text in history:
                await messages.send(widget, SendCommand(author, room.id, text))
    await services.writer.close()
    await services.profiles.close()
    return DemoSeed(widget, conference.room.id, support.room.id)
