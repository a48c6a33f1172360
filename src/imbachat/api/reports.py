"""The owner's queue of reported messages (HTTP Basic ``imba_id:secret_key``):
list them, and dismiss or resolve each, deleting the message or banning its author."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from imbachat import render
from imbachat.api.deps import PathId, services_of, widget_by_basic
from imbachat.api.envelopes import json_response
from imbachat.api.forms import Fields
from imbachat.api.openapi import BASIC, choice, data, deep_merge, integer, obj, operation, ref
from imbachat.services.reports import Resolution
from imbachat.states import ReportStatus
from imbachat.store.reports import MAX_PAGE

router = APIRouter(prefix="/api/v1/{imba_id}", tags=["Moderation"])


@router.get(
    "/reports",
    summary="Reported messages, newest first",
    openapi_extra=deep_merge(
        operation(
            obj(
                {
                    "data": {"type": "array", "items": ref("Report")},
                    "next": {
                        "anyOf": [{"type": "integer"}, {"type": "null"}],
                        "description": "Pass as `after` for the next page; null: no more.",
                    },
                }
            ),
            security=BASIC,
        ),
        {
            "parameters": [
                {
                    "name": "status",
                    "in": "query",
                    "schema": choice(
                        "Only these (default open).", [*(s.value for s in ReportStatus), "all"]
                    ),
                },
                {"name": "after", "in": "query", "schema": integer("The previous `next`.", 1)},
                {
                    "name": "limit",
                    "in": "query",
                    "schema": integer("At most, default 50.", 1, MAX_PAGE),
                },
            ]
        },
    ),
)
async def list_reports(request: Request, imba_id: str) -> Response:
    fields = await Fields.from_request(request)
    widget = await widget_by_basic(request, imba_id)
    found, after = await services_of(request).reports.queue(
        widget,
        fields.text("status") or ReportStatus.OPEN.value,
        fields.integer("after", minimum=1),
        fields.integer("limit", minimum=1, maximum=MAX_PAGE) or 50,
    )
    return json_response({"data": [render.report(view) for view in found], "next": after})


@router.post(
    "/reports/{report_id}",
    summary="Decide on a report: dismiss, resolve, delete the message or ban its author",
    openapi_extra=operation(
        data(ref("Report")),
        fields={"action": choice("What to do.", [r.value for r in Resolution])},
        required=("action",),
        security=BASIC,
    ),
)
async def resolve_report(request: Request, imba_id: str, report_id: PathId) -> Response:
    fields = await Fields.from_request(request)
    widget = await widget_by_basic(request, imba_id)
    action = fields.text("action", required=True, max_length=32)
    assert action is not None
    view = await services_of(request).reports.resolve(widget, report_id, action)
    return json_response({"data": render.report(view)})
