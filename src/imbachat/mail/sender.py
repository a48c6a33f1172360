"""SMTP through aiosmtplib: ``smtp://[user:password@]host[:port]`` (STARTTLS when
the server offers it), ``smtps://`` for TLS from the start."""

from __future__ import annotations

import asyncio
import logging
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib

log = logging.getLogger(__name__)


class Mailer:
    def __init__(self, url: str, sender: str, timeout: float = 20.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"IMBACHAT_SMTP_URL must look like smtp://host:25, not {url!r}")
        if not sender:
            raise ValueError("IMBACHAT_EMAIL_FROM is needed with IMBACHAT_SMTP_URL")
        self.sender = sender
        self._options: dict[str, Any] = {
            "hostname": parts.hostname,
            "port": parts.port or (465 if parts.scheme == "smtps" else 25),
            "username": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None,
            "use_tls": parts.scheme == "smtps",
            "start_tls": None,  # when the server offers it
            "timeout": timeout,
        }

    async def send(self, message: EmailMessage, attempts: int = 3) -> bool:
        """Send, retrying a refused or broken connection a few times; False if it
        never went (logged: mail is not worth failing the chat for)."""
        message["From"] = self.sender
        for attempt in range(1, attempts + 1):
            try:
                await aiosmtplib.send(message, **self._options)
                return True
            except (aiosmtplib.SMTPException, OSError) as exc:
                log.warning("e-mail to %s failed (try %d): %r", message["To"], attempt, exc)
                await asyncio.sleep(2**attempt)
        return False
