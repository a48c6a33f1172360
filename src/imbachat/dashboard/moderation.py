"""Moderation: the word blocklist, the limits in force, the reports queue."""

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
from imbachat.services.reports import Resolution

router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)
REPORT_STATUSES = ("open", "resolved", "dismissed", "all")


@router.get("/{imba_id}/moderation")
async def moderation(request: Request, imba_id: str) -> Response:
    owner = await owner_of(request, imba_id)
    services = services_of(request)
    status = request.query_params.get("status", "open")
    if status not in REPORT_STATUSES:
        status = "open"
    reports, after = await services.reports.queue(
        owner.widget, status, cursor(request, "after"), page_size(request)
    )
    stored = await services.widgets.get(owner.imba_id)  # the blocklist as stored now
    settings = services.settings
    limits = [
        ("limit_send", f"{settings.send_rate_per_second:g}/s, burst {settings.send_burst}"),
        ("limit_guest_send", f"{settings.guest_sends_per_minute}/min"),
        ("limit_guests", f"{settings.guests_per_address_per_minute}/min"),
        ("limit_uploads", f"{settings.uploads_per_minute}/min"),
        ("limit_upload_size", f"{settings.max_upload_bytes // 1_000_000} MB"),
        ("limit_frames", f"{settings.ws_frames_per_second:g}/s, burst {settings.ws_frame_burst}"),
        (
            "limit_passwords",
            f"{settings.owner_auth_failures_per_login} / "
            f"{int(settings.owner_auth_window_seconds // 60)} min",
        ),
    ]
    return render(
        request,
        "moderation.html",
        owner=owner,
        active="moderation",
        words=(stored.blocked_words or "").strip(),
        limits=limits,
        reports=reports,
        after=after,
        status=status,
        resolutions=[r.value for r in Resolution],
        done=request.query_params.get("done", ""),
    )


@router.post("/{imba_id}/moderation/blocklist")
async def blocklist(request: Request, imba_id: str) -> Response:
    owner = await owner_of(request, imba_id)
    form = await checked_form(request, owner)
    words = text_field(form, "words").splitlines()
    kept = await services_of(request).moderation.set_blocked_words(owner.widget, words)
    await audit(request, owner, "blocklist changed", "", f"{len(kept)} words")
    return redirect(f"{owner.base}/moderation", done="blocklist")


@router.post("/{imba_id}/moderation/reports/{report_id}")
async def resolve(request: Request, imba_id: str, report_id: str) -> Response:
    owner = await owner_of(request, imba_id)
    form = await checked_form(request, owner)
    action = text_field(form, "action")
    number = _id(report_id, "report")
    await services_of(request).reports.resolve(owner.widget, number, action)
    await audit(request, owner, "report handled", f"report {number}", action)
    return redirect(f"{owner.base}/moderation", done="report")
