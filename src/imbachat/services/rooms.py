"""Rooms: creating them, adding members, listing what a caller may see."""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy.engine import Connection

from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.domain import (
    Member,
    Message,
    Page,
    Room,
    RoomMember,
    RoomQuery,
    Slice,
    User,
    Widget,
)
from imbachat.errors import Forbidden, Invalid, NotFound
from imbachat.events import MembersAdded, RoomCreated
from imbachat.services.files import FileService
from imbachat.services.profiles import ProfileRefresher
from imbachat.states import MemberRole, MemberState, RoomStatus, RoomType, UserStatus
from imbachat.store import mentions as mention_store
from imbachat.store import messages as message_store
from imbachat.store import rooms as room_store
from imbachat.store import users as user_store
from imbachat.store.db import Database
from imbachat.unit_of_work import Changes

DEFAULT_TITLE = "New room"


def new_pipe() -> str:
    """A unique room pipe shaped like the original's (``5fde659f0ba18_1608410527``)."""
    return f"{secrets.token_hex(7)[:13]}_{int(time.time())}"


@dataclass(frozen=True, slots=True)
class RoomSpec:
    """What the v1 imba_rooms call asks for: join ``room_id``/``pipe`` or create."""

    title: str = DEFAULT_TITLE
    pipe: str | None = None
    room_id: int | None = None
    is_public: int = 0
    type: RoomType = RoomType.DIALOG
    remote_user_ids: list[int] = field(default_factory=list)
    # Host ids who become admins of a new room; default: the first listed user.
    admin_remote_ids: list[int] | None = None


@dataclass(frozen=True, slots=True)
class RoomChange:
    room: Room
    created: bool
    added_user_ids: list[int]


@dataclass(frozen=True, slots=True)
class RoomView:
    """A room as one member sees it: their read mark, the last message, who is in it."""

    room: Room
    member: Member
    last_message: Message | None
    members: list[RoomMember] | None  # None for rooms too big to list
    mentions: int = 0  # of the member, not read yet
    pinned: Message | None = None

    def member_ids(self) -> list[int]:
        return [member.user_id for member in self.members or []]

    @property
    def unread(self) -> int:
        return max(0, self.room.last_seq - self.member.last_read_seq)


RESERVED_PIPES = ("dialog-", "support-")


def _first_admin(people: list[User], spec: RoomSpec) -> int | None:
    if spec.admin_remote_ids is not None:
        return next((u.id for u in people if u.remote_user_id in spec.admin_remote_ids), None)
    return people[0].id if people else None


def refuse_guest(user: User, why: str) -> None:
    """What only members of the host site may do."""
    if user.status == UserStatus.GUEST:
        raise Forbidden(why, field="user_id")


def dialog_pipe(first: int, second: int) -> str:
    """The one pipe of the dialog between two host users, whoever opens it."""
    low, high = sorted((first, second))
    return f"dialog-{low}-{high}"


