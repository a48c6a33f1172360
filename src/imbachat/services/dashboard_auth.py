"""Who is signed in to the owner's dashboard.

A sign-in checks the owner's login and password with the same authenticator as the
v1 API (so the same throttling), then opens a session: a random token in a cookie,
signed with the server's dashboard key, and a row holding the token's SHA-256 (so
sign-out ends it everywhere, and a copy of the database signs nobody in). A server
operator can make a one-time sign-in link from the CLI: single use, short-lived.

The key is IMBACHAT_DASHBOARD_SECRET when set; otherwise one made at first use and
kept in the database, so restarts and every node share it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from imbachat.auth.owner import OwnerAuthenticator
from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.domain import Widget
from imbachat.errors import NotFound, Unauthorized
from imbachat.store import dashboard as dashboard_store
from imbachat.store import widgets as widget_store
from imbachat.store.db import Database

KEY_NAME = "dashboard"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Signer:
    """HMAC-SHA256 with the dashboard key; each purpose signs apart, so a signature
    made for one thing (a CSRF token) is never accepted for another (a session)."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def sign(self, purpose: str, value: str) -> str:
        mac = hmac.new(self._key, f"{purpose}\0{value}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def verify(self, purpose: str, value: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(purpose, value), signature)


@dataclass(frozen=True, slots=True)
class OwnerSession:
    token: str  # the cookie's random part (its digest is the row's id)
    owner_id: int
    login: str
    via_link: bool

    @property
    def actor(self) -> str:
        """Who the audit log says did it."""
        return f"owner {self.login}" + (" (sign-in link)" if self.via_link else "")


class DashboardAuth:
    def __init__(
        self,
        db: Database,
        owners: OwnerAuthenticator,
        *,
        secret: str = "",
        session_seconds: float = 43_200,
        link_seconds: float = 900,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._db = db
        self._owners = owners
        self._secret = secret
        self._session_seconds = session_seconds
        self._link_seconds = link_seconds
        self._clock = clock
        self._signer: Signer | None = None

    async def signer(self) -> Signer:
        if self._signer is None:
            if self._secret:
                key = self._secret
            else:
                async with self._db.write() as conn:
                    key = await dashboard_store.server_key(
                        conn, KEY_NAME, secrets.token_urlsafe(32), self._clock.now()
                    )
            self._signer = Signer(key.encode())
        return self._signer

    async def sign_in(
        self, imba_id: int, login: str, password: str, address: str
    ) -> tuple[str, Widget]:
        """A session for the widget's owner (the signed cookie value), or Unauthorized
        / RateLimited exactly as the v1 API answers wrong passwords."""
        widget = await self._owners.authenticate(imba_id, login, password, address)
        return await self._open(widget.owner_id, login, via_link=False), widget

    async def create_link(self, imba_id: int) -> str:
        """A one-time sign-in token for the owner of ``imba_id``."""
        token = secrets.token_urlsafe(32)
        now = self._clock.now()
        async with self._db.write() as conn:
            if await widget_store.get(conn, imba_id) is None:
                raise NotFound(f"No widget with imba_id {imba_id}.", field="imba_id")
            await dashboard_store.add_link(
                conn, _digest(token), imba_id, now, now + timedelta(seconds=self._link_seconds)
            )
        return token

    @property
    def link_minutes(self) -> int:
        return max(1, round(self._link_seconds / 60))

    async def redeem_link(self, token: str) -> tuple[str, int]:
        """Use up a sign-in link: a session for its widget's owner, and the widget."""
        refused = Unauthorized("This sign-in link is used up or expired: ask for a new one.")
        now = self._clock.now()
        async with self._db.write() as conn:
            imba_id = await dashboard_store.use_link(conn, _digest(token[:200]), now)
            owner = await widget_store.owner_of(conn, imba_id) if imba_id else None
            widget = await widget_store.get(conn, imba_id) if imba_id else None
        if imba_id is None or owner is None or widget is None:
            raise refused
        return await self._open(widget.owner_id, owner[0], via_link=True), imba_id

    async def _open(self, owner_id: int, login: str, *, via_link: bool) -> str:
        token = secrets.token_urlsafe(32)
        now = self._clock.now()
        expires = now + timedelta(seconds=self._session_seconds)
        async with self._db.write() as conn:
            await dashboard_store.add_session(
                conn, _digest(token), owner_id, login, via_link, now, expires
            )
        return f"{token}.{(await self.signer()).sign('session', token)}"

    async def session(self, cookie: str | None) -> OwnerSession | None:
        """The live session a cookie names, or None (unsigned, forged, ended, expired)."""
        if not cookie or "." not in cookie or len(cookie) > 200:
            return None
        token, signature = cookie.rsplit(".", 1)
        if not (await self.signer()).verify("session", token, signature):
            return None  # forged: no database read for it
        async with self._db.read() as conn:
            found = await dashboard_store.session(conn, _digest(token), self._clock.now())
        return OwnerSession(token, *found) if found else None

    async def sign_out(self, session: OwnerSession) -> None:
        async with self._db.write() as conn:
            await dashboard_store.end_session(conn, _digest(session.token))

    async def widgets(self, session: OwnerSession) -> list[Widget]:
        async with self._db.read() as conn:
            return await dashboard_store.widgets_of_owner(conn, session.owner_id)

    async def widget(self, session: OwnerSession, imba_id: int) -> Widget:
        """The widget if this owner's; another owner's is as unknown as a missing one."""
        async with self._db.read() as conn:
            widget = await widget_store.get(conn, imba_id)
        if widget is None or widget.owner_id != session.owner_id:
            raise NotFound(f"No widget with imba_id {imba_id}.")
        return widget
