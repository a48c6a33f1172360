"""Factories: real widgets, users, rooms and messages, made through the real server."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import select, update

from imbachat.auth.tokens import issue_user_token
from imbachat.domain import SendRequest
from imbachat.services import Services
from imbachat.services.widgets import NewWidget
from imbachat.store.schema import members, users

if TYPE_CHECKING:
    from tests.conftest import LiveServer

_logins = itertools.count(1)


@dataclass
class TestWidget:
    """A widget of the server under test, with helpers that call the API as a site would."""

    __test__ = False  # not a test class, despite the name

    imba_id: int
    secret_key: str
    login: str
    password: str
    http: httpx.Client
    server: LiveServer

    @property
    def basic(self) -> tuple[str, str]:
        return (str(self.imba_id), self.secret_key)

    def v2(self, endpoint: str) -> str:
        return f"/imbachat/v2/{self.imba_id}/{endpoint}"

    def owner_fields(self) -> dict[str, str]:
        return {"imba_id": str(self.imba_id), "login": self.login, "password": self.password}

    def imba_rooms(self, **fields: Any) -> httpx.Response:
        """POST the v1 imba_rooms call with the owner's credentials and these fields."""
        users = fields.pop("users_ids", [])
        data: dict[str, Any] = {**self.owner_fields(), **{k: str(v) for k, v in fields.items()}}
        data.update({f"users_ids[{i}]": str(user) for i, user in enumerate(users)})
        return self.http.post("/imbachat/v1/widget/imba_rooms", data=data)

    def room(self, users: list[int], **fields: Any) -> int:
        """Create a room with these host users; returns its id."""
        response = self.imba_rooms(users_ids=users, **fields)
        assert response.status_code == 200, response.text
        return int(response.json()["data"][0]["room_id"])

    def post(self, endpoint: str, data: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        """POST a v2 endpoint with this widget's Basic credentials."""
        kw.setdefault("auth", self.basic)
        return self.http.post(self.v2(endpoint), data=data or {}, **kw)

    def send(self, user: int, room: int, text: str, **fields: Any) -> dict[str, Any]:
        response = self.post(
            "send_msg", {"user_id": user, "room_id": room, "message": text, **fields}
        )
        assert response.status_code == 200, response.text
        message: dict[str, Any] = response.json()["message"]
        return message

    def store_many(
        self,
        room: int,
        author: int,
        count: int,
        via: LiveServer | None = None,
        text: str = "m{i}",
    ) -> None:
        """Store ``count`` messages through the real writer of ``via`` (default: the
        widget's server), quickly: the author is made a bot, which the send rate
        limit exempts."""

        async def burst(services: Services) -> None:
            widget = await services.widgets.get(self.imba_id)
            await services.moderation.set_bot(widget, author, True)
            requests = [
                SendRequest(
                    imba_id=self.imba_id,
                    room_id=room,
                    author_remote_id=author,
                    body=text.format(i=i),
                )
                for i in range(count)
            ]
            await asyncio.gather(*(services.writer.submit(r) for r in requests))

        (via or self.server).run(burst)

    def listed(self, endpoint: str, **fields: Any) -> list[dict[str, Any]]:
        response = self.post(endpoint, fields)
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    def token(self, user_id: int, ttl: int = 3600) -> str:
        return issue_user_token(self.secret_key, user_id, ttl)

    def set_user(self, remote_id: int, **values: Any) -> None:
        """Arrange a user's stored state (name, status, is_banned, …) directly."""
        self._update(users, users.c.remote_user_id == remote_id, values)

    def set_member(self, room_id: int, remote_id: int, **values: Any) -> None:
        """Arrange a membership's stored state (role, is_banned, …) directly."""
        user_ids = select(users.c.id).where(
            users.c.imba_id == self.imba_id, users.c.remote_user_id == remote_id
        )
        self._update(
            members, (members.c.room_id == room_id) & members.c.user_id.in_(user_ids), values
        )

    def _update(self, table: Any, condition: Any, values: dict[str, Any]) -> None:
        async def work(services: Services) -> None:
            async with services.db.write() as conn:
                scoped = condition
                if "imba_id" in table.c:
                    scoped = scoped & (table.c.imba_id == self.imba_id)
                result = await conn.execute(update(table).where(scoped).values(**values))
                assert result.rowcount == 1, f"expected one row to arrange, got {result.rowcount}"

        self.server.run(work)


class WidgetFactory:
    def __init__(self, server: LiveServer, http: httpx.Client) -> None:
        self.server = server
        self.http = http

    def __call__(self, **overrides: Any) -> TestWidget:
        login = overrides.pop("login", f"owner{next(_logins)}-{id(self)}")
        password = overrides.pop("password", "correct horse battery staple")
        spec = NewWidget(login=login, password=password, **overrides)
        widget = self.server.run(lambda services: services.widgets.create(spec))
        return TestWidget(
            widget.imba_id, widget.secret_key, login, password, self.http, self.server
        )
