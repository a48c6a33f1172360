"""Widgets (tenants) and their owner accounts."""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass

from imbachat import origins
from imbachat.auth.owner import hash_password, password_matches
from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.domain import Widget
from imbachat.errors import Conflict, Invalid, NotFound
from imbachat.files.kinds import NO_FILES, Category, parse_categories
from imbachat.mail.digest import LANGUAGES
from imbachat.store import widgets as widget_store
from imbachat.store.db import Database
from imbachat.urls import web_url

RECENT_SECONDS = 2.0
THEMES = ("auto", "light", "dark")
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


def new_secret_key() -> str:
    """About 256 bits of randomness, URL- and header-safe.

    Never starts with "-", so it can be pasted after a command-line option."""
    while (key := secrets.token_urlsafe(32)).startswith("-"):
        pass
    return key


MAX_AWAY_SECONDS = 7 * 86_400
MAX_RETENTION_DAYS = 100 * 366


@dataclass(frozen=True, slots=True)
class WidgetSettings:
    """Settings an owner may change; None leaves one as it is, "" clears a URL."""

    users_info_url: str | None = None
    users_search_url: str | None = None
    api_login: str | None = None
    api_password: str | None = None
    guests_enabled: bool | None = None
    guests_write_public: bool | None = None
    theme: str | None = None
    accent_color: str | None = None
    file_types: str | None = None  # categories, comma-separated; "none"; "" the default
    files_quota_bytes: int | None = None  # 0: the server's default
    notify_sound: bool | None = None
    away_notify_seconds: int | None = None  # 0: the server's default
    email_link_url: str | None = None  # "" clears it
    language: str | None = None  # of the widget's e-mails
    allowed_origins: str | None = None  # origins, by lines or commas; "" allows any page
    retention_days: int | None = None  # 0: messages are kept for ever

    def checked(self) -> dict[str, object]:
        """The columns to write."""
        values: dict[str, object] = {}
        for field in ("users_info_url", "users_search_url"):
            url = getattr(self, field)
            if url is not None:
                values[field] = web_url(url, field) if url else None
        if self.api_login is not None:
            values["api_login"] = _api_login(self.api_login) or None
        if self.api_password is not None:
            values["api_password"] = self.api_password or None
        if self.email_link_url is not None:
            link = self.email_link_url.replace("{room_id}", "1")
            if self.email_link_url:
                web_url(link, "email_link_url")  # checked with a room id in it
            values["email_link_url"] = self.email_link_url or None
        if self.allowed_origins is not None:
            try:
                pages = origins.parse(self.allowed_origins)
            except origins.BadOrigin as exc:
                raise Invalid(f"allowed_origins: {exc}.", field="allowed_origins") from None
            values["allowed_origins"] = "\n".join(pages) or None
        if self.language is not None:
            if self.language not in LANGUAGES:
                raise Invalid(f"language is one of {', '.join(LANGUAGES)}.", field="language")
            values["language"] = self.language
        if self.away_notify_seconds is not None:
            if not 0 <= self.away_notify_seconds <= MAX_AWAY_SECONDS:
                raise Invalid(
                    f"away_notify_seconds is from 0 (the default) to {MAX_AWAY_SECONDS}.",
                    field="away_notify_seconds",
                )
            values["away_notify_seconds"] = self.away_notify_seconds or None
        if self.retention_days is not None:
            if not 0 <= self.retention_days <= MAX_RETENTION_DAYS:
                raise Invalid(
                    f"retention_days is from 1 to {MAX_RETENTION_DAYS}, or 0 to keep messages.",
                    field="retention_days",
                )
            values["retention_days"] = self.retention_days or None
        for flag in ("guests_enabled", "guests_write_public", "notify_sound"):
            if getattr(self, flag) is not None:
                values[flag] = getattr(self, flag)
        if self.theme is not None:
            if self.theme not in THEMES:
                raise Invalid(f"theme is one of {', '.join(THEMES)}.", field="theme")
            values["theme"] = self.theme
        if self.accent_color is not None:
            if self.accent_color and not _COLOR.fullmatch(self.accent_color):
                raise Invalid("accent_color is a colour as #rrggbb.", field="accent_color")
            values["accent_color"] = self.accent_color.lower() or None
        if self.file_types is not None:
            try:
                chosen = parse_categories(self.file_types)
            except ValueError as exc:
                raise Invalid(str(exc), field="file_types") from None
            listed = ",".join(c.value for c in Category if c in chosen) or NO_FILES
            values["file_types"] = listed if self.file_types.strip() else None
        if self.files_quota_bytes is not None:
            if self.files_quota_bytes < 0:
                raise Invalid(
                    "files_quota_bytes is 0 (the default) or more.", field="files_quota_bytes"
                )
            values["files_quota_bytes"] = self.files_quota_bytes or None
        return values


def _api_login(login: str) -> str:
    # The WordPress plugin lowercases the login it receives before comparing it with
    # its own setting: with capitals in it, the two could never match.
    if login != login.lower():
        raise Invalid(
            "api_login must be lowercase: the WordPress plugin lowercases the login it "
            "receives before comparing it.",
            field="api_login",
        )
    return login


