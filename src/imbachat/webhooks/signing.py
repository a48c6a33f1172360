"""Webhook signatures: ``sha256=`` + hex HMAC-SHA256 of ``{timestamp}.{body}``.

The request headers are defined here and only here (docs/webhooks.md shows how a
receiver verifies them in Python and PHP).
"""

from __future__ import annotations

import hashlib
import hmac

from imbachat.numbers import parse_int

SIGNATURE_PREFIX = "sha256="


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SIGNATURE_PREFIX + digest.hexdigest()


def headers(
    event: str, delivery_id: str, timestamp: int, secret: str, body: bytes
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "imbachat-webhooks/1",
        "X-ImbaChat-Event": event,
        "X-ImbaChat-Delivery": delivery_id,
        "X-ImbaChat-Timestamp": str(timestamp),
        "X-ImbaChat-Signature": signature(secret, timestamp, body),
    }


def verify(secret: str, timestamp: str, body: bytes, given: str, tolerance: int, now: int) -> bool:
    """What a receiver does: same HMAC, constant-time compare, recent timestamp."""
    sent_at = parse_int(timestamp)
    if sent_at is None or abs(now - sent_at) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, sent_at, body), given)
