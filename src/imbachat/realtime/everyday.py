"""What members do around messages, from a socket: react, block, report, pin.
Thin like :mod:`requests` (whose table includes these handlers): each checked
frame becomes a service call; what fans out goes through events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from imbachat import render
from imbachat.realtime import frames
from imbachat.realtime.connection import Connection
from imbachat.services import Services

Handler = Callable[[Connection, dict[str, Any]], Awaitable[None]]
READS = frozenset({"blocked_users", "reports"})


def handlers(services: Services) -> dict[str, Handler]:
    async def react(conn: Connection, frame: dict[str, Any]) -> None:
        """No direct answer: the room (this socket too) gets ``reaction``."""
        await services.reactions.react(
            conn.widget,
            conn.user.remote_user_id,
            frame["message_id"],
            frame["emoji"],
            remove=frame.get("remove", False),
        )

    async def block_user(conn: Connection, frame: dict[str, Any]) -> None:
        """No direct answer: every socket of the user gets ``blocked``."""
        await services.blocks.set_blocked(conn.widget, conn.user, frame["user_id"], True)

    async def unblock_user(conn: Connection, frame: dict[str, Any]) -> None:
        await services.blocks.set_blocked(conn.widget, conn.user, frame["user_id"], False)

    async def blocked_users(conn: Connection, frame: dict[str, Any]) -> None:
        people, after = await services.blocks.page(conn.user, frame.get("after"))
        users = [
            {"user_id": p.remote_user_id, "name": p.name, "avatar_url": p.avatar_url}
            for p in people
        ]
        conn.push(frames.simple("blocked_users", users=users, next=after))

    async def report(conn: Connection, frame: dict[str, Any]) -> None:
        view = await services.reports.report(
            conn.widget, conn.user, frame["message_id"], frame["reason"]
        )
        conn.push(frames.simple("reported", message_id=view.message.id, report_id=view.report.id))

    async def reports(conn: Connection, frame: dict[str, Any]) -> None:
        found, after = await services.reports.for_staff(
            conn.widget, conn.user, frame.get("room_id"), frame.get("after")
        )
        listed = [render.report(view) for view in found]
        conn.push(frames.simple("reports", reports=listed, next=after))

    async def pin(conn: Connection, frame: dict[str, Any]) -> None:
        """No direct answer: the room gets ``room`` ``pinned``."""
        await services.pins.pin(conn.widget, conn.user, frame["room_id"], frame["message_id"])

    async def unpin(conn: Connection, frame: dict[str, Any]) -> None:
        await services.pins.pin(conn.widget, conn.user, frame["room_id"], None)

    return {
        "react": react,
        "block_user": block_user,
        "unblock_user": unblock_user,
        "blocked_users": blocked_users,
        "report": report,
        "reports": reports,
        "pin": pin,
        "unpin": unpin,
    }