@dataclass(frozen=True, slots=True)
class NewWidget:
    login: str
    password: str
    imba_id: int | None = None
    secret_key: str | None = None
    users_info_url: str | None = None
    users_search_url: str | None = None
    api_login: str | None = None
    api_password: str | None = None
    guests_enabled: bool = True
    guests_write_public: bool = False


class WidgetService:
    def __init__(self, db: Database, clock: Clock = SYSTEM_CLOCK) -> None:
        self._db = db
        self._clock = clock
        self._recent: dict[int, tuple[float, Widget]] = {}
        self._reading: dict[int, asyncio.Future[Widget]] = {}

    async def create(self, spec: NewWidget) -> Widget:
        """Create a widget and, unless the login exists, its owner account.

        An existing login may own several widgets, but only with its own password.
        """
        if not spec.login.strip() or not spec.password:
            raise Invalid("login and password must not be empty.", field="login")
        if spec.imba_id is not None and spec.imba_id < 1:
            raise Invalid("imba_id must be a positive integer.", field="imba_id")
        if spec.secret_key is not None and len(spec.secret_key) < 16:
            raise Invalid("secret_key must be at least 16 characters.", field="secret_key")
        for field, url in (
            ("users_info_url", spec.users_info_url),
            ("users_search_url", spec.users_search_url),
        ):
            if url is not None:
                web_url(url, field)
        if spec.api_login is not None:
            _api_login(spec.api_login)
        password_hash = await asyncio.to_thread(hash_password, spec.password)
        now = self._clock.now()
        async with self._db.write() as conn:
            imba_id = spec.imba_id or await widget_store.next_imba_id(conn)
            if await widget_store.get(conn, imba_id) is not None:
                raise Conflict(f"A widget with imba_id {imba_id} already exists.", field="imba_id")
            owner = await widget_store.owner_by_login(conn, spec.login)
            if owner is None:
                owner_id = await widget_store.insert_owner(conn, spec.login, password_hash, now)
            elif password_matches(owner[1], spec.password):
                owner_id = owner[0]
            else:
                raise Conflict(
                    f"The login {spec.login!r} exists with another password.", field="login"
                )
            return await widget_store.insert(
                conn,
                imba_id=imba_id,
                owner_id=owner_id,
                secret_key=spec.secret_key or new_secret_key(),
                users_info_url=spec.users_info_url,
                users_search_url=spec.users_search_url,
                api_login=spec.api_login,
                api_password=spec.api_password,
                now=now,
                guests_enabled=spec.guests_enabled,
                guests_write_public=spec.guests_write_public,
            )

    async def get(self, imba_id: int) -> Widget:
        async with self._db.read() as conn:
            widget = await widget_store.get(conn, imba_id)
        if widget is None:
            raise NotFound(f"No widget with imba_id {imba_id}.", field="imba_id")
        return widget

    async def recent(self, imba_id: int) -> Widget:
        """The widget as read at most RECENT_SECONDS ago, so authenticating each REST
        call costs no query; one read at a time per widget. A secret rotated on
        another node or by the CLI is refused here within RECENT_SECONDS."""
        cached = self._recent.get(imba_id)
        if cached is not None and cached[0] > self._clock.monotonic():
            return cached[1]
        reading = self._reading.get(imba_id)
        if reading is None:
            reading = asyncio.ensure_future(self._read_recent(imba_id))
            self._reading[imba_id] = reading
            reading.add_done_callback(lambda _: self._reading.pop(imba_id, None))
        return await asyncio.shield(reading)

    def forget(self, imba_id: int) -> None:
        """The widget changed here: the next :meth:`recent` reads it again."""
        self._recent.pop(imba_id, None)

    async def _read_recent(self, imba_id: int) -> Widget:
        widget = await self.get(imba_id)
        self._recent[imba_id] = (self._clock.monotonic() + RECENT_SECONDS, widget)
        return widget

    async def list(self) -> list[tuple[Widget, str]]:
        """Every widget with its owner's login."""
        async with self._db.read() as conn:
            return await widget_store.list_all(conn)

    async def update(self, imba_id: int, settings: WidgetSettings) -> Widget:
        """Change some of the widget's settings."""
        values = settings.checked()
        async with self._db.write() as conn:
            if await widget_store.get(conn, imba_id) is None:
                raise NotFound(f"No widget with imba_id {imba_id}.", field="imba_id")
            if values:
                await widget_store.set_settings(conn, imba_id, self._clock.now(), **values)
            widget = await widget_store.get(conn, imba_id)
        assert widget is not None
        self.forget(imba_id)
        return widget

    async def rotate_secret(self, imba_id: int, secret_key: str | None = None) -> Widget:
        """Replace the secret key; tokens signed with the old one stop working."""
        async with self._db.write() as conn:
            if await widget_store.get(conn, imba_id) is None:
                raise NotFound(f"No widget with imba_id {imba_id}.", field="imba_id")
            await widget_store.set_secret(
                conn, imba_id, secret_key or new_secret_key(), self._clock.now()
            )
            widget = await widget_store.get(conn, imba_id)
        assert widget is not None
        self.forget(imba_id)  # sockets with the old secret close at the next check
        return widget
