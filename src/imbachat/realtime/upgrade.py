"""The HTTP side of a WebSocket handshake (RFC 6455 §4.2): reading the upgrade
request uvicorn hands over, checking it, and the answer's accept key."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
from typing import Any
from urllib.parse import parse_qsl, unquote

from uvicorn.config import Config

_ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
MAX_REQUEST_LINE = 8192


def request_path(request: bytes) -> str | None:
    line = request[: request.find(b"\r\n")]
    parts = line.split(b" ")
    if len(parts) != 3 or len(line) > MAX_REQUEST_LINE:
        return None
    return unquote(parts[1].partition(b"?")[0].decode("latin-1"))


class HandshakeRefused(Exception):
    def __init__(self, status: int, phrase: str, body: str, headers: bytes = b"") -> None:
        super().__init__(body)
        self.response = (
            f"HTTP/1.1 {status} {phrase}\r\n".encode()
            + headers
            + b"Content-Type: text/plain; charset=utf-8\r\n"
            + f"Content-Length: {len(body.encode())}\r\nConnection: close\r\n\r\n{body}".encode()
        )


def read_request(request: bytes) -> tuple[str, dict[str, str], dict[str, str], bytes]:
    """The target (path and query, as sent), the query, the headers (lower-case
    names; repeats joined with ", ") and the socket's bytes after the request.
    Raises HandshakeRefused."""
    head, found, rest = request.partition(b"\r\n\r\n")
    if not found:
        raise HandshakeRefused(400, "Bad Request", "Incomplete request.")
    lines = head.decode("latin-1").split("\r\n")
    if len(lines[0]) > MAX_REQUEST_LINE:
        raise HandshakeRefused(414, "URI Too Long", "The request line is too long.")
    method, _, target = lines[0].partition(" ")
    target = target.rpartition(" ")[0]
    if method != "GET":
        raise HandshakeRefused(400, "Bad Request", "A WebSocket handshake is a GET request.")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    query = dict(parse_qsl(target.partition("?")[2], keep_blank_values=True))
    return target, query, headers, rest


def accept_key(headers: dict[str, str]) -> bytes:
    """The Sec-WebSocket-Accept of a valid handshake; raises HandshakeRefused."""
    upgrade = {token.strip().lower() for token in headers.get("upgrade", "").split(",")}
    connection = {token.strip().lower() for token in headers.get("connection", "").split(",")}
    if "websocket" not in upgrade or "upgrade" not in connection:
        raise HandshakeRefused(426, "Upgrade Required", "Upgrade to a WebSocket.")
    if headers.get("sec-websocket-version") != "13":
        raise HandshakeRefused(
            426, "Upgrade Required", "WebSocket version 13 only.", b"Sec-WebSocket-Version: 13\r\n"
        )
    key = headers.get("sec-websocket-key", "")
    try:
        valid = key.isascii() and len(base64.b64decode(key, validate=True)) == 16
    except (binascii.Error, ValueError):
        valid = False
    if not valid:
        raise HandshakeRefused(400, "Bad Request", "Invalid Sec-WebSocket-Key header.")
    return base64.b64encode(
        hashlib.sha1(key.encode() + _ACCEPT_GUID, usedforsecurity=False).digest()
    )


@functools.lru_cache(maxsize=8)
def _trusted_proxies(allowed: str) -> Any:
    from uvicorn.middleware.proxy_headers import _TrustedHosts

    return _TrustedHosts(allowed)


def client_host_of(config: Config, peer: str, headers: dict[str, str]) -> str:
    """The client's address, from X-Forwarded-For when a trusted proxy sent it, as
    uvicorn's proxy-headers middleware finds it for HTTP requests."""
    forwarded = headers.get("x-forwarded-for")
    if not config.proxy_headers or not forwarded:
        return peer
    allowed = config.forwarded_allow_ips
    trusted = _trusted_proxies(allowed if isinstance(allowed, str) else ",".join(allowed))
    if peer not in trusted:
        return peer
    try:
        host = trusted.get_trusted_client_address(forwarded)[0]
    except ValueError:  # not a list of addresses
        return peer
    return str(host) if host else peer  # as uvicorn: an empty entry changes nothing
