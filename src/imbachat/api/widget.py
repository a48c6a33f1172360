"""GET /imbachat/v1/{imba_id}/widget: the embeddable chat, one script with its CSS
and its English strings; GET /imbachat/widget/i18n/{lang}.json: the strings of
another language, fetched by the widget when it is used; GET
/imbachat/widget/more.js: the parts used on demand (the settings panel, the new
conference form, the image viewer, uploads…), a second script the widget loads on
first use; GET /imbachat/widget/everyday.js: the same for what people do around
messages (the menus of messages and rooms, mentions, search, reports, blocks); GET
/imbachat/widget/emoji.js: the emoji picker with its data, loaded when first
opened; GET /imbachat/widget/calls.js: calls in dialogs, loaded when one starts;
GET /imbachat/widget/alert.wav: the sound of a new message.

Served from package data with no build step, encoded (and gzipped) once per process,
cached by browsers and revalidated with an ETag. The widget asks for the later
scripts and the sound with their version in the address (``?v=``), so that exact
version is cached for a year.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import re
from pathlib import Path

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from imbachat.api.deps import path_imba_id, services_of
from imbachat.api.openapi import OPEN, deep_merge, operation
from imbachat.errors import NotFound

router = APIRouter(tags=["Widget"])
WIDGET_DIR = Path(__file__).resolve().parent.parent / "widget"
CSS_SLOT = '/*__CSS__*/""'
EN_SLOT = "/*__EN__*/{}"
LABELS_SLOT = "/*__LABELS__*/{}"
SOUND_SLOT = '/*__SOUND__*/""'
MORE_SLOT = '/*__MORE__*/""'
MORE_PATH = "/imbachat/widget/more.js"
EVERYDAY_SLOT = '/*__EVERYDAY__*/""'
EVERYDAY_PATH = "/imbachat/widget/everyday.js"
CALLS_SLOT = '/*__CALLS__*/""'
CALLS_PATH = "/imbachat/widget/calls.js"
# The scripts of parts used on demand; each brings the English strings only it names.
PARTS = ("more.js", "everyday.js", "calls.js")
EMOJI_SLOT = '/*__EMOJI__*/""'
EMOJI_PATH = "/imbachat/widget/emoji.js"
EMOJI_STRINGS_SLOT = "/*__STRINGS__*/{ en: {} }"
EMOJI_DATA_SLOT = "/*__DATA__*/{ groups: [], samples: {} }"
SOUND_PATH = "/imbachat/widget/alert.wav"
FOREVER = "public, max-age=31536000, immutable"
JAVASCRIPT = "application/javascript; charset=utf-8"
LANGUAGES = ("ar", "en", "es", "fr", "it", "ru")
# Strings the CMS plugins read before the chat loads: every language in the script.
PLUGIN_LABELS = ("wp_join_group", "wp_chat_with_user")


@functools.cache
def strings(lang: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(
        (WIDGET_DIR / "i18n" / f"{lang}.json").read_text(encoding="utf-8")
    )
    return loaded


@functools.cache
def english(script: str = "widget.js") -> dict[str, object]:
    """The English strings inlined in one of the scripts. The widget's has all but
    those only the parts used on demand name (a key quoted in one of PARTS, never in
    widget.js); each of those scripts brings the ones it names. Other languages are
    one file each, with every string, fetched before the chat starts."""
    first = _source("widget.js")
    if script == "widget.js":
        later = "".join(_source(name) for name in PARTS)
        return {k: v for k, v in strings("en").items() if _named(k, first) or not _named(k, later)}
    own = _source(script)
    return {k: v for k, v in strings("en").items() if _named(k, own) and not _named(k, first)}


# Comments on lines of their own, and indentation: 15 KB of the widget's first load
# (a sixth), dropped as the scripts and stylesheets are served; the sources keep
# them. No line's leading blanks are content: the scripts have no template literals
# (tests/api/test_widget_script.py checks that).
_OWN_LINE_COMMENT = re.compile(r"^[ \t]*(?:/\*[^*]*\*+(?:[^/*][^*]*\*+)*/|//[^\n]*)[ \t]*\n", re.M)
_INDENT = re.compile(r"^[ \t]+", re.M)


def compact(source: str) -> str:
    """A script or stylesheet without its own-line comments and indentation."""
    return _INDENT.sub("", _OWN_LINE_COMMENT.sub("", source))


def _source(name: str) -> str:
    return compact((WIDGET_DIR / name).read_text(encoding="utf-8"))


def _named(key: str, source: str) -> bool:
    return json.dumps(key) in source


@functools.cache
def widget_bundle() -> tuple[bytes, str]:
    """The script with its stylesheet and English strings inlined, and the ETag of
    that exact text."""
    script, styles = _source("widget.js"), _source("widget.css")
    labels = {lang: {k: strings(lang)[k] for k in PLUGIN_LABELS} for lang in LANGUAGES}
    text = (
        script.replace(CSS_SLOT, json.dumps(styles), 1)
        .replace(EN_SLOT, json.dumps(english(), ensure_ascii=False), 1)
        .replace(LABELS_SLOT, json.dumps(labels, ensure_ascii=False), 1)
        .replace(SOUND_SLOT, json.dumps(f"{SOUND_PATH}?v={_version(alert_sound()[1])}"), 1)
        .replace(MORE_SLOT, json.dumps(f"{MORE_PATH}?v={_version(more_bundle()[1])}"), 1)
        .replace(
            EVERYDAY_SLOT, json.dumps(f"{EVERYDAY_PATH}?v={_version(everyday_bundle()[1])}"), 1
        )
        .replace(EMOJI_SLOT, json.dumps(f"{EMOJI_PATH}?v={_version(emoji_bundle()[1])}"), 1)
        .replace(CALLS_SLOT, json.dumps(f"{CALLS_PATH}?v={_version(calls_bundle()[1])}"), 1)
    )
    body = text.encode()
    return body, _etag(body)


@functools.cache
def more_bundle() -> tuple[bytes, str]:
    """The second script (the parts used on demand) with its stylesheet and its
    English strings inlined."""
    return _part("more")


@functools.cache
def everyday_bundle() -> tuple[bytes, str]:
    """The script of what people do around messages, inlined as more.js is."""
    return _part("everyday")


@functools.cache
def calls_bundle() -> tuple[bytes, str]:
    """The script of calls in dialogs (ringing, the call's window, WebRTC), loaded
    when a call is placed or rings, or a call's record is shown."""
    return _part("calls")


def _part(name: str) -> tuple[bytes, str]:
    script = _source(f"{name}.js")
    styles = _source(f"{name}.css")
    text = script.replace(CSS_SLOT, json.dumps(styles), 1)
    body = text.replace(EN_SLOT, json.dumps(english(f"{name}.js"), ensure_ascii=False), 1).encode()
    return body, _etag(body)


@functools.cache
def emoji_bundle() -> tuple[bytes, str]:
    """The emoji picker's script with its stylesheet, its strings (every language: a
    few each) and the emoji data inlined (emoji/data.json, made by emoji/generate.py)."""
    script, styles = _source("emoji.js"), _source("emoji.css")
    picker = json.loads((WIDGET_DIR / "emoji" / "strings.json").read_text(encoding="utf-8"))
    data = json.loads((WIDGET_DIR / "emoji" / "data.json").read_text(encoding="utf-8"))
    text = (
        script.replace(CSS_SLOT, json.dumps(styles), 1)
        .replace(EMOJI_STRINGS_SLOT, _compact(picker), 1)
        .replace(EMOJI_DATA_SLOT, _compact(data), 1)
    )
    body = text.encode()
    return body, _etag(body)


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@functools.cache
def alert_sound() -> tuple[bytes, str]:
    body = (WIDGET_DIR / "alert.wav").read_bytes()
    return body, _etag(body)


def _version(etag: str) -> str:
    return etag.strip('"')[:12]


def _lasting(request: Request, etag: str) -> dict[str, str]:
    """A year's cache for the version the address names; a short one for another."""
    if request.query_params.get("v") == _version(etag):
        return {"Cache-Control": FOREVER}
    return {}


@functools.cache
def strings_file(lang: str) -> tuple[bytes, str]:
    body = json.dumps(strings(lang), ensure_ascii=False, separators=(",", ":")).encode()
    return body, _etag(body)


def _etag(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


@functools.cache
def _gzipped(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=9, mtime=0)


def _takes_gzip(request: Request) -> bool:
    for coding in request.headers.get("accept-encoding", "").split(","):
        name, _, quality = coding.strip().partition(";")
        if name.strip().lower() == "gzip":
            return quality.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _cached(
    request: Request,
    body: bytes,
    etag: str,
    media_type: str,
    headers: dict[str, str] | None = None,
    *,
    compress: bool = True,
) -> Response:
    """The body (gzipped, compressed once, for browsers that take it: a quarter of the
    bytes on a phone), or 304 when the browser holds this version (``If-None-Match``)."""
    sent = {"Cache-Control": "public, max-age=300, must-revalidate", "Vary": "Accept-Encoding"}
    if compress and _takes_gzip(request):
        body = _gzipped(body)
        etag = etag[:-1] + '-gzip"'
        sent["Content-Encoding"] = "gzip"
    sent |= {"ETag": etag, **(headers or {})}
    if etag in request.headers.get("if-none-match", ""):
        sent.pop("Content-Encoding", None)
        return Response(status_code=304, headers=sent)
    return Response(body, media_type=media_type, headers=sent)


@router.get(
    "/imbachat/v1/{imba_id}/widget",
    summary="The chat widget's JavaScript",
    openapi_extra=deep_merge(
        operation(
            {"type": "string"}, media_type="application/javascript", errors=(), security=OPEN
        ),
        {
            "responses": {
                "304": {"description": "Not modified since the ETag given."},
                "404": {
                    "description": "No such widget: a script that says so in the console.",
                    "content": {"application/javascript": {"schema": {"type": "string"}}},
                },
            }
        },
    ),
)
async def widget_script(request: Request, imba_id: str) -> Response:
    try:
        await services_of(request).widgets.get(path_imba_id(imba_id))
    except NotFound:
        message = f"imbachat: there is no widget {imba_id!r} on this server; check the imba_id."
        return Response(f"console.error({json.dumps(message)});", 404, media_type=JAVASCRIPT)
    body, etag = widget_bundle()
    return _cached(request, body, etag, JAVASCRIPT)


@router.get(
    "/imbachat/widget/i18n/{lang}.json",
    summary="The widget's strings in one language (ar, en, es, fr, it, ru)",
    openapi_extra=operation({"type": "object"}, errors=(404,), security=OPEN),
)
async def widget_strings(request: Request, lang: str) -> Response:
    if lang not in LANGUAGES:
        known = ", ".join(LANGUAGES)
        raise NotFound(f"No strings for language {lang[:10]!r}; there are {known}.", field="lang")
    body, etag = strings_file(lang)
    # Fetched by the widget from the host site's pages: another origin.
    return _cached(request, body, etag, "application/json", {"Access-Control-Allow-Origin": "*"})


@router.get(
    MORE_PATH,
    summary="The widget's parts used on demand: a second script, loaded by the widget on first use",
    openapi_extra=deep_merge(
        operation(
            {"type": "string"}, media_type="application/javascript", errors=(), security=OPEN
        ),
        {"responses": {"304": {"description": "Not modified since the ETag given."}}},
    ),
)
async def widget_more_script(request: Request) -> Response:
    body, etag = more_bundle()
    return _cached(request, body, etag, JAVASCRIPT, _lasting(request, etag))


@router.get(
    EVERYDAY_PATH,
    summary="The widget's menus of messages and rooms, mentions, search and reports: a "
    "script loaded on first use",
    openapi_extra=deep_merge(
        operation(
            {"type": "string"}, media_type="application/javascript", errors=(), security=OPEN
        ),
        {"responses": {"304": {"description": "Not modified since the ETag given."}}},
    ),
)
async def widget_everyday_script(request: Request) -> Response:
    body, etag = everyday_bundle()
    return _cached(request, body, etag, JAVASCRIPT, _lasting(request, etag))


@router.get(
    CALLS_PATH,
    summary="The widget's calls in dialogs: a script loaded when a call is placed or rings",
    openapi_extra=deep_merge(
        operation(
            {"type": "string"}, media_type="application/javascript", errors=(), security=OPEN
        ),
        {"responses": {"304": {"description": "Not modified since the ETag given."}}},
    ),
)
async def widget_calls_script(request: Request) -> Response:
    body, etag = calls_bundle()
    return _cached(request, body, etag, JAVASCRIPT, _lasting(request, etag))


@router.get(
    EMOJI_PATH,
    summary="The widget's emoji picker: a script with the emoji data, loaded when first opened",
    openapi_extra=deep_merge(
        operation(
            {"type": "string"}, media_type="application/javascript", errors=(), security=OPEN
        ),
        {"responses": {"304": {"description": "Not modified since the ETag given."}}},
    ),
)
async def widget_emoji_script(request: Request) -> Response:
    body, etag = emoji_bundle()
    return _cached(request, body, etag, JAVASCRIPT, _lasting(request, etag))


@router.get(
    SOUND_PATH,
    summary="The short sound the widget plays for a new message",
    openapi_extra=deep_merge(
        operation(
            {"type": "string", "format": "binary"}, media_type="audio/wav", errors=(), security=OPEN
        ),
        {"responses": {"304": {"description": "Not modified since the ETag given."}}},
    ),
)
async def widget_alert_sound(request: Request) -> Response:
    body, etag = alert_sound()
    return _cached(request, body, etag, "audio/wav", _lasting(request, etag), compress=False)
