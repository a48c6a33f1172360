"""Webhooks: endpoints (add, choose events, turn off and on), the delivery log, replay."""

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
from imbachat.errors import NotFound
from imbachat.numbers import parse_int
from imbachat.states import DeliveryStatus
from imbachat.webhooks.bodies import WEBHOOK_EVENT_NAMES

router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)


def _events(form: object) -> list[str]:
    """The ticked events; all of them ticked means every event, now and future ones."""
    chosen = [e for e in form.getlist("events") if isinstance(e, str)]  # type: ignore[attr-defined]
    return [] if set(chosen) >= set(WEBHOOK_EVENT_NAMES) else chosen


@router.get("/{imba_id}/webhooks")
async def webhooks(request: Request, imba_id: str) -> Response:
    owner = await owner_of(request, imba_id)
    endpoints = await services_of(request).webhooks.endpoints(owner.widget)
    return render(
        request,
        "webhooks.html",
        owner=owner,
        active="webhooks",
        endpoints=endpoints,
        event_names=WEBHOOK_EVENT_NAMES,
        done=request.query_params.get("done", ""),
    )


@router.post("/{imba_id}/webhooks")
async def add(request: Request, imba_id: str) -> Response:
    owner = await owner_of(request, imba_id)
    form = await checked_form(request, owner)
    url = text_field(form, "url")
    hook = await services_of(request).webhooks.add(owner.widget, url, events=_events(form))
    await audit(request, owner, "webhook added", f"webhook {hook['id']}", url)
    return redirect(f"{owner.base}/webhooks", done="added")


@router.post("/{imba_id}/webhooks/{webhook_id}/{action}")
async def change(request: Request, imba_id: str, webhook_id: str, action: str) -> Response:
    owner = await owner_of(request, imba_id)
    form = await checked_form(request, owner)
    number = _id(webhook_id, "webhook")
    service = services_of(request).webhooks
    if action == "events":
        chosen = _events(form)
        await service.change(owner.widget, number, events=chosen)
        await audit(
            request,
            owner,
            "webhook events changed",
            f"webhook {number}",
            ", ".join(chosen) or "every event",
        )
    elif action in ("disable", "enable"):
        await service.change(owner.widget, number, active=action == "enable")
        await audit(request, owner, f"webhook {action}d", f"webhook {number}")
    else:
        raise NotFound("No such action.")
    return redirect(f"{owner.base}/webhooks", done=action)


@router.get("/{imba_id}/webhooks/deliveries")
async def deliveries(request: Request, imba_id: str) -> Response:
    owner = await owner_of(request, imba_id)
    query = request.query_params
    status = query.get("status", "")
    status = status if status in {s.value for s in DeliveryStatus} else ""
    webhook_id = parse_int(query.get("webhook", ""), minimum=1)
    limit = page_size(request)
    found = await services_of(request).webhooks.deliveries(
        owner.widget,
        webhook_id=webhook_id,
        status=status or None,
        limit=limit + 1,
        before_id=cursor(request, "before"),
    )
    more = found[limit - 1]["id"] if len(found) > limit else None
    return render(
        request,
        "deliveries.html",
        owner=owner,
        active="webhooks",
        deliveries=found[:limit],
        more=more,
        status=status,
        webhook_id=webhook_id,
        statuses=[s.value for s in DeliveryStatus],
        done=query.get("done", ""),
    )


@router.post("/{imba_id}/webhooks/deliveries/{delivery_id}/replay")
async def replay(request: Request, imba_id: str, delivery_id: str) -> Response:
    owner = await owner_of(request, imba_id)
    await checked_form(request, owner)
    number = _id(delivery_id, "delivery")
    await services_of(request).webhooks.replay(owner.widget, number)
    await audit(request, owner, "webhook delivery replayed", f"delivery {number}")
    return redirect(f"{owner.base}/webhooks/deliveries", done="replayed")
