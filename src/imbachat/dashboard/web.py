"""What every dashboard page needs: templates in the owner's language, the signed-in
owner and their widget, CSRF checks on forms, the audit log, and errors as pages.

The dashboard is an edge like the REST API: it parses, checks who asks, calls the
services, and renders. It never reads the store itself.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from imbachat.domain import Widget
from imbachat.errors import Forbidden, ImbaError, NotFound, RateLimited
from imbachat.numbers import parse_int
from imbachat.services import Services
from imbachat.services.dashboard_auth import OwnerSession

log = logging.getLogger(__name__)

PREFIX = "/dashboard"
SESSION_COOKIE = "imbachat_dashboard"
# Before sign-in: a random value the sign-in form's CSRF token is derived from.
PRE_COOKIE = "imbachat_dashboard_pre"
LANG_COOKIE = "imbachat_dashboard_lang"
LANGUAGES = ("en", "es", "ru")
PAGE_SIZE = 50
# Pages never in a frame (clickjacking), scripts only ours (htmx, dashboard.js);
# inline style attributes are allowed for the charts and the live preview.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@cache
def strings(lang: str) -> dict[str, str]:
    """The dashboard's own strings in ``lang``, English for any key not translated."""
    english = _load("en")
    return english if lang == "en" else {**english, **_load(lang)}


def _load(lang: str) -> dict[str, str]:
    text = resources.files("imbachat.dashboard").joinpath(f"i18n/{lang}.json").read_text("utf-8")
    loaded: dict[str, str] = json.loads(text)
    return loaded


def language(request: Request) -> str:
    """?lang= (remembered in a cookie), else the cookie, else the browser's, else en."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    for part in request.headers.get("accept-language", "").split(","):
        lang = part.split(";")[0].strip()[:2].lower()
        if lang in LANGUAGES:
            return lang
    return "en"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("imbachat.dashboard", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = lambda value: value.strftime("%Y-%m-%d %H:%M") if value else "—"
    return env


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def address_of(request: Request) -> str:
    return request.client.host if request.client else ""


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def render(
    request: Request,
    template: str,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    lang = language(request)
    texts = strings(lang)

    def t(key: str, **values: Any) -> str:
        text = texts.get(key, key)
        return text.format(**values) if values else text

    def url(path: str = "", **query: Any) -> str:
        """A dashboard URL; query values that are None or "" are left out."""
        kept = {k: v for k, v in query.items() if v is not None and v != ""}
        return PREFIX + path + ("?" + urlencode(kept) if kept else "")

    body = (
        environment()
        .get_template(template)
        .render(
            t=t,
            lang=lang,
            languages=LANGUAGES,
            url=url,
            request=request,
            path=request.url.path,
            **context,
        )
    )
    return HTMLResponse(body, status_code, headers={**SECURITY_HEADERS, **(headers or {})})


def _remember_language(request: Request, response: Response) -> Response:
    """A language picked with ?lang= stays picked (on redirects too)."""
    lang = request.query_params.get("lang")
    if lang in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE, lang, max_age=365 * 86_400, samesite="lax", secure=is_https(request)
        )
    return response


def redirect(path: str, **query: Any) -> RedirectResponse:
    """303 to a dashboard page: a form's answer is a GET of the page it changed."""
    kept = {k: v for k, v in query.items() if v is not None and v != ""}
    target = PREFIX + path + ("?" + urlencode(kept) if kept else "")
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})


class SignInNeeded(Exception):
    """No live session: the page answers with the sign-in form."""


@dataclass(frozen=True, slots=True)
class Owner:
    """The signed-in owner on a page of one of their widgets."""

    session: OwnerSession
    widget: Widget
    csrf: str
    widgets: list[Widget]

    @property
    def imba_id(self) -> int:
        return self.widget.imba_id

    @property
    def base(self) -> str:
        """This widget's pages' path (after the dashboard's prefix)."""
        return f"/{self.widget.imba_id}"


async def session_of(request: Request) -> OwnerSession:
    found = await services_of(request).dashboard.session(request.cookies.get(SESSION_COOKIE))
    if found is None:
        raise SignInNeeded
    return found


async def csrf_of(request: Request, session: OwnerSession) -> str:
    return (await services_of(request).dashboard.signer()).sign("csrf", session.token)


async def owner_of(request: Request, raw_imba_id: str) -> Owner:
    """The signed-in owner and their widget ``raw_imba_id``: any other is a 404."""
    session = await session_of(request)
    imba_id = parse_int(raw_imba_id, minimum=1)
    if imba_id is None:
        raise NotFound("No such widget.")
    services = services_of(request)
    widget = await services.dashboard.widget(session, imba_id)
    mine = await services.dashboard.widgets(session)
    return Owner(session, widget, await csrf_of(request, session), mine)


async def checked_form(request: Request, owner: Owner) -> FormData:
    """The posted form, once its CSRF token is this session's: else 403."""
    form = await request.form()
    sent = form.get("csrf") or request.headers.get("x-csrf-token") or ""
    signer = await services_of(request).dashboard.signer()
    if not isinstance(sent, str) or not signer.verify("csrf", owner.session.token, sent):
        raise Forbidden(
            "This form has expired or did not come from this dashboard: reload and try again."
        )
    return form


def text_field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def int_field(form: FormData | Mapping[str, str], name: str) -> int | None:
    value = form.get(name)
    return parse_int(value.strip(), minimum=-(2**62)) if isinstance(value, str) else None


def cursor(request: Request, name: str) -> int | None:
    """A page cursor from the query string (any junk: the first page)."""
    value = request.query_params.get(name, "")
    return parse_int(value, minimum=-(2**62)) if value else None


def page_size(request: Request) -> int:
    size = parse_int(request.query_params.get("limit", ""), minimum=1, maximum=200)
    return size or PAGE_SIZE


async def audit(
    request: Request, owner: Owner, action: str, target: str = "", details: str | None = None
) -> None:
    """Record a change the owner just made (who, when, what, from where)."""
    await services_of(request).audit.record(
        owner.imba_id, owner.session.actor, action, target, details, address_of(request)
    )


Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]


class DashboardRoute(APIRoute):
    """Dashboard routes answer with pages, never the API's JSON errors or a stack
    trace: no session leads to the sign-in form; a refusal is a page saying why."""

    def get_route_handler(self) -> Endpoint:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return _remember_language(request, await handler(request))
            except SignInNeeded:
                if request.method == "GET":
                    return redirect("/", next=request.url.path)
                return redirect("/")
            except RateLimited as exc:
                headers = {"Retry-After": str(exc.retry_after)}
                return error_page(request, 429, exc.message, headers)
            except ImbaError as exc:
                return error_page(request, exc.status, exc.message)
            except Exception:
                log.exception("dashboard error on %s %s", request.method, request.url.path)
                return error_page(request, 500, strings(language(request))["error_500"])

        return guarded


def error_page(
    request: Request, status: int, message: str, headers: Mapping[str, str] | None = None
) -> HTMLResponse:
    titles = {403: "error_403", 404: "error_404", 429: "error_429", 500: "error_500_title"}
    back = request.headers.get("referer", "")
    same_site = back.startswith(str(request.base_url).rstrip("/") + PREFIX)
    return render(
        request,
        "error.html",
        status,
        headers,
        status=status,
        title_key=titles.get(status, "error_other"),
        message=message,
        back=back if same_site else PREFIX + "/",
    )