class RoomService:
    def __init__(
        self,
        db: Database,
        changes: Changes,
        profiles: ProfileRefresher,
        files: FileService,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._db = db
        self._files = files
        self._changes = changes
        self._profiles = profiles
        self._clock = clock

    async def create_or_join(self, widget: Widget, spec: RoomSpec) -> RoomChange:
        """Add the users to the room named by ``room_id`` (which must exist) or by
        ``pipe`` (created when new); with neither, create a room with a random pipe.
        The first listed user of a new room is its admin."""
        now = self._clock.now()
        async with self._changes.begin() as uow:
            conn = uow.conn
            people, new_users = await user_store.ensure(
                conn, widget.imba_id, spec.remote_user_ids, now
            )
            if spec.room_id is not None:
                room = await room_store.get(conn, widget.imba_id, spec.room_id)
                if room is None:
                    raise NotFound(f"No room with room_id {spec.room_id}.", field="room_id")
                created = False
            else:
                room, created = await room_store.insert_unless_pipe_taken(
                    conn,
                    imba_id=widget.imba_id,
                    pipe=spec.pipe or new_pipe(),
                    now=now,
                    name=spec.title,
                    admin_id=_first_admin(people, spec),
                    type=spec.type,
                    tab=0,
                    is_public=spec.is_public,
                    status=RoomStatus.OPEN,
                    member_count=0,
                    last_seq=0,
                )
            roles = {user.id: MemberRole.MEMBER for user in people}
            if created and people:
                admins = (
                    spec.admin_remote_ids
                    if spec.admin_remote_ids is not None
                    else [spec.remote_user_ids[0]]
                )
                for user in people:
                    if user.remote_user_id in admins:
                        roles[user.id] = MemberRole.ADMIN
            added = await room_store.add_members(conn, room.id, roles, now)
            room = await room_store.get(conn, widget.imba_id, room.id)
            assert room is not None
            if created:
                uow.emit(RoomCreated(room, tuple(added)))
            elif added:
                newcomers = set(added)
                uow.emit(MembersAdded(room, tuple(u for u in people if u.id in newcomers)))
        self._profiles.schedule(widget, [user.remote_user_id for user in new_users])
        return RoomChange(room, created, added)

    async def open_dialog(self, widget: Widget, user: User, other_remote_id: int) -> RoomChange:
        """The 1-to-1 room of the user and another host user, created on first use."""
        if other_remote_id == user.remote_user_id:
            raise Invalid("A dialog needs another user.", field="user_id")
        refuse_guest(user, "Guests write to the site's support, not to people: log in first.")
        if other_remote_id < 1:
            raise Invalid("user_id must be a host site user id.", field="user_id")
        await self.refuse_banned(user)
        spec = RoomSpec(
            title="Dialog",
            pipe=dialog_pipe(user.remote_user_id, other_remote_id),
            type=RoomType.DIALOG,
            remote_user_ids=[user.remote_user_id, other_remote_id],
        )
        return await self.create_or_join(widget, spec)

    async def join_by_pipe(self, widget: Widget, user: User, spec: RoomSpec) -> RoomChange:
        """What the widget's ``addToRoom`` asks: join the room with this pipe, or
        create it with the user and the listed users. A closed room that exists is
        only for its members (its admins add people)."""
        if not spec.pipe:
            raise Invalid("pipe is required.", field="pipe")
        await self.refuse_banned(user)
        async with self._db.read() as conn:
            existing = await room_store.by_pipe(conn, widget.imba_id, spec.pipe)
            member = await room_store.membership(conn, existing.id, user.id) if existing else None
        if existing is None and spec.pipe.startswith(RESERVED_PIPES):
            raise Forbidden("Pipes starting with dialog- or support- are reserved.", field="pipe")
        if user.status == UserStatus.GUEST and not (
            existing is not None and existing.is_public and existing.type == RoomType.CONFERENCE
        ):
            raise Forbidden("Guests may join public rooms only: log in for more.", field="pipe")
        active = member is not None and member.status == MemberState.ACTIVE
        if existing is not None and not active and not existing.is_public:
            raise Forbidden("This room is closed: ask one of its admins to add you.", field="pipe")
        if existing is not None:
            spec = RoomSpec(pipe=spec.pipe, remote_user_ids=[user.remote_user_id])
        else:
            spec = replace(spec, remote_user_ids=[user.remote_user_id, *spec.remote_user_ids])
        return await self.create_or_join(widget, spec)

    async def create_for(self, widget: Widget, user: User, spec: RoomSpec) -> RoomChange:
        """A room a user starts from the widget (e.g. a conference with chosen users);
        the user is its admin."""
        refuse_guest(user, "Guests cannot start rooms: log in first.")
        await self.refuse_banned(user)
        people = [
            user.remote_user_id,
            *(i for i in spec.remote_user_ids if i != user.remote_user_id),
        ]
        return await self.create_or_join(widget, replace(spec, pipe=None, remote_user_ids=people))

    async def refuse_banned(self, user: User) -> None:
        """Banned users cannot join or start rooms (checked against the database)."""
        async with self._db.read() as conn:
            if await user_store.is_banned(conn, user.id):
                raise Forbidden("You are banned from this chat.", field="user_id")

    async def public(self, widget: Widget, limit: int = 100) -> list[Room]:
        """Public conferences anyone in the widget may join."""
        async with self._db.read() as conn:
            return await room_store.public(conn, widget.imba_id, limit)

    async def room_ids(self, user: User) -> list[int]:
        return await self._db.run_read(lambda conn: room_store.ids_of_user(conn, user.id))

    async def room_ids_of_users(self, user_ids: Sequence[int]) -> dict[int, list[int]]:
        return await self._db.run_read(lambda conn: room_store.ids_of_users(conn, user_ids))

    async def views(
        self, user: User, only: set[int] | None = None, list_members_up_to: int = 100
    ) -> list[RoomView]:
        """The user's rooms (or those of ``only``) with what a room list shows, read
        in one go (see :meth:`Database.run_read`)."""

        def read(conn: Connection) -> list[RoomView]:
            mine = room_store.of_user(conn, user.id, only)
            last = message_store.last_of_rooms(conn, [r.id for r, _ in mine if r.last_seq > 0])
            small = [room.id for room, _ in mine if room.member_count <= list_members_up_to]
            people = room_store.members_of(conn, small)
            mentioned = mention_store.unread_counts(conn, user.id, [r.id for r, _ in mine])
            pins = [room.pinned_message_id for room, _ in mine if room.pinned_message_id]
            pinned = {message.id: message for message in message_store.by_ids(conn, pins)}
            return [
                RoomView(
                    room,
                    member,
                    last.get(room.id),
                    people.get(room.id),
                    mentioned.get(room.id, 0),
                    pinned.get(room.pinned_message_id or 0),
                )
                for room, member in mine
            ]

        views = await self._db.run_read(read)
        shown = [m for view in views for m in (view.last_message, view.pinned) if m is not None]
        if not any(message.attachments for message in shown):
            return views
        signed = {message.id: message for message in await self._files.signed(shown)}
        return [
            replace(
                view,
                last_message=signed[view.last_message.id] if view.last_message else None,
                pinned=signed[view.pinned.id] if view.pinned else None,
            )
            for view in views
        ]

    async def find(
        self, widget: Widget, query: RoomQuery, page: Page, viewer: User | None = None
    ) -> Slice[Room]:
        async with self._db.read() as conn:
            return await room_store.find(
                conn, widget.imba_id, query, page, viewer.id if viewer else None
            )
