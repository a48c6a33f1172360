"""SQL helpers shared by the stores."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat.domain import Page, Slice, TimeRange

T = TypeVar("T")


def insert_ignoring_duplicates(conn: AsyncConnection, table: Table) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` in the dialect of ``conn``."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


def within(column: ColumnElement[Any], span: TimeRange) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if span.start is not None:
        conditions.append(column >= span.start)
    if span.end is not None:
        conditions.append(column < span.end)
    return conditions


def paginate(query: Select[Any], id_column: ColumnElement[int], page: Page) -> Select[Any]:
    """Order by id and cut one page; one extra row is fetched to tell if more follow."""
    if page.after_id is not None:
        query = query.where(
            id_column < page.after_id if page.descending else id_column > page.after_id
        )
    order = id_column.desc() if page.descending else id_column.asc()
    return query.order_by(order).offset(page.offset).limit(page.limit + 1)


def cut_page(rows: list[T], page: Page, id_of: Callable[[T], int]) -> Slice[T]:
    """Turn the ``limit + 1`` rows of :func:`paginate` into a page and its next cursor."""
    if len(rows) > page.limit:
        items = rows[: page.limit]
        return Slice(items, id_of(items[-1]))
    return Slice(rows, None)
