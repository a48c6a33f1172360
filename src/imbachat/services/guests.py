"""Guests: visitors of the site who are not logged in.

A guest is a user of the widget with status ``guest`` and a negative
``remote_user_id`` (host ids are positive, so the two never meet), known by a
token this server signs. A guest may talk to the site's support operators and read
public rooms (write there too if the owner allows it); nothing else: no dialogs,
no searching for people, no other rooms. Guests are limited per client address
and per minute; an owner may turn them off. When a guest logs in on the site, their
conversations move to their account.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass

import orjson

from imbachat.auth.tokens import issue_guest_token, renewable_guest
from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.domain import User, Widget
from imbachat.errors import Forbidden, Invalid, RateLimited, Unauthorized
from imbachat.events import GuestConverted, GuestCreated, MemberRemoved, MembersAdded
from imbachat.states import MemberRole, RoomType, UserStatus
from imbachat.store import guests as guest_store
from imbachat.store import rooms as room_store
from imbachat.store import users as user_store
from imbachat.store.db import Database
from imbachat.unit_of_work import Changes
from imbachat.urls import MAX_URL_LENGTH

MAX_NAME = 100
MAX_EMAIL = 254
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
_GUEST_IDS = 2**52  # negative remote ids below this stay exact in JavaScript numbers


@dataclass(frozen=True, slots=True)
class GuestDetails:
    """What a guest may tell about themselves; all optional."""

    name: str | None = None
    email: str | None = None
    page: str | None = None  # the page of the site they came from

    def checked(self) -> GuestDetails:
        name = (self.name or "").strip() or None
        email = (self.email or "").strip() or None
        page = (self.page or "").strip() or None
        if name is not None and (len(name) > MAX_NAME or "\x00" in name):
            raise Invalid(f"name is at most {MAX_NAME} characters.", field="name")
        if email is not None and (len(email) > MAX_EMAIL or not _EMAIL.fullmatch(email)):
            raise Invalid("email must be an e-mail address.", field="email")
        if page is not None and (len(page) > MAX_URL_LENGTH or not page.startswith("http")):
            raise Invalid("page must be the http(s) address of a page.", field="page")
        return GuestDetails(name, email, page)


def details_of(user: User) -> dict[str, str]:
    """What a guest told about themselves (``email``, ``page``), for operators."""
    if not user.user_data:
        return {}
    stored = orjson.loads(user.user_data)
    return {k: v for k, v in stored.items() if k in ("email", "page") and isinstance(v, str)}


class GuestService:
    def __init__(
        self,
        db: Database,
        changes: Changes,
        clock: Clock = SYSTEM_CLOCK,
        *,
        per_address_per_minute: int = 10,
    ) -> None:
        self._db = db
        self._changes = changes
        self._clock = clock
        self._per_address = per_address_per_minute
        self._made: dict[tuple[int, str], list[float]] = {}

    async def start(self, widget: Widget, details: GuestDetails, address: str) -> tuple[User, str]:
        """A new guest and their token."""
        if not widget.guests_enabled:
            raise Forbidden("This site does not take guests: log in to chat.", field="imba_id")
        details = details.checked()
        self._count_creation(widget.imba_id, address)
        now = self._clock.now()
        async with self._changes.begin() as uow:
            user = None
            while user is None:  # a drawn id already taken: draw again
                remote_id = -(secrets.randbelow(_GUEST_IDS - 1) + 1)
                name = details.name or f"Guest {-remote_id % 10_000:04d}"
                user = await user_store.insert_guest(
                    uow.conn, widget.imba_id, remote_id, name, _stored(details), now
                )
            uow.emit(GuestCreated(user))
        return user, issue_guest_token(widget.secret_key, user.id)

    async def renew(self, widget: Widget, token: str) -> tuple[User, str]:
        """A fresh token for the guest an old one names (expired less than a year)."""
        guest_id = renewable_guest(widget.secret_key, token, time.time())
        guest = await self.get(widget, guest_id)
        return guest, issue_guest_token(widget.secret_key, guest.id)

    async def get(self, widget: Widget, guest_id: int) -> User:
        guest = await self._db.run_read(
            lambda conn: user_store.guest(conn, widget.imba_id, guest_id)
        )
        if guest is None:
            raise Unauthorized("This guest session is over: log in, or start a new one.")
        return guest

    async def describe(self, widget: Widget, guest: User, details: GuestDetails) -> User:
        """The guest's name and e-mail address, as they give them (kept when absent)."""
        details = details.checked()
        known = details_of(guest)
        merged = GuestDetails(
            details.name or guest.name,
            details.email or known.get("email"),
            details.page or known.get("page"),
        )
        now = self._clock.now()
        async with self._db.write() as conn:
            await user_store.set_guest_profile(conn, guest.id, merged.name, _stored(merged), now)
        return await self.get(widget, guest.id)

    async def convert(self, widget: Widget, guest: User, member: User) -> None:
        """The guest logged in as ``member``: every room of the guest is the member's
        now, with the guest's messages, and the guest is gone."""
        if guest.status != UserStatus.GUEST or member.status == UserStatus.GUEST:
            raise Invalid("Only a guest becomes a member.", field="guest")
        now = self._clock.now()
        async with self._changes.begin() as uow:
            conn = uow.conn
            rooms = await guest_store.rooms_of(conn, guest.id)
            for room in rooms:
                roles = {member.id: MemberRole.MEMBER}
                added = await room_store.add_members(conn, room.id, roles, now)
                await room_store.remove_member(conn, room.id, guest.id, now)
                if room.type == RoomType.SUPPORT:
                    await guest_store.claim_support_pipe(conn, room, member, now)
                updated = await room_store.get(conn, widget.imba_id, room.id)
                assert updated is not None
                if added:
                    uow.emit(MembersAdded(updated, (member,)))
                uow.emit(MemberRemoved(widget.imba_id, room.id, guest.id, guest.remote_user_id))
            await guest_store.move_messages(conn, guest.id, member.id)
            await guest_store.move_files(conn, guest.id, member.id)
            data = {**details_of(guest), "converted_to": member.remote_user_id}
            await user_store.retire_guest(conn, guest.id, orjson.dumps(data).decode(), now)
            uow.emit(GuestConverted(guest, member))

    def _count_creation(self, imba_id: int, address: str) -> None:
        now = self._clock.monotonic()
        key = (imba_id, address)
        recent = [t for t in self._made.get(key, []) if t > now - 60]
        if len(recent) >= self._per_address:
            wait = max(1, int(recent[0] + 60 - now + 0.999))
            raise RateLimited(
                f"Too many new guests from this address: try again in {wait} s.", retry_after=wait
            )
        recent.append(now)
        self._made[key] = recent
        if len(self._made) > 100_000:
            self._made = {k: v for k, v in self._made.items() if v and v[-1] > now - 60}


def _stored(details: GuestDetails) -> str | None:
    data = {k: v for k, v in (("email", details.email), ("page", details.page)) if v}
    return orjson.dumps(data).decode() if data else None
