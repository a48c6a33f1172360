"""The overview, people and rooms: what the owner reads, and what they change there
(bans, bots, roles, removals, closing rooms, deleting messages)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from imbachat.dashboard import charts
from imbachat.dashboard.web import (
    PREFIX,
    DashboardRoute,
    Owner,
    audit,
    checked_form,
    cursor,
    language,
    owner_of,
    page_size,
    redirect,
    render,
    services_of,
    strings,
    text_field,
)
from imbachat.domain import ROOM_TYPE_FIELD
from imbachat.errors import Invalid, NotFound
from imbachat.numbers import parse_int
from imbachat.states import RoomStatus

router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)


def _remote_id(raw: str) -> int:
    """A user in a path: a host id, or a guest's (negative)."""
    number = parse_int(raw, minimum=-(2**52))
    if number is None or number == 0:
        raise NotFound("No such user.")
    return number


def _id(raw: str, what: str = "page") -> int:
    number = parse_int(raw, minimum=1)
    if number is None:
        raise NotFound(f"No such {what}.")
    return number


# ---- overview -----------------------------------------------------------------------


async def _overview(request: Request, owner: Owner) -> dict[str, Any]:
    services = services_of(request)
    overview = await services.stats.overview(owner.widget)
    online = 0
    gateway = getattr(request.app.state, "gateway", None)
    if gateway is not None:
        ids = await services.stats.recent_user_ids(owner.widget)
        online = len(await gateway.hub.online.online_among(ids))
    days = [d.day for d in overview.days]
    return {"overview": overview, "online": online, "days": days}


@router.get("/{imba_id}/")
async def overview(request: Request, imba_id: str) -> Response:
    owner = await owner_of(request, imba_id)
    found = await _overview(request, owner)
    days = found["overview"].days
    texts = strings(language(request))
    message_chart = charts.bar_chart(
        texts["chart_messages"], found["days"], [d.messages for d in days], "messages"
    )
    people_chart = charts.bar_chart(
        texts["chart_people"], found["days"], [d.active_users for d in days], "people"
    )
    return render(
        request,
        "overview.html",
        owner=owner,
        active="overview",
        message_chart=message_chart,
        people_chart=people_chart,
        **found,
    )


@router.get("/{imba_id}/overview/live")
async def overview_live(request: Request, imba_id: str) -> Response:
    """The overview's counters alone: htmx swaps them in every few seconds."""
    owner = await owner_of(request, imba_id)
    return render(request, "overview_cards.html", owner=owner, **await _overview(request, owner))


# ---- people -------------------------------------------------------------------------


@router.get("/{imba_id}/users")
async def users(request: Request, imba_id: str) -> Response:
    owner = await owner_of(request, imba_id)
    text = request.query_params.get("q", "")
    found = await services_of(request).directory.users(
        owner.widget, text, cursor(request, "before"), page_size(request)
    )
    return render(request, "users.html", owner=owner, active="users", found=found, q=text)


@router.get("/{imba_id}/users/{remote_id}")
async def user(request: Request, imba_id: str, remote_id: str) -> Response:
    owner = await owner_of(request, imba_id)
    services = services_of(request)
    person = await services.users.get(owner.widget, _remote_id(remote_id))
    rooms = await services.directory.rooms_of(person)
    return render(
        request,
        "user.html",
        owner=owner,
        active="users",
        person=person,
        rooms=rooms,
        done=request.query_params.get("done", ""),
    )


@router.post("/{imba_id}/users/{remote_id}/{action}")
async def user_action(request: Request, imba_id: str, remote_id: str, action: str) -> Response:
    owner = await owner_of(request, imba_id)
    form = await checked_form(request, owner)
    target = _remote_id(remote_id)
    services = services_of(request)
    if action in ("ban", "unban"):
        await services.moderation.act(owner.widget, action, target)
        what = "user banned" if action == "ban" else "user unbanned"
        await audit(request, owner, what, f"user {target}")
    elif action == "bot":
        is_bot = text_field(form, "is_bot") == "1"
        await services.moderation.set_bot(owner.widget, target, is_bot)
        await audit(
            request,
            owner,
            "user marked as bot" if is_bot else "user marked as person",
            f"user {target}",
        )
    else:
        raise NotFound("No such action.")
    return redirect(f"{owner.base}/users/{target}", done=action)


