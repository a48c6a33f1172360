"""Moderation: bans, mutes, removals, deleting others' messages, the word blocklist,
and who may do what.

Room roles, as enforced here (the widget owner, through the REST API, may do all):

| action                              | member | moderator | admin |
|-------------------------------------|--------|-----------|-------|
| send, edit and delete own messages  | yes    | yes       | yes   |
| delete anyone's message             | -      | yes       | yes   |
| mute, unmute, ban, unban, remove    | -      | yes       | yes   |
| ... a moderator                     | -      | -         | yes   |
| ... an admin                        | -      | -         | -     |
| set roles (not of another admin)    | -      | -         | yes   |
| close the room                      | -      | -         | yes   |

Operators (users with status admin) are the admins of support rooms and may close
any support room they are in.

Widget-wide bans are for the owner only. A banned user cannot send or join; a
muted member cannot send until the mute ends.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.domain import Member, Room, User, Widget
from imbachat.errors import Forbidden, Invalid, NotFound
from imbachat.events import (
    MemberMuted,
    MemberRemoved,
    MemberRoleChanged,
    RoomClosed,
    RoomReopened,
    UserBanned,
    UserUnbanned,
)
from imbachat.services.members import require_member
from imbachat.services.widgets import WidgetService
from imbachat.states import MemberRole, MemberState, RoomStatus, RoomType, UserStatus
from imbachat.store import rooms as room_store
from imbachat.store import users as user_store
from imbachat.store import widgets as widget_store
from imbachat.store.db import Database
from imbachat.unit_of_work import Changes

STAFF_ACTIONS = ("ban", "unban", "mute", "unmute", "remove")
MAX_MUTE_SECONDS = 366 * 86_400
MAX_BLOCKED_WORDS = 1_000
ROLE_REFUSED = "Your role in this room does not allow that on this member."


def may_act_on(actor_role: MemberRole | None, target_role: MemberRole) -> bool:
    """Room staff act on members of a lower rank; None is the widget owner."""
    if actor_role is None:
        return True
    return actor_role.rank >= MemberRole.MODERATOR.rank and actor_role.rank > target_role.rank


def blocked_pattern(words: str | None) -> re.Pattern[str] | None:
    entries = [w.strip() for w in (words or "").splitlines() if w.strip()]
    if not entries:
        return None
    alternatives = "|".join(re.escape(w) for w in sorted(entries, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


class ModerationService:
    def __init__(
        self,
        db: Database,
        changes: Changes,
        widgets: WidgetService,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._db = db
        self._changes = changes
        self._widgets = widgets
        self._clock = clock
        self._patterns: dict[int, tuple[str | None, re.Pattern[str] | None]] = {}

    # ---- the send path's checks ------------------------------------------------

    def check_words(self, widget: Widget, text: str) -> None:
        cached = self._patterns.get(widget.imba_id)
        if cached is None or cached[0] != widget.blocked_words:
            cached = (widget.blocked_words, blocked_pattern(widget.blocked_words))
            self._patterns[widget.imba_id] = cached
        pattern = cached[1]
        if pattern is not None and pattern.search(text):
            raise Invalid("The message contains a word this chat does not allow.", field="message")

    def check_may_send(self, author: User, member: Member) -> None:
        if author.is_banned:
            raise Forbidden("You are banned from this chat.", field="user_id")
        if member.is_banned:
            raise Forbidden("You are banned from this room.", field="room_id")
        if member.muted_until is not None and member.muted_until > self._clock.now():
            until = member.muted_until.strftime("%Y-%m-%d %H:%M:%S")
            raise Forbidden(f"You are muted in this room until {until} UTC.", field="room_id")

    # ---- actions -----------------------------------------------------------------

    async def act(
        self,
        widget: Widget,
        action: str,
        target_remote_id: int,
        *,
        room_id: int | None = None,
        actor: User | None = None,
        seconds: int | None = None,
    ) -> None:
        """Ban, unban, mute, unmute or remove ``target`` (a host user id), in a room or, for
        bans by the owner (``actor`` None), in the whole widget."""
        if action not in STAFF_ACTIONS:
            raise Invalid(f"action is one of {', '.join(STAFF_ACTIONS)}.", field="action")
        if room_id is None and (actor is not None or action in ("mute", "remove")):
            raise Invalid("room_id is required for this action.", field="room_id")
        now = self._clock.now()
        async with self._changes.begin() as uow:
            conn = uow.conn
            if room_id is None:
                target = await self._user(conn, widget, target_remote_id)
                await user_store.set_banned(conn, target.id, action == "ban", now)
                kind = UserBanned if action == "ban" else UserUnbanned
                uow.emit(kind(widget.imba_id, None, target.id, target.remote_user_id))
                return
            if actor is None:
                target = await self._user(conn, widget, target_remote_id)
                room, _ = await conn.run_sync(require_member, widget, room_id, target)
            else:
                room, target = await self._staff_target(
                    conn, widget, room_id, actor, target_remote_id
                )
            who = (widget.imba_id, room.id, target.id, target.remote_user_id)
            banned = UserBanned(*who) if action == "ban" else UserUnbanned(*who)
            if action in ("ban", "unban"):
                await room_store.set_member(conn, room.id, target.id, is_banned=action == "ban")
                uow.emit(banned)
            elif action == "unmute":
                await room_store.set_member(conn, room.id, target.id, muted_until=None)
            elif action == "mute":
                if seconds is None or not 1 <= seconds <= MAX_MUTE_SECONDS:
                    raise Invalid(f"seconds must be 1 to {MAX_MUTE_SECONDS}.", field="seconds")
                until = now + timedelta(seconds=seconds)
                await room_store.set_member(conn, room.id, target.id, muted_until=until)
                uow.emit(MemberMuted(*who, until=until))
            else:
                await room_store.remove_member(conn, room.id, target.id, now)
                uow.emit(MemberRemoved(widget.imba_id, room.id, target.id, target.remote_user_id))

    async def set_role(
        self, widget: Widget, room_id: int, target_remote_id: int, role: str, actor: User | None
    ) -> None:
        try:
            new_role = MemberRole(role)
        except ValueError:
            raise Invalid("role is admin, moderator or member.", field="role") from None
        async with self._changes.begin() as uow:
            conn = uow.conn
            if actor is None:
                target = await self._user(conn, widget, target_remote_id)
                room, target_member = await conn.run_sync(require_member, widget, room_id, target)
            else:
                # The actor's rights first: whoever may not set roles learns nothing
                # about the target.
                room, acting = await conn.run_sync(require_member, widget, room_id, actor)
                if acting.role != MemberRole.ADMIN:
                    raise Forbidden("Only room admins set roles.", field="role")
                target, target_member = await self._member(conn, widget, room, target_remote_id)
                if target_member.role == MemberRole.ADMIN and target.id != actor.id:
                    raise Forbidden(
                        "Only the widget owner changes another admin's role.", field="role"
                    )
            await room_store.set_member(conn, room.id, target.id, role=new_role)
            uow.emit(
                MemberRoleChanged(
                    widget.imba_id, room.id, target.id, target.remote_user_id, new_role
                )
            )

    async def close_room(self, widget: Widget, room_id: int, actor: User | None) -> Room:
        """Close a room (e.g. a solved support request): nobody can send any more.
        Room admins and operators (users with status admin) may close."""
        async with self._changes.begin() as uow:
            conn = uow.conn
            room = await room_store.get(conn, widget.imba_id, room_id)
            if room is None:
                raise NotFound(f"No room with room_id {room_id}.", field="room_id")
            if actor is not None:
                _, acting = await conn.run_sync(require_member, widget, room_id, actor)
                now_actor = await self._user(conn, widget, actor.remote_user_id)  # status now
                operator_of_support = (
                    now_actor.status == UserStatus.ADMIN and room.type == RoomType.SUPPORT
                )
                if acting.role != MemberRole.ADMIN and not operator_of_support:
                    raise Forbidden(
                        "Only room admins, and operators in support rooms, close rooms.",
                        field="room_id",
                    )
            await room_store.set_status(conn, room.id, RoomStatus.CLOSED, self._clock.now())
            closed = await room_store.get(conn, widget.imba_id, room.id)
            assert closed is not None
            uow.emit(RoomClosed(closed))
        return closed

    async def reopen_room(self, widget: Widget, room_id: int) -> Room:
        """Open a closed room again (the widget owner's call): members may send again."""
        async with self._changes.begin() as uow:
            conn = uow.conn
            room = await room_store.get(conn, widget.imba_id, room_id)
            if room is None or room.deleted_at is not None:
                raise NotFound(f"No room with room_id {room_id}.", field="room_id")
            if room.status != RoomStatus.OPEN:
                await room_store.set_status(conn, room.id, RoomStatus.OPEN, self._clock.now())
                opened = await room_store.get(conn, widget.imba_id, room.id)
                assert opened is not None
                uow.emit(RoomReopened(opened))
                room = opened
        return room

    async def set_blocked_words(self, widget: Widget, words: list[str]) -> list[str]:
        clean = sorted({w.strip() for w in words if w.strip()})
        if len(clean) > MAX_BLOCKED_WORDS or any(len(w) > 100 for w in clean):
            raise Invalid(
                f"At most {MAX_BLOCKED_WORDS} words of at most 100 characters.", field="words"
            )
        async with self._db.write() as conn:
            await widget_store.set_blocked_words(
                conn, widget.imba_id, "\n".join(clean), self._clock.now()
            )
        self._widgets.forget(widget.imba_id)  # this node's next send sees the new list
        return clean

    async def set_bot(self, widget: Widget, remote_id: int, is_bot: bool) -> None:
        async with self._db.write() as conn:
            target = await self._user(conn, widget, remote_id)
            await user_store.set_bot(conn, target.id, is_bot, self._clock.now())

    # ---- helpers -------------------------------------------------------------------

    @staticmethod
    async def _user(conn: AsyncConnection, widget: Widget, remote_id: int) -> User:
        found = await conn.run_sync(user_store.by_remote_ids, widget.imba_id, [remote_id])
        if remote_id not in found:
            raise NotFound(f"No user with user_id {remote_id} in this widget.", field="user_id")
        return found[remote_id]

    async def _staff_target(
        self, conn: AsyncConnection, widget: Widget, room_id: int, actor: User, remote_id: int
    ) -> tuple[Room, User]:
        """The room and the target of a staff action by a member: the actor's rights
        are checked first, so a member who is not staff learns nothing about the
        target; staff learn only whether the target is a member they outrank."""
        room, acting = await conn.run_sync(require_member, widget, room_id, actor)
        if acting.role.rank < MemberRole.MODERATOR.rank:
            raise Forbidden(ROLE_REFUSED, field="user_id")
        target, target_member = await self._member(conn, widget, room, remote_id)
        if not may_act_on(acting.role, target_member.role):
            raise Forbidden(ROLE_REFUSED, field="user_id")
        return room, target

    @staticmethod
    async def _member(
        conn: AsyncConnection, widget: Widget, room: Room, remote_id: int
    ) -> tuple[User, Member]:
        """A member of the room, by host id; an unknown user is refused exactly like
        someone who is not in the room, so host ids cannot be probed."""
        found = await conn.run_sync(user_store.by_remote_ids, widget.imba_id, [remote_id])
        user = found.get(remote_id)
        member = await room_store.membership(conn, room.id, user.id) if user else None
        if user is None or member is None or member.status != MemberState.ACTIVE:
            raise Forbidden(f"User {remote_id} is not a member of room {room.id}.", field="user_id")
        return user, member
