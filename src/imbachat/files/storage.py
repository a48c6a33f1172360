"""Where files' bytes live: a small interface and the local-directory backend.

Every call that touches a disk or the network runs off the event loop (threads for
the local directory, an asynchronous client for S3); reads stream in chunks, so a
large file is never held in memory.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO, Protocol

import anyio
import anyio.to_thread

CHUNK = 256 * 1024


class Storage(Protocol):
    async def put(self, key: str, source: BinaryIO, content_type: str) -> None:
        """Store the whole of ``source`` (a local temporary file) under ``key``."""

    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes ``start`` up to and including ``end`` (None: the last), in chunks."""

    async def delete(self, keys: list[str]) -> None:
        """Remove the keys; a key already gone is not an error."""

    async def close(self) -> None: ...


class LocalStorage:
    """Files in a directory of this machine: the default, for one node."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):  # keys are ours, but never trust a path
            raise ValueError(f"bad storage key {key!r}")
        return path

    async def put(self, key: str, source: BinaryIO, content_type: str) -> None:
        target = self._path(key)

        def move() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")
            source.seek(0)
            with partial.open("wb") as writer:
                while chunk := source.read(CHUNK):
                    writer.write(chunk)
                writer.flush()
                os.fsync(writer.fileno())
            os.replace(partial, target)

        await anyio.to_thread.run_sync(move)

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        path = self._path(key)
        async with await anyio.open_file(path, "rb") as file:
            await file.seek(start)
            left = None if end is None else end - start + 1
            while left is None or left > 0:
                chunk = await file.read(CHUNK if left is None else min(CHUNK, left))
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk

    async def delete(self, keys: list[str]) -> None:
        paths = [self._path(key) for key in keys]

        def remove() -> None:
            for path in paths:
                path.unlink(missing_ok=True)

        await anyio.to_thread.run_sync(remove)

    async def close(self) -> None:
        return None


def open_storage(files_dir: str, files_url: str) -> Storage:
    """S3-compatible storage when ``files_url`` names it, else the local directory."""
    if files_url:
        from imbachat.files.s3 import S3Storage

        return S3Storage.from_url(files_url)
    return LocalStorage(files_dir)
