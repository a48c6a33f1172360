"""URLs we send requests to (webhooks, the host site's Users info and search URLs):
checked whole when they are given, so a delivery never fails on a URL's shape, and
optionally refused when they point inside the server's own network."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from imbachat.errors import Invalid

MAX_URL_LENGTH = 2048


def web_url(value: str, field: str) -> str:
    """``value`` if it is an absolute http(s) URL with a host and a valid port, at
    most 2048 characters, without spaces or control characters; Invalid otherwise."""
    problem = _problem(value)
    if problem is not None:
        raise Invalid(f"{field} {problem}.", field=field, reason=problem)
    return value


def _problem(value: str) -> str | None:
    if len(value) > MAX_URL_LENGTH:
        return f"must be at most {MAX_URL_LENGTH} characters"
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in value):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(value)
        port = parts.port  # raises for a port that is not a number from 0 to 65535
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return "must be an http(s) URL"
    if not parts.hostname:
        return "must name a host"
    if port == 0:
        return "must have a port from 1 to 65535"
    return None


def _internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


async def internal_target(url: str) -> str | None:
    """Why ``url`` points inside the server's network (loopback, private, link-local
    or reserved addresses, as written or as its host name resolves), or None."""
    host = urlsplit(url).hostname or ""
    try:
        return f"{host} is an internal address" if _internal(host) else None
    except ValueError:
        pass  # a name, not an address: resolve it
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"{host} does not resolve ({exc.strerror or exc})"
    for *_, sockaddr in infos:
        if _internal(str(sockaddr[0])):
            return f"{host} resolves to the internal address {sockaddr[0]}"
    return None
