"""A minimal HTTP/1.1 keep-alive client for the load generator.

httpx spends more CPU per request than the server under test does, and the load
generator shares the server's two cores; this client writes a form POST and reads
the response (Content-Length bodies only, which is all imbachat sends), nothing more.
"""

from __future__ import annotations

import asyncio
import base64
from urllib.parse import urlencode, urlsplit


class RestPool:
    def __init__(self, base_url: str, user: str, password: str, size: int = 64) -> None:
        parts = urlsplit(base_url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
        self._headers = (
            f"Host: {self._host}:{self._port}\r\nAuthorization: Basic {credentials}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
        )
        self._idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )
        self._opened = 0
        self._size = size

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._idle.empty() and self._opened < self._size:
            self._opened += 1
            try:
                return await asyncio.open_connection(self._host, self._port)
            except OSError:
                self._opened -= 1
                raise
        return await self._idle.get()

    async def post_form(self, path: str, form: dict[str, object]) -> tuple[int, bytes]:
        """POST the form; returns the status and the body."""
        body = urlencode(form).encode()
        head = f"POST {path} HTTP/1.1\r\n{self._headers}Content-Length: {len(body)}\r\n\r\n"
        reader, writer = await self._connection()
        try:
            writer.write(head.encode() + body)
            header = await reader.readuntil(b"\r\n\r\n")
            status = int(header[9:12])
            length = 0
            for line in header.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            answer = await reader.readexactly(length)
        except BaseException:
            writer.close()
            self._opened -= 1
            raise
        self._idle.put_nowait((reader, writer))
        return status, answer

    async def close(self) -> None:
        while not self._idle.empty():
            _, writer = self._idle.get_nowait()
            writer.close()
