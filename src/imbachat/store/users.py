"""SQL for the host site's users, as known to one widget."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, bindparam, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat.domain import Page, Slice, User, UserQuery
from imbachat.numbers import parse_int
from imbachat.states import EmailChoice, MemberState, UserStatus
from imbachat.store.common import cut_page, insert_ignoring_duplicates, paginate, within
from imbachat.store.schema import members, users

_BY_REMOTE_IDS = select(users).where(
    users.c.imba_id == bindparam("imba_id"),
    users.c.remote_user_id.in_(bindparam("remote_ids", expanding=True)),
)  # built once: every connect reads it


def by_remote_ids(conn: Connection, imba_id: int, remote_ids: Sequence[int]) -> dict[int, User]:
    """Synchronous: on the event loop, call it through ``conn.run_sync``."""
    if not remote_ids:
        return {}
    result = conn.execute(_BY_REMOTE_IDS, {"imba_id": imba_id, "remote_ids": list(remote_ids)})
    return {user.remote_user_id: user for user in User.all_of(result)}


async def ensure(
    conn: AsyncConnection, imba_id: int, remote_ids: Sequence[int], now: datetime
) -> tuple[list[User], list[User]]:
    """The users with these host ids, created when unknown.

    Returns ``(users in the order asked, users that were unknown)``; safe against
    a concurrent writer creating the same user.
    """
    known = await conn.run_sync(by_remote_ids, imba_id, remote_ids)
    missing = [rid for rid in dict.fromkeys(remote_ids) if rid not in known]
    created: list[User] = []
    if missing:
        rows = [
            {
                "imba_id": imba_id,
                "remote_user_id": rid,
                "status": UserStatus.USER,
                "is_banned": False,
                "created_at": now,
                "updated_at": now,
            }
            for rid in missing
        ]
        await conn.execute(insert_ignoring_duplicates(conn, users), rows)
        fresh = await conn.run_sync(by_remote_ids, imba_id, missing)
        created = [fresh[rid] for rid in missing]
        known.update(fresh)
    return [known[rid] for rid in dict.fromkeys(remote_ids)], created


async def find(conn: AsyncConnection, imba_id: int, query: UserQuery, page: Page) -> Slice[User]:
    conditions: list[ColumnElement[bool]] = [users.c.imba_id == imba_id]
    if query.id is not None:
        conditions.append(users.c.id == query.id)
    if query.remote_user_id is not None:
        conditions.append(users.c.remote_user_id == query.remote_user_id)
    if query.login is not None:
        conditions.append(users.c.name == query.login)
    if query.status is not None:
        conditions.append(users.c.status == query.status)
    if query.banned is not None:
        conditions.append(users.c.is_banned == query.banned)
    if query.last_message is not None:
        conditions.extend(within(users.c.last_message_at, query.last_message))
    statement = paginate(select(users).where(*conditions), users.c.id, page)
    rows = [User.from_row(row) for row in await conn.execute(statement)]
    return cut_page(rows, page, lambda user: user.id)


async def set_profile(
    conn: AsyncConnection,
    user_id: int,
    *,
    name: str | None,
    avatar_url: str | None = None,
    status: UserStatus | None = None,
    profile_url: str | None = None,
    user_data: str | None = None,
    now: datetime,
) -> None:
    """Name, avatar, status, profile page and other data as the host site tells them."""
    values: dict[str, object] = {
        "name": name,
        "avatar_url": avatar_url,
        "profile_url": profile_url,
        "user_data": user_data,
        "info_fetched_at": now,
    }
    if status is not None:
        values["status"] = status
    await conn.execute(update(users).where(users.c.id == user_id).values(updated_at=now, **values))


async def set_bot(conn: AsyncConnection, user_id: int, is_bot: bool, now: datetime) -> None:
    await conn.execute(
        update(users).where(users.c.id == user_id).values(is_bot=is_bot, updated_at=now)
    )


async def remote_ids_of(conn: AsyncConnection, user_ids: Iterable[int]) -> dict[int, int]:
    ids = list(user_ids)
    if not ids:
        return {}
    query = select(users.c.id, users.c.remote_user_id).where(users.c.id.in_(ids))
    return {row.id: row.remote_user_id for row in await conn.execute(query)}


async def set_email_notify(
    conn: AsyncConnection, user_id: int, choice: EmailChoice, now: datetime
) -> None:
    await conn.execute(
        update(users).where(users.c.id == user_id).values(email_notify=choice, updated_at=now)
    )


async def email_notify_of(conn: AsyncConnection, user_id: int) -> EmailChoice:
    choice = await conn.scalar(select(users.c.email_notify).where(users.c.id == user_id))
    return EmailChoice(choice or EmailChoice.ALL)


async def set_banned(conn: AsyncConnection, user_id: int, banned: bool, now: datetime) -> None:
    await conn.execute(
        update(users).where(users.c.id == user_id).values(is_banned=banned, updated_at=now)
    )


async def operators(conn: AsyncConnection, imba_id: int) -> list[User]:
    """Users with status admin: the widget's support operators."""
    query = (
        select(users)
        .where(users.c.imba_id == imba_id, users.c.status == UserStatus.ADMIN, ~users.c.is_banned)
        .order_by(users.c.id)
    )
    return [User.from_row(row) for row in await conn.execute(query)]


