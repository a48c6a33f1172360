"""SQL for widgets and their owner accounts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat.domain import Widget
from imbachat.store.schema import owners, widgets


async def owner_count(conn: AsyncConnection) -> int:
    return int(await conn.scalar(select(func.count()).select_from(owners)) or 0)


async def next_imba_id(conn: AsyncConnection) -> int:
    highest = await conn.scalar(select(func.max(widgets.c.imba_id)))
    return int(highest or 0) + 1


async def get(conn: AsyncConnection, imba_id: int) -> Widget | None:
    row = (await conn.execute(select(widgets).where(widgets.c.imba_id == imba_id))).first()
    return Widget.from_row(row) if row else None


async def list_all(conn: AsyncConnection) -> list[tuple[Widget, str]]:
    """Every widget with its owner's login, by imba_id."""
    query = (
        select(widgets, owners.c.login)
        .join(owners, owners.c.id == widgets.c.owner_id)
        .order_by(widgets.c.imba_id)
    )
    return [(Widget.from_row(row), row.login) for row in await conn.execute(query)]


async def owner_by_login(conn: AsyncConnection, login: str) -> tuple[int, str] | None:
    """``(owner_id, password_hash)`` of the account with this login."""
    query = select(owners.c.id, owners.c.password_hash).where(owners.c.login == login)
    row = (await conn.execute(query)).first()
    return (row.id, row.password_hash) if row else None


async def owner_of(conn: AsyncConnection, imba_id: int) -> tuple[str, str] | None:
    """``(login, password_hash)`` of the widget's owner."""
    query = (
        select(owners.c.login, owners.c.password_hash)
        .join(widgets, widgets.c.owner_id == owners.c.id)
        .where(widgets.c.imba_id == imba_id)
    )
    row = (await conn.execute(query)).first()
    return (row.login, row.password_hash) if row else None


async def insert_owner(conn: AsyncConnection, login: str, password_hash: str, now: datetime) -> int:
    query = (
        owners.insert()
        .values(login=login, password_hash=password_hash, created_at=now, updated_at=now)
        .returning(owners.c.id)
    )
    return int((await conn.execute(query)).scalar_one())


async def insert(
    conn: AsyncConnection,
    *,
    imba_id: int,
    owner_id: int,
    secret_key: str,
    users_info_url: str | None,
    users_search_url: str | None,
    api_login: str | None,
    api_password: str | None,
    now: datetime,
    guests_enabled: bool = True,
    guests_write_public: bool = False,
) -> Widget:
    query = (
        widgets.insert()
        .values(
            imba_id=imba_id,
            owner_id=owner_id,
            secret_key=secret_key,
            users_info_url=users_info_url,
            users_search_url=users_search_url,
            api_login=api_login,
            api_password=api_password,
            guests_enabled=guests_enabled,
            guests_write_public=guests_write_public,
            created_at=now,
            updated_at=now,
        )
        .returning(*widgets.c)
    )
    return Widget.from_row((await conn.execute(query)).one())


async def set_settings(
    conn: AsyncConnection, imba_id: int, now: datetime, **values: object
) -> None:
    await conn.execute(
        update(widgets).where(widgets.c.imba_id == imba_id).values(updated_at=now, **values)
    )


async def set_secret(conn: AsyncConnection, imba_id: int, secret_key: str, now: datetime) -> None:
    await conn.execute(
        update(widgets)
        .where(widgets.c.imba_id == imba_id)
        .values(secret_key=secret_key, updated_at=now)
    )


async def set_blocked_words(conn: AsyncConnection, imba_id: int, words: str, now: datetime) -> None:
    await conn.execute(
        update(widgets)
        .where(widgets.c.imba_id == imba_id)
        .values(blocked_words=words or None, updated_at=now)
    )
