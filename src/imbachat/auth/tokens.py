"""User tokens: HS256 JWTs signed with the widget's ``secret_key``.

Payload ``{"user_id": <host user id>, "exp": <unix>}``, signed by the host site; or,
for a guest (a visitor without an account), ``{"guest_id": <imbachat user id>,
"exp": <unix>}``, signed by this server when the guest is created. ``exp`` is
required, and only HS256 is accepted, so ``alg: none`` and algorithm confusion are
refused. Times (``exp``, ``iat``, ``nbf``) are checked with a leeway for host sites
whose clocks drift a little.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt

from imbachat.errors import Unauthorized
from imbachat.numbers import as_id


def issue_user_token(secret_key: str, user_id: int, ttl_seconds: int = 86_400) -> str:
    payload = {"user_id": user_id, "exp": int(time.time()) + ttl_seconds}
    return jwt.encode(payload, secret_key, algorithm="HS256")


GUEST_TOKEN_SECONDS = 90 * 86_400
GUEST_RENEWAL_SECONDS = 365 * 86_400  # how long after expiry a guest token still renews


def issue_guest_token(
    secret_key: str, guest_id: int, ttl_seconds: int = GUEST_TOKEN_SECONDS
) -> str:
    payload = {"guest_id": guest_id, "exp": int(time.time()) + ttl_seconds}
    return jwt.encode(payload, secret_key, algorithm="HS256")


@dataclass(frozen=True, slots=True)
class UserToken:
    """Who a token names: a host site's user (``remote_user_id``) or one of our
    guests (``guest_id``, imbachat's user id), and until when."""

    remote_user_id: int | None
    expires_at: float  # unix seconds, leeway included: a socket is closed after it
    guest_id: int | None = None


def verify_user_token(secret_key: str, token: str, leeway: float = 0.0) -> UserToken:
    """Who the token was issued for, and until when; raises Unauthorized otherwise."""
    claims = _decode(secret_key, token, {"leeway": leeway})
    if "guest_id" in claims and "user_id" not in claims:
        return UserToken(None, float(claims["exp"]) + leeway, _guest_id(claims))
    if "user_id" not in claims:
        raise Unauthorized('The user token is not valid: Token is missing the "user_id" claim.')
    user_id = as_id(claims["user_id"])
    if user_id is None:
        raise Unauthorized("The user token's user_id must be a positive integer.")
    return UserToken(user_id, float(claims["exp"]) + leeway)


def renewable_guest(secret_key: str, token: str, now: float) -> int:
    """The guest id of a guest token signed here, expired less than a year ago: the
    same visitor asking again for a token keeps their conversation."""
    claims = _decode(secret_key, token, {"options": {"verify_exp": False, "require": ["exp"]}})
    if float(claims["exp"]) < now - GUEST_RENEWAL_SECONDS:
        raise Unauthorized("The guest token is too old to renew; start over as a new guest.")
    return _guest_id(claims)


def _decode(secret_key: str, token: str, options: dict[str, Any]) -> dict[str, Any]:
    token = token.strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    checks: dict[str, Any] = {"options": {"require": ["exp"]}, **options}
    try:
        claims: dict[str, Any] = jwt.decode(token, secret_key, algorithms=["HS256"], **checks)
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The user token has expired; issue a new one.") from None
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"The user token is not valid: {exc}.") from None
    return claims


def _guest_id(claims: dict[str, Any]) -> int:
    guest_id = as_id(claims.get("guest_id"))
    if guest_id is None:
        raise Unauthorized("The guest token's guest_id must be a positive integer.")
    return guest_id
