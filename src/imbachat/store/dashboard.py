"""SQL for the owner's dashboard: sign-in sessions, one-time links, server keys,
and the widgets of an owner."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat.domain import Widget
from imbachat.store.common import insert_ignoring_duplicates
from imbachat.store.schema import dashboard_links, dashboard_sessions, server_keys, widgets


async def server_key(conn: AsyncConnection, name: str, candidate: str, now: datetime) -> str:
    """The key stored under ``name``; ``candidate`` is stored when there is none yet.
    Two nodes starting at once both end up with the one that landed first."""
    await conn.execute(
        insert_ignoring_duplicates(conn, server_keys).values(
            name=name, value=candidate, created_at=now
        )
    )
    stored = await conn.scalar(select(server_keys.c.value).where(server_keys.c.name == name))
    assert stored is not None
    return str(stored)


async def add_session(
    conn: AsyncConnection,
    session_id: str,
    owner_id: int,
    login: str,
    via_link: bool,
    now: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        dashboard_sessions.insert().values(
            id=session_id,
            owner_id=owner_id,
            login=login,
            via_link=via_link,
            created_at=now,
            expires_at=expires_at,
        )
    )
    # Expired sessions go as new ones come: the table never grows past the live ones.
    await conn.execute(delete(dashboard_sessions).where(dashboard_sessions.c.expires_at <= now))


async def session(
    conn: AsyncConnection, session_id: str, now: datetime
) -> tuple[int, str, bool] | None:
    """(owner id, login, signed in by link) of a live session."""
    row = (
        await conn.execute(
            select(
                dashboard_sessions.c.owner_id,
                dashboard_sessions.c.login,
                dashboard_sessions.c.via_link,
            ).where(dashboard_sessions.c.id == session_id, dashboard_sessions.c.expires_at > now)
        )
    ).first()
    return (int(row.owner_id), str(row.login), bool(row.via_link)) if row else None


async def end_session(conn: AsyncConnection, session_id: str) -> None:
    await conn.execute(delete(dashboard_sessions).where(dashboard_sessions.c.id == session_id))


async def add_link(
    conn: AsyncConnection, link_id: str, imba_id: int, now: datetime, expires_at: datetime
) -> None:
    await conn.execute(
        dashboard_links.insert().values(
            id=link_id, imba_id=imba_id, created_at=now, expires_at=expires_at
        )
    )
    await conn.execute(delete(dashboard_links).where(dashboard_links.c.expires_at <= now))


async def use_link(conn: AsyncConnection, link_id: str, now: datetime) -> int | None:
    """The widget of an unused, unexpired link, which is used up by this call: of two
    nodes redeeming it at once, only one update finds it unused."""
    result = await conn.execute(
        update(dashboard_links)
        .where(
            dashboard_links.c.id == link_id,
            dashboard_links.c.used_at.is_(None),
            dashboard_links.c.expires_at > now,
        )
        .values(used_at=now)
    )
    if not result.rowcount:
        return None
    imba_id = await conn.scalar(
        select(dashboard_links.c.imba_id).where(dashboard_links.c.id == link_id)
    )
    return int(imba_id) if imba_id is not None else None


async def widgets_of_owner(conn: AsyncConnection, owner_id: int) -> list[Widget]:
    query = select(widgets).where(widgets.c.owner_id == owner_id).order_by(widgets.c.imba_id)
    return [Widget.from_row(row) for row in await conn.execute(query)]
