"""v1 authentication: the widget owner's ``login`` and ``password`` (argon2 hashes)."""

from __future__ import annotations

import asyncio
import hashlib
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from imbachat.domain import Widget
from imbachat.errors import Unauthorized
from imbachat.store import widgets as widget_store
from imbachat.store.db import Database

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class OwnerAuthenticator:
    """Checks v1 credentials; a success is remembered briefly so argon2's deliberate
    cost is paid once per minute per client, not once per request."""

    def __init__(self, db: Database, cache_seconds: float) -> None:
        self._db = db
        self._cache_seconds = cache_seconds
        self._verified: dict[str, float] = {}

    async def authenticate(self, imba_id: int, login: str, password: str) -> Widget:
        refused = Unauthorized("Wrong login or password for this imba_id.")
        async with self._db.read() as conn:
            widget = await widget_store.get(conn, imba_id)
            owner = await widget_store.owner_of(conn, imba_id)
        if widget is None or owner is None:
            raise refused
        owner_login, password_hash = owner
        key = hashlib.sha256(
            f"{imba_id}\0{login}\0{password}\0{password_hash}".encode()
        ).hexdigest()
        now = time.monotonic()
        if self._verified.get(key, 0.0) > now:
            return widget
        ok = login == owner_login and await asyncio.to_thread(
            password_matches, password_hash, password
        )
        if not ok:
            raise refused
        if len(self._verified) > 10_000:
            self._verified = {k: t for k, t in self._verified.items() if t > now}
        self._verified[key] = now + self._cache_seconds
        return widget
