"""Signing in and out: the owner's login form, one-time links from the CLI."""

from __future__ import annotations

import secrets

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from imbachat.dashboard.web import (
    PRE_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    DashboardRoute,
    SignInNeeded,
    address_of,
    csrf_of,
    int_field,
    is_https,
    redirect,
    render,
    services_of,
    session_of,
    text_field,
)
from imbachat.errors import Forbidden, ImbaError, RateLimited

router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)


def _safe_next(value: str) -> str:
    """Where to go after signing in: only a dashboard path of this server."""
    if value.startswith(PREFIX + "/") and not value.startswith("//") and "\\" not in value:
        return value[len(PREFIX) :]
    return "/"


async def _pre_token(request: Request) -> tuple[str, str, bool]:
    """(the pre-session cookie value, the sign-in form's CSRF token, set the cookie?)"""
    pre = request.cookies.get(PRE_COOKIE, "")
    fresh = len(pre) < 20 or len(pre) > 100
    if fresh:
        pre = secrets.token_urlsafe(24)
    signer = await services_of(request).dashboard.signer()
    return pre, signer.sign("sign-in", pre), fresh


async def _sign_in_form(
    request: Request, status: int = 200, error: str = "", imba_id: str = "", login: str = ""
) -> Response:
    pre, token, fresh = await _pre_token(request)
    response = render(
        request,
        "signin.html",
        status,
        csrf=token,
        error=error,
        imba_id=imba_id,
        login=login,
        next=request.query_params.get("next", ""),
    )
    if fresh:
        _set_cookie(request, response, PRE_COOKIE, pre, None)
    return response


def _set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PREFIX,
        httponly=True,
        secure=is_https(request),
        samesite="lax",
    )


async def _check_pre_token(request: Request, sent: str) -> None:
    pre = request.cookies.get(PRE_COOKIE, "")
    signer = await services_of(request).dashboard.signer()
    if not pre or not sent or not signer.verify("sign-in", pre, sent):
        raise Forbidden("This form has expired: reload the page and sign in again.")


def _signed_in(request: Request, cookie: str, target: str) -> Response:
    response = redirect(target)
    seconds = int(services_of(request).settings.dashboard_session_seconds)
    _set_cookie(request, response, SESSION_COOKIE, cookie, seconds)
    response.delete_cookie(PRE_COOKIE, path=PREFIX)
    return response


@router.get("/")
async def home(request: Request) -> Response:
    """The sign-in form, or the signed-in owner's widgets (straight to the only one)."""
    try:
        session = await session_of(request)
    except SignInNeeded:
        return await _sign_in_form(request)
    mine = await services_of(request).dashboard.widgets(session)
    if len(mine) == 1:
        return redirect(f"/{mine[0].imba_id}/")
    return render(
        request,
        "widgets.html",
        widgets=mine,
        session=session,
        csrf=await csrf_of(request, session),
    )


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await request.form()
    await _check_pre_token(request, text_field(form, "csrf"))
    raw_id = text_field(form, "imba_id")
    login = text_field(form, "login")
    password = form.get("password")
    imba_id = int_field(form, "imba_id")
    if imba_id is None or imba_id < 1 or not login or not isinstance(password, str):
        return await _sign_in_form(request, 422, "signin_missing", raw_id, login)
    try:
        cookie, widget = await services_of(request).dashboard.sign_in(
            imba_id, login, password, address_of(request)
        )
    except RateLimited as exc:
        response = await _sign_in_form(request, 429, "signin_throttled", raw_id, login)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except ImbaError:
        return await _sign_in_form(request, 401, "signin_wrong", raw_id, login)
    await services_of(request).audit.record(
        widget.imba_id, f"owner {login}", "signed in", "", None, address_of(request)
    )
    wanted = _safe_next(text_field(form, "next"))
    return _signed_in(request, cookie, wanted if wanted != "/" else f"/{widget.imba_id}/")


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    session = await session_of(request)
    form = await request.form()
    signer = await services_of(request).dashboard.signer()
    if not signer.verify("csrf", session.token, text_field(form, "csrf")):
        raise Forbidden("This form has expired: reload the page and try again.")
    await services_of(request).dashboard.sign_out(session)
    response = redirect("/")
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response


@router.get("/link/{token}")
async def link(request: Request, token: str) -> Response:
    """A sign-in link asks for one click first: link previews (chat apps, mail
    scanners) fetch pages, and must not use the link up."""
    pre, csrf, fresh = await _pre_token(request)
    response = render(request, "link.html", csrf=csrf, token=token[:200])
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in this URL
    if fresh:
        _set_cookie(request, response, PRE_COOKIE, pre, None)
    return response


@router.post("/link")
async def use_link(request: Request) -> Response:
    form = await request.form()
    await _check_pre_token(request, text_field(form, "csrf"))
    services = services_of(request)
    cookie, imba_id = await services.dashboard.redeem_link(text_field(form, "token"))
    await services.audit.record(
        imba_id, "sign-in link", "signed in with a one-time link", "", None, address_of(request)
    )
    return _signed_in(request, cookie, f"/{imba_id}/")
