"""v1 authentication: the widget owner's ``login`` and ``password`` (argon2 hashes).

Guessing is made slow and costly for the guesser, not for the server:

- failures are counted per (widget, login) and per client address over a window;
  beyond the limits the answer is 429 with ``Retry-After``, before any hashing;
- at most a few password checks run at once, in their own threads (argon2 takes
  64 MiB and about 100 ms each); beyond a short queue the answer is 429 at once;
- an unknown widget or login is checked against a stand-in hash, so every refusal
  costs the same time and says the same thing (no login enumeration).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.domain import Widget
from imbachat.errors import RateLimited, Unauthorized
from imbachat.store import widgets as widget_store
from imbachat.store.db import Database

_hasher = PasswordHasher()
MAX_WAITING_CHECKS = 8  # password checks queued behind the running ones


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class FailureCounter:
    """Failures per key within a sliding window; a key at its limit is refused until
    its oldest failure leaves the window."""

    def __init__(self, limit: int, window_seconds: float, clock: Clock) -> None:
        self._limit = limit
        self._window = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, key: str) -> int:
        """Seconds until ``key`` may try again (0: now)."""
        failures = self._failures.get(key)
        if failures is None:
            return 0
        now = self._clock.monotonic()
        while failures and failures[0] <= now - self._window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return 0
        if len(failures) < self._limit:
            return 0
        return max(1, int(failures[0] + self._window - now + 0.999))

    def failed(self, key: str) -> None:
        now = self._clock.monotonic()
        self._failures.setdefault(key, deque(maxlen=self._limit)).append(now)
        if len(self._failures) > 100_000:  # forget keys whose failures all expired
            horizon = now - self._window
            self._failures = {k: f for k, f in self._failures.items() if f and f[-1] > horizon}

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)


class OwnerAuthenticator:
    """Checks v1 credentials; a success is remembered briefly so argon2's deliberate
    cost is paid once per minute per client, not once per request."""

    def __init__(
        self,
        db: Database,
        cache_seconds: float,
        *,
        failures_per_login: int = 5,
        failures_per_address: int = 20,
        window_seconds: float = 900.0,
        concurrent_checks: int = 2,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._db = db
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._verified: dict[str, float] = {}
        self._by_login = FailureCounter(failures_per_login, window_seconds, clock)
        self._by_address = FailureCounter(failures_per_address, window_seconds, clock)
        self._threads = ThreadPoolExecutor(concurrent_checks, thread_name_prefix="password")
        self._running = asyncio.Semaphore(concurrent_checks)
        self._waiting = 0
        self._stand_in: str | None = None  # a hash to check unknown logins against

    async def authenticate(
        self, imba_id: int, login: str, password: str, address: str = ""
    ) -> Widget:
        refused = Unauthorized("Wrong login or password for this imba_id.")
        async with self._db.read() as conn:
            widget = await widget_store.get(conn, imba_id)
            owner = await widget_store.owner_of(conn, imba_id)
        owner_login, password_hash = owner if owner is not None else ("", "")
        known = widget is not None and owner is not None and login == owner_login
        cache_key = hashlib.sha256(
            f"{imba_id}\0{login}\0{password}\0{password_hash}".encode()
        ).hexdigest()
        now = self._clock.monotonic()
        if known and self._verified.get(cache_key, 0.0) > now:
            assert widget is not None
            return widget
        login_key = f"{imba_id}\0{login}"
        wait = max(self._by_login.retry_after(login_key), self._by_address.retry_after(address))
        if wait:
            raise RateLimited(f"Too many wrong passwords: try again in {wait} s.", retry_after=wait)
        matches = await self._check(password_hash if known else None, password)
        if not (known and matches):
            self._by_login.failed(login_key)
            self._by_address.failed(address)
            raise refused
        assert widget is not None
        self._by_login.forget(login_key)
        if len(self._verified) > 10_000:
            self._verified = {k: t for k, t in self._verified.items() if t > now}
        self._verified[cache_key] = now + self._cache_seconds
        return widget

    async def _check(self, password_hash: str | None, password: str) -> bool:
        """Verify in a password thread, a few at a time; ``password_hash`` None checks
        against the stand-in, so an unknown login costs what a known one does."""
        if self._waiting >= MAX_WAITING_CHECKS:
            raise RateLimited("Too many sign-ins at once: try again in a second.", retry_after=1)
        self._waiting += 1
        try:
            async with self._running:
                loop = asyncio.get_running_loop()
                if password_hash is None:
                    if self._stand_in is None:
                        self._stand_in = await loop.run_in_executor(
                            self._threads, hash_password, secrets.token_urlsafe(16)
                        )
                    password_hash = self._stand_in
                    await loop.run_in_executor(
                        self._threads, password_matches, password_hash, password
                    )
                    return False
                return await loop.run_in_executor(
                    self._threads, password_matches, password_hash, password
                )
        finally:
            self._waiting -= 1

    def close(self) -> None:
        self._threads.shutdown(wait=False)