# ---- rooms --------------------------------------------------------------------------


def _room_filters(request: Request) -> dict[str, Any]:
    query = request.query_params
    kind = ROOM_TYPE_FIELD.get(query.get("type", ""))
    public = {"1": True, "0": False}.get(query.get("public", ""))
    status = {"open": RoomStatus.OPEN, "closed": RoomStatus.CLOSED}.get(query.get("status", ""))
    return {"kind": kind, "public": public, "status": status, "text": query.get("q", "")}


@router.get("/{imba_id}/rooms")
async def rooms(request: Request, imba_id: str) -> Response:
    owner = await owner_of(request, imba_id)
    filters = _room_filters(request)
    found = await services_of(request).directory.rooms(
        owner.widget, before_id=cursor(request, "before"), limit=page_size(request), **filters
    )
    return render(
        request,
        "rooms.html",
        owner=owner,
        active="rooms",
        found=found,
        query=dict(request.query_params),
    )


@router.get("/{imba_id}/rooms/{room_id}")
async def room(request: Request, imba_id: str, room_id: str) -> Response:
    owner = await owner_of(request, imba_id)
    services = services_of(request)
    found = await services.directory.room(owner.widget, _id(room_id, "room"))
    people = await services.directory.members(
        owner.widget, found.id, cursor(request, "after"), page_size(request)
    )
    return render(
        request,
        "room.html",
        owner=owner,
        active="support" if found.type == 3 else "rooms",
        room=found,
        people=people,
        done=request.query_params.get("done", ""),
    )


@router.get("/{imba_id}/rooms/{room_id}/history")
async def history(request: Request, imba_id: str, room_id: str) -> Response:
    owner = await owner_of(request, imba_id)
    services = services_of(request)
    found = await services.directory.room(owner.widget, _id(room_id, "room"))
    messages, older = await services.directory.history(
        owner.widget, found.id, cursor(request, "before"), page_size(request)
    )
    return render(
        request,
        "history.html",
        owner=owner,
        active="rooms",
        room=found,
        messages=messages,
        older=older,
        done=request.query_params.get("done", ""),
    )


@router.post("/{imba_id}/rooms/{room_id}/{action}")
async def room_action(request: Request, imba_id: str, room_id: str, action: str) -> Response:
    owner = await owner_of(request, imba_id)
    form = await checked_form(request, owner)
    number = _id(room_id, "room")
    moderation = services_of(request).moderation
    back = text_field(form, "back") or "room"
    if action == "close":
        await moderation.close_room(owner.widget, number, None)
        await audit(request, owner, "room closed", f"room {number}")
    elif action == "reopen":
        await moderation.reopen_room(owner.widget, number)
        await audit(request, owner, "room reopened", f"room {number}")
    elif action in ("role", "remove"):
        member = parse_int(text_field(form, "user_id"), minimum=-(2**52))
        if not member:
            raise Invalid("Choose a member.", field="user_id")
        if action == "role":
            role = text_field(form, "role")
            await moderation.set_role(owner.widget, number, member, role, None)
            await audit(
                request,
                owner,
                "member role changed",
                f"room {number}, user {member}",
                f"role: {role}",
            )
        else:
            await moderation.act(owner.widget, "remove", member, room_id=number)
            await audit(request, owner, "member removed", f"room {number}, user {member}")
    else:
        raise NotFound("No such action.")
    if back == "support":
        return redirect(f"{owner.base}/support/{number}", done=action)
    return redirect(f"{owner.base}/rooms/{number}", done=action)


@router.post("/{imba_id}/messages/{message_id}/delete")
async def delete_message(request: Request, imba_id: str, message_id: str) -> Response:
    owner = await owner_of(request, imba_id)
    await checked_form(request, owner)
    deleted = await services_of(request).messages.delete(
        owner.widget, None, _id(message_id, "message")
    )
    await audit(request, owner, "message deleted", f"room {deleted.room_id}, message {deleted.id}")
    return redirect(f"{owner.base}/rooms/{deleted.room_id}/history", done="deleted")