async def is_banned(conn: AsyncConnection, user_id: int) -> bool:
    """The widget-wide ban as stored now (a socket's copy of the user may be older)."""
    banned = await conn.scalar(select(users.c.is_banned).where(users.c.id == user_id))
    return bool(banned)


_MINE = members.alias("mine")
_THEIRS = members.alias("theirs")
_CONTACTS = (
    select(_THEIRS.c.user_id)
    .join(_MINE, _MINE.c.room_id == _THEIRS.c.room_id)
    .where(
        _MINE.c.user_id == bindparam("viewer_id"),
        _MINE.c.status == MemberState.ACTIVE,
        _THEIRS.c.status == MemberState.ACTIVE,
    )
)


def search_contacts(
    conn: Connection, imba_id: int, viewer_id: int, text: str, limit: int
) -> list[User]:
    """Users who share a room with the viewer and whose name contains ``text``
    (case-insensitive) or whose host id is ``text``; by name."""
    matches: ColumnElement[bool] = users.c.name.icontains(text, autoescape=True)
    remote_id = parse_int(text, minimum=1)
    if remote_id is not None:
        matches = matches | (users.c.remote_user_id == remote_id)
    query = (
        select(users)
        .where(
            users.c.imba_id == imba_id,
            users.c.id != viewer_id,
            users.c.id.in_(_CONTACTS),
            matches,
        )
        .order_by(users.c.name, users.c.remote_user_id)
        .limit(limit)
    )
    return User.all_of(conn.execute(query, {"viewer_id": viewer_id}))


_GUEST = select(users).where(
    users.c.imba_id == bindparam("imba_id"),
    users.c.id == bindparam("user_id"),
    users.c.status == UserStatus.GUEST,
    users.c.deleted_at.is_(None),
)


def guest(conn: Connection, imba_id: int, user_id: int) -> User | None:
    """The widget's guest with this imbachat id, unless gone (converted)."""
    found = User.all_of(conn.execute(_GUEST, {"imba_id": imba_id, "user_id": user_id}))
    return found[0] if found else None


async def insert_guest(
    conn: AsyncConnection,
    imba_id: int,
    remote_user_id: int,
    name: str | None,
    user_data: str | None,
    now: datetime,
) -> User | None:
    """A new guest row; None when the remote id is taken (the caller draws again)."""
    statement = (
        insert_ignoring_duplicates(conn, users)
        .values(
            imba_id=imba_id,
            remote_user_id=remote_user_id,
            name=name,
            status=UserStatus.GUEST,
            user_data=user_data,
            is_banned=False,
            is_bot=False,
            info_fetched_at=now,  # nothing to ask the host site about a guest
            created_at=now,
            updated_at=now,
        )
        .returning(*users.c)
    )
    row = (await conn.execute(statement)).first()
    return User.from_row(row) if row else None


async def set_guest_profile(
    conn: AsyncConnection, user_id: int, name: str | None, user_data: str | None, now: datetime
) -> None:
    await conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(name=name, user_data=user_data, updated_at=now)
    )


async def retire_guest(
    conn: AsyncConnection, user_id: int, user_data: str | None, now: datetime
) -> None:
    """The guest became a member: their row stays (messages and history point at
    it), gone from every list."""
    await conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(deleted_at=now, user_data=user_data, updated_at=now)
    )
