"""The one error hierarchy of imbachat.

Every layer raises these; the HTTP edge maps them once to the ImbaChat error
envelope ``{"code", "message", "errors"}`` with the same HTTP status.
"""

from __future__ import annotations


class ImbaError(Exception):
    """Base of every error a client may see."""

    status: int = 400

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        reason: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errors: dict[str, list[str]] = {field: [reason or message]} if field else {}
        self.headers = headers or {}


class Invalid(ImbaError):
    """A parameter is missing or has a wrong type or value."""

    status = 422


class Unauthorized(ImbaError):
    """Credentials are missing or wrong."""

    status = 401


class Forbidden(ImbaError):
    """The caller is known but may not do this."""

    status = 403


class NotFound(ImbaError):
    """The room, user or message does not exist for this widget."""

    status = 404


class Conflict(ImbaError):
    """The change clashes with existing state (e.g. a duplicate id)."""

    status = 409


class TooLarge(ImbaError):
    """A field or the whole request exceeds its size limit."""

    status = 413


class Unsupported(ImbaError):
    """A file of a type this widget does not take."""

    status = 415


class RateLimited(ImbaError):
    """Too many requests; retry after the given number of seconds."""

    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


def missing(field: str) -> Invalid:
    return Invalid(f"The {field} parameter is required.", field=field, reason="required")
