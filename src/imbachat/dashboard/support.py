"""The support inbox: visitors' conversations (guests' too), replies, closing.

A reply is a message of one of the widget's operators, sent through the same path as
every message (``services.messages.send``): the visitor sees it live like any other.
The owner chooses the operator (a host user); one who is not yet in the
conversation joins it as one of its admins, as operators are.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from imbachat.dashboard.pages import _id
from imbachat.dashboard.web import (
    PREFIX,
    DashboardRoute,
    audit,
    checked_form,
    cursor,
    owner_of,
    page_size,
    redirect,
    render,
    services_of,
    text_field,
)
from imbachat.errors import Invalid, NotFound
from imbachat.numbers import parse_int
from imbachat.services.directory import is_visitor
from imbachat.services.messages import SendCommand
from imbachat.services.rooms import RoomSpec
from imbachat.states import RoomStatus, RoomType

router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)
STATUSES = {"open": RoomStatus.OPEN, "closed": RoomStatus.CLOSED, "all": None}


@router.get("/{imba_id}/support")
async def inbox(request: Request, imba_id: str) -> Response:
    owner = await owner_of(request, imba_id)
    status = request.query_params.get("status", "open")
    if status not in STATUSES:
        status = "open"
    conversations, more = await services_of(request).directory.support(
        owner.widget, STATUSES[status], cursor(request, "before"), page_size(request)
    )
    return render(
        request,
        "support.html",
        owner=owner,
        active="support",
        conversations=conversations,
        more=more,
        status=status,
    )


@router.get("/{imba_id}/support/{room_id}")
async def conversation(request: Request, imba_id: str, room_id: str) -> Response:
    owner = await owner_of(request, imba_id)
    services = services_of(request)
    room = await services.directory.room(owner.widget, _id(room_id, "conversation"))
    if room.type != RoomType.SUPPORT:
        raise NotFound("No such support conversation.")
    messages, older = await services.directory.history(
        owner.widget, room.id, cursor(request, "before"), page_size(request)
    )
    people = await services.directory.members(owner.widget, room.id, None, 200)
    visitor = next(
        (m for m in people.items if is_visitor(room, m.user.remote_user_id, m.user.status)),
        None,
    )
    operators = [m for m in people.items if m is not visitor]
    return render(
        request,
        "conversation.html",
        owner=owner,
        active="support",
        room=room,
        messages=messages,
        older=older,
        operators=operators,
        visitor=visitor,
        chosen=request.cookies.get("imbachat_dashboard_operator", ""),
        done=request.query_params.get("done", ""),
    )


@router.post("/{imba_id}/support/{room_id}/reply")
async def reply(request: Request, imba_id: str, room_id: str) -> Response:
    owner = await owner_of(request, imba_id)
    form = await checked_form(request, owner)
    services = services_of(request)
    room = await services.directory.room(owner.widget, _id(room_id, "conversation"))
    if room.type != RoomType.SUPPORT:
        raise NotFound("No such support conversation.")
    operator = parse_int(text_field(form, "as_user"), minimum=1)
    if operator is None:
        raise Invalid("Choose the operator who answers (a user id of your site).", field="as_user")
    text = text_field(form, "text")
    if not text:
        raise Invalid("Write a reply first.", field="text")
    people = await services.directory.members(owner.widget, room.id, None, 200)
    if not any(m.user.remote_user_id == operator for m in people.items):
        # The operator joins the conversation first, as one of its admins.
        spec = RoomSpec(room_id=room.id, remote_user_ids=[operator])
        await services.rooms.create_or_join(owner.widget, spec)
        await services.moderation.set_role(owner.widget, room.id, operator, "admin", None)
    sent = await services.messages.send(owner.widget, SendCommand(operator, room.id, text))
    await audit(
        request,
        owner,
        "support reply sent",
        f"room {room.id}, message {sent.id}",
        f"as user {operator}",
    )
    response = redirect(f"{owner.base}/support/{room.id}", done="replied")
    # The next reply is from the same operator unless the owner picks another.
    response.set_cookie(
        "imbachat_dashboard_operator",
        str(operator),
        max_age=365 * 86_400,
        path=PREFIX,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response
