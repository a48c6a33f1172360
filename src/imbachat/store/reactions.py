"""SQL for reactions: the rows of who reacted with what, and the summary each
message carries (``messages.reactions``), rebuilt from the rows on every change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat.domain import Reaction
from imbachat.store.common import insert_ignoring_duplicates
from imbachat.store.schema import messages, reactions, users

MAX_REACTORS_SHOWN = 50  # host ids listed per emoji; the count says how many in all


async def add(
    conn: AsyncConnection, message_id: int, user_id: int, emoji: str, now: datetime
) -> bool:
    """Whether the reaction is new (reacting twice with one emoji changes nothing)."""
    statement = insert_ignoring_duplicates(conn, reactions).values(
        message_id=message_id, user_id=user_id, emoji=emoji, created_at=now
    )
    return (await conn.execute(statement)).rowcount > 0


async def remove(conn: AsyncConnection, message_id: int, user_id: int, emoji: str) -> bool:
    statement = delete(reactions).where(
        reactions.c.message_id == message_id,
        reactions.c.user_id == user_id,
        reactions.c.emoji == emoji,
    )
    return (await conn.execute(statement)).rowcount > 0


async def distinct_emoji(conn: AsyncConnection, message_id: int) -> set[str]:
    query = select(reactions.c.emoji).where(reactions.c.message_id == message_id).distinct()
    return set((await conn.scalars(query)).all())


async def summarize(conn: AsyncConnection, message_id: int) -> tuple[Reaction, ...]:
    """Rebuild and store the message's summary: emoji by first use, each with its
    count and the host ids of its first reactors."""
    return await conn.run_sync(summarize_now, message_id)


def summarize_now(conn: Connection, message_id: int) -> tuple[Reaction, ...]:
    """:func:`summarize` in a synchronous transaction."""
    rows = conn.execute(
        select(reactions.c.emoji, users.c.remote_user_id, reactions.c.created_at)
        .join(users, users.c.id == reactions.c.user_id)
        .where(reactions.c.message_id == message_id)
        .order_by(reactions.c.created_at, reactions.c.user_id)
    ).all()
    counts: dict[str, int] = {}
    shown: dict[str, list[int]] = {}
    for emoji, remote_user_id, _ in rows:
        counts[emoji] = counts.get(emoji, 0) + 1
        ids = shown.setdefault(emoji, [])
        if len(ids) < MAX_REACTORS_SHOWN:
            ids.append(remote_user_id)
    summary = tuple(Reaction(emoji, counts[emoji], tuple(shown[emoji])) for emoji in counts)
    conn.execute(
        update(messages).where(messages.c.id == message_id).values(reactions=summary or None)
    )
    return summary


async def forget_message(conn: AsyncConnection, message_id: int) -> None:
    """A deleted message keeps no reactions."""
    await conn.execute(delete(reactions).where(reactions.c.message_id == message_id))
    await conn.execute(update(messages).where(messages.c.id == message_id).values(reactions=None))
