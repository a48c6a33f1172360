"""The host site's Users info URL (SPEC §7): names, avatars and roles of its users;
and its optional Users search URL: who is called this.

The comma-separated ids are appended to the configured URL (or replace ``{ids}``
in it), so both ``https://site/users.php?user_ids=`` and the WordPress plugin's
``https://site/wp-json/imbachat/v1/getusers/`` work unchanged. A search appends the
URL-encoded text the same way (or fills ``{text}``), as the plugin's
``searchusers/{text}`` expects. Answers are validated field by field; anything
unusable is dropped, never trusted.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from imbachat import metrics
from imbachat.domain import Profile, Widget
from imbachat.numbers import as_id
from imbachat.states import UserStatus

log = logging.getLogger(__name__)

BATCH_SIZE = 100
MAX_FOUND = 50  # entries of a search answer that are looked at
MAX_ANSWER_BYTES = 2 * 1024 * 1024
_KNOWN_KEYS = {"user_id", "name", "avatar_url", "chat_role"}
_STATUSES = {status.value: status for status in UserStatus}


class HostSiteError(Exception):
    """The host site answered, but not with a usable 200."""


def users_info_url(template: str, remote_ids: list[int]) -> str:
    ids = ",".join(str(remote_id) for remote_id in remote_ids)
    return template.replace("{ids}", ids) if "{ids}" in template else template + ids


def users_search_url(template: str, text: str) -> str:
    quoted = quote(text, safe="")
    return template.replace("{text}", quoted) if "{text}" in template else template + quoted


def _web_url(value: Any) -> str | None:
    """Only http(s) URLs are kept: a ``javascript:`` avatar must never reach a page."""
    if (
        isinstance(value, str)
        and value.startswith(("https://", "http://"))
        and len(value) <= 2048
        and "\x00" not in value
    ):
        return value
    return None


def parse_profiles(body: bytes, asked: set[int] | None) -> list[Profile]:
    """The usable entries of a host answer; entries for ids not asked are ignored
    (``asked`` None: a search, any id is an answer)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        log.warning("users info URL answered something that is not JSON")
        return []
    if not isinstance(document, list):
        log.warning("users info URL answered JSON that is not an array")
        return []
    profiles: list[Profile] = []
    for entry in document:
        if not isinstance(entry, dict):
            continue
        raw_id, name = as_id(entry.get("user_id")), entry.get("name")
        if raw_id is None:
            continue
        if asked is not None and raw_id not in asked:
            continue
        if not isinstance(name, str) or not name.strip():
            continue
        role = entry.get("chat_role")
        extra = {key: value for key, value in entry.items() if key not in _KNOWN_KEYS}
        if "profile_url" in extra:
            extra["profile_url"] = _web_url(extra["profile_url"])
        profiles.append(
            Profile(
                remote_user_id=raw_id,
                name=name.replace("\x00", "").strip()[:255],
                avatar_url=_web_url(entry.get("avatar_url")),
                status=_STATUSES.get(role) if isinstance(role, str) else None,
                extra=extra,
            )
        )
    return profiles


class HostSite:
    """HTTP client of the host sites; one per process."""

    def __init__(self, timeout_seconds: float = 3.0) -> None:
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds), follow_redirects=False
        )

    async def fetch_profiles(self, widget: Widget, remote_ids: list[int]) -> list[Profile]:
        """Profiles for the ids, asked in batches; [] when the site is not configured."""
        if not widget.users_info_url or not remote_ids:
            return []
        auth = self._auth(widget)
        profiles: list[Profile] = []
        for start in range(0, len(remote_ids), BATCH_SIZE):
            batch = remote_ids[start : start + BATCH_SIZE]
            body = await self._fetch("GET", users_info_url(widget.users_info_url, batch), auth)
            profiles += parse_profiles(body, set(batch))
        return profiles

    async def search_users(self, widget: Widget, text: str) -> list[Profile]:
        """Who the host site finds for ``text``; [] when it has no Users search URL.
        A POST, as the WordPress plugin's ``searchusers/{text}`` route expects."""
        if not widget.users_search_url:
            return []
        url = users_search_url(widget.users_search_url, text)
        body = await self._fetch("POST", url, self._auth(widget))
        return parse_profiles(body, None)[:MAX_FOUND]

    def _auth(self, widget: Widget) -> httpx.Auth | None:
        if widget.api_login is None:
            return None
        return httpx.BasicAuth(widget.api_login, widget.api_password or "")

    async def _fetch(self, method: str, url: str, auth: httpx.Auth | None) -> bytes:
        """The answer's body; HostSiteError when it is not a 200 or is too large."""
        outcome = "error"
        try:
            async with self._client.stream(method, url, auth=auth) as response:
                if response.status_code != 200:
                    raise HostSiteError(f"HTTP {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_ANSWER_BYTES:
                        raise HostSiteError(f"an answer over {MAX_ANSWER_BYTES} bytes")
                outcome = "ok"
                return bytes(body)
        finally:
            metrics.HOST_SITE_CALLS.labels(outcome).inc()

    async def close(self) -> None:
        await self._client.aclose()
