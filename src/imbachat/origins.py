"""Allowed host origins: the pages (scheme, host, port) a widget may be used from.

An owner lists them (one per line or comma-separated, ``https://shop.example``,
``https://*.shop.example`` for its subdomains); an empty list allows any page. The
browser names the page's origin in the ``Origin`` header of the widget's socket and
of its guest sign-ups; servers calling the API send none and are not concerned.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_ORIGINS = 50
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"(?:\*\.)?{_LABEL}(?:\.{_LABEL})*|\[[0-9a-f:.]+\]")


class BadOrigin(ValueError):
    pass


def parse(text: str) -> tuple[str, ...]:
    """The origins listed, normalised (lower case, no default port, no slash), once
    each; BadOrigin names the first that is not ``scheme://host[:port]``."""
    found: dict[str, None] = {}
    for item in re.split(r"[\s,]+", text.strip()):
        if item:
            found[_one(item)] = None
    if len(found) > MAX_ORIGINS:
        raise BadOrigin(f"at most {MAX_ORIGINS} origins")
    return tuple(found)


def _one(item: str) -> str:
    parts = urlsplit(item.strip().lower().rstrip("/"))
    try:
        port = parts.port
    except ValueError:
        raise BadOrigin(f"{item!r} has a bad port") from None
    host = (parts.hostname or "") if "[" not in parts.netloc else parts.netloc.split("]")[0] + "]"
    if (
        parts.scheme not in ("http", "https")
        or not _HOST.fullmatch(host)
        or parts.path
        or parts.query
        or parts.fragment
        or "@" in parts.netloc
    ):
        raise BadOrigin(f"{item!r} is not an origin like https://shop.example")
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def allows(listed: str | None, origin: str | None) -> bool:
    """Whether a page of ``origin`` may use a widget with this stored list (one
    origin a line; None or empty: every page). No origin (not a browser) is allowed."""
    if not listed or origin is None:
        return True
    try:
        given = _one(origin)
    except BadOrigin:
        return False  # "null" (sandboxed frames, files) and anything unreadable
    scheme, _, rest = given.partition("://")
    for allowed in listed.split("\n"):
        if allowed == given:
            return True
        wanted_scheme, _, wanted = allowed.partition("://")
        if wanted.startswith("*.") and wanted_scheme == scheme and rest.endswith(wanted[1:]):
            return True
    return False
