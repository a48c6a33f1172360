"""User tokens: HS256 JWTs signed with the widget's ``secret_key``.

Payload ``{"user_id": <host user id>, "exp": <unix>}``; ``exp`` is required, and
only HS256 is accepted, so ``alg: none`` and algorithm confusion are refused. Times
(``exp``, ``iat``, ``nbf``) are checked with a leeway for host sites whose clocks
drift a little.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from imbachat.errors import Unauthorized
from imbachat.numbers import as_id


def issue_user_token(secret_key: str, user_id: int, ttl_seconds: int = 86_400) -> str:
    payload = {"user_id": user_id, "exp": int(time.time()) + ttl_seconds}
    return jwt.encode(payload, secret_key, algorithm="HS256")


@dataclass(frozen=True, slots=True)
class UserToken:
    remote_user_id: int
    expires_at: float  # unix seconds, leeway included: a socket is closed after it


def verify_user_token(secret_key: str, token: str, leeway: float = 0.0) -> UserToken:
    """Who the token was issued for, and until when; raises Unauthorized otherwise."""
    token = token.strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    try:
        claims = jwt.decode(
            token,
            secret_key,
            algorithms=["HS256"],
            options={"require": ["exp", "user_id"]},
            leeway=leeway,
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The user token has expired; issue a new one.") from None
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"The user token is not valid: {exc}.") from None
    user_id = as_id(claims["user_id"])
    if user_id is None:
        raise Unauthorized("The user token's user_id must be a positive integer.")
    return UserToken(user_id, float(claims["exp"]) + leeway)
