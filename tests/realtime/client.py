"""A WebSocket chat client for tests: connects as a user, buffers every frame."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

_client_ids = itertools.count(1)


class ChatClient:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self._unread = 0  # index of the first frame not yet taken by next()
        self._arrived = asyncio.Event()
        self._reader = asyncio.create_task(self._read())
        self.ready: dict[str, Any] = {}
        self.closed_with: int | None = None

    @classmethod
    async def connect(
        cls,
        ws_url: str,
        imba_id: int,
        token: str,
        *,
        first_frame_auth: bool = False,
        resume: dict[int, int] | None = None,
        **kw: Any,
    ) -> ChatClient:
        """Connect (resuming from ``resume`` positions, if given) and wait for ``ready``."""
        url = f"{ws_url}/imbachat/v1/{imba_id}/ws"
        if not first_frame_auth:
            url += f"?token={token}"
            if resume:
                url += "&resume=" + ",".join(f"{room}:{seq}" for room, seq in resume.items())
        ws = await websockets.connect(url, open_timeout=10, **kw)
        client = cls(ws)
        if first_frame_auth:
            await client.send_frame({"type": "auth", "token": token, "resume": resume or {}})
        client.ready = await client.next("ready")
        return client

    @classmethod
    async def connect_url(cls, url: str, **kw: Any) -> ChatClient:
        """Connect to a full socket URL (query included) and wait for ``ready``."""
        client = cls(await websockets.connect(url, open_timeout=10, **kw))
        client.ready = await client.next("ready")
        return client

    @staticmethod
    async def closed_code(ws_url: str, imba_id: int, token: str) -> int | None:
        """The code a socket with this token is closed with (None: it was let in)."""
        url = f"{ws_url}/imbachat/v1/{imba_id}/ws?token={token}"
        async with websockets.connect(url, open_timeout=10) as ws:
            try:
                while True:
                    if json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "ready":
                        return None
            except websockets.ConnectionClosed:
                return ws.close_code

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                self.frames.append(json.loads(raw))
                self._arrived.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed_with = self.ws.close_code
            self._arrived.set()

    async def send_frame(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def next(
        self, kind: str | None = None, timeout: float = 5.0, **match: Any
    ) -> dict[str, Any]:
        """The next frame (of ``kind``, with fields equal to ``match``) not taken yet;
        frames skipped on the way stay available in ``frames``."""
        deadline = time.monotonic() + timeout
        while True:
            for index in range(self._unread, len(self.frames)):
                frame = self.frames[index]
                if (kind is None or frame["type"] == kind) and all(
                    frame.get(k) == v for k, v in match.items()
                ):
                    self.frames.pop(index)
                    return frame
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self._reader.done() and not self._pending(kind, match)):
                seen = [f["type"] for f in self.frames]
                raise AssertionError(
                    f"no {kind or 'frame'} {match or ''} within {timeout}s; have {seen}"
                )
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    async def until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait, frame by frame, until ``condition()`` holds."""
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"condition not met within {timeout}s")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    def _pending(self, kind: str | None, match: dict[str, Any]) -> bool:
        return any(
            (kind is None or f["type"] == kind) and all(f.get(k) == v for k, v in match.items())
            for f in self.frames
        )

    def taken_none(self, kind: str, **match: Any) -> bool:
        """True when no frame of that kind (and fields) has arrived."""
        return not self._pending(kind, match)

    async def send(
        self, room_id: int, text: str, client_id: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """Send a message and wait for its ack; returns the stored message."""
        client_id = client_id or f"c{next(_client_ids)}"
        await self.send_frame(
            {"type": "send", "room_id": room_id, "text": text, "client_id": client_id, **extra}
        )
        ack = await self.next("ack", client_id=client_id)
        message: dict[str, Any] = ack["message"]
        return message

    async def closed(self, timeout: float = 5.0) -> int | None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._reader), timeout)
        return self.ws.close_code

    def kill(self) -> None:
        """Drop the TCP connection without a closing handshake, like a lost network."""
        self.ws.transport.abort()

    async def close(self) -> None:
        await self.ws.close()
        with contextlib.suppress(Exception):
            await self._reader

    def room(self, room_id: int) -> dict[str, Any]:
        [room] = [r for r in self.ready["rooms"] if r["id"] == room_id]
        return room


def live(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


async def connect(server: Any, widget: Any, user_id: int) -> ChatClient:
    return await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(user_id))


async def settled(client: ChatClient) -> None:
    """Every frame this client sent before has been handled: frames of one socket are
    served in order, so the pong comes after them (for frames with no direct answer)."""
    await client.send_frame({"type": "ping"})
    try:
        await client.next("pong")
    except AssertionError:
        if client.closed_with is not None:
            raise AssertionError(
                f"the server dropped the socket (code {client.closed_with})"
            ) from None
        raise


async def handled(client: ChatClient, frame: dict[str, Any]) -> None:
    """Wait until a frame sent before was handled. A send is answered (``ack`` or
    ``error``) when its batch commits, possibly after later frames' answers; other
    frames are served in order, so their answers come before the next pong."""
    if frame.get("type") != "send":
        await settled(client)
        return
    ref = frame.get("client_id")

    def answered() -> bool:
        return any(
            (f["type"] == "ack" and f.get("client_id") == ref)
            or (f["type"] == "error" and f.get("ref") == ref)
            for f in client.frames
        )

    await client.until(answered)


async def answer_code(client: ChatClient, frame: dict[str, Any]) -> int | None:
    """Send a frame; the code of the error frame it got, or None when it was accepted."""
    await client.send_frame(frame)
    await handled(client, frame)
    ref = frame.get("client_id", frame["type"])
    if client.taken_none("error", ref=ref):
        return None
    error = await client.next("error", ref=ref)
    code: int = error["code"]
    return code
