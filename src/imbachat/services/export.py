"""A user's export: a zip with ``user.json`` (everything held about them) and the
files they uploaded under ``files/``.

Written in pieces, so memory stays bounded however long their history: messages a
page at a time, file bytes as the storage streams them. Every write to the zip runs
in a thread; the event loop only reads the database and hands bytes on.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import IO, Any

import anyio.to_thread
import orjson
from sqlalchemy.engine import RowMapping

from imbachat import render
from imbachat.clock import Clock, format_api
from imbachat.domain import StoredFile, User
from imbachat.files.storage import Storage
from imbachat.states import MemberState
from imbachat.store import privacy as privacy_store
from imbachat.store.db import Database

log = logging.getLogger(__name__)

PAGE = 500  # messages read at a time
FLUSH_BYTES = 256 * 1024  # JSON handed to the zip's thread in pieces of about this
FORMAT = "imbachat-export-1"


def _time(value: datetime | None) -> str | None:
    return format_api(value)


def _membership(row: RowMapping) -> dict[str, Any]:
    return {
        "room_id": row["room_id"],
        "room_name": row["room_name"],
        "room_type": row["room_type"],
        "role": row["role"],
        "active": row["status"] == MemberState.ACTIVE,
        "banned": row["is_banned"],
        "last_read_seq": row["last_read_seq"],
        "muted_until": _time(row["muted_until"]),
        "alerts_muted": row["alerts_muted"],
        "joined_at": _time(row["joined_at"]),
    }


def _message(row: RowMapping) -> dict[str, Any]:
    return {
        "id": row["id"],
        "room_id": row["room_id"],
        "seq": row["seq"],
        "message": row["body"],
        "answer_to": row["answer_to"],
        "created_at": _time(row["created_at"]),
        "edited_at": _time(row["edited_at"]),
        "deleted_at": _time(row["deleted_at"]),
        "attachments": [{"id": a.id, "name": a.name} for a in row["attachments"] or ()],
        "mentions": list(row["mentions"] or ()),
    }


def _file_path(stored: StoredFile) -> str:
    return f"files/{stored.id}-{stored.name}"


def _rows(kind: str, rows: Iterable[RowMapping]) -> list[dict[str, Any]]:
    shown: list[dict[str, Any]] = []
    for row in rows:
        if kind == "reactions":
            item = {"message_id": row["message_id"], "emoji": row["emoji"]}
            item["created_at"] = _time(row["created_at"])
        elif kind == "mentions":
            item = {"message_id": row["message_id"], "room_id": row["room_id"], "seq": row["seq"]}
        elif kind == "blocks":
            item = {
                "user_id": row["blocked_remote_user_id"],
                "created_at": _time(row["created_at"]),
            }
        elif kind == "calls":
            item = {
                "id": row["id"],
                "room_id": row["room_id"],
                "kind": row["kind"],
                "role": row["role"],  # caller or callee
                "user_id": row["other_remote_user_id"],  # the other party
                "outcome": row["outcome"],
                "started_at": _time(row["started_at"]),
                "answered_at": _time(row["answered_at"]),
                "ended_at": _time(row["ended_at"]),
            }
        elif kind == "reports":
            item = {
                "id": row["id"],
                "message_id": row["message_id"],
                "room_id": row["room_id"],
                "reason": row["reason"],
                "status": row["status"],
                "outcome": row["outcome"],
                "created_at": _time(row["created_at"]),
                "resolved_at": _time(row["resolved_at"]),
            }
        else:
            stored = StoredFile(**row)
            item = {
                "id": stored.id,
                "name": stored.name,
                "size": stored.size,
                "content_type": stored.content_type,
                "category": stored.category,
                "message_id": stored.message_id,
                "room_id": stored.room_id,
                "created_at": _time(stored.created_at),
                "path": _file_path(stored),
            }
        shown.append(item)
    return shown


class _JsonOut:
    """Bytes for one zip entry, handed to a thread in pieces of :data:`FLUSH_BYTES`."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._pending = bytearray()

    async def write(self, data: bytes) -> None:
        self._pending += data
        if len(self._pending) >= FLUSH_BYTES:
            await self.flush()

    async def flush(self) -> None:
        if self._pending:
            chunk, self._pending = bytes(self._pending), bytearray()
            await anyio.to_thread.run_sync(self._stream.write, chunk)


class Export:
    def __init__(self, db: Database, storage: Storage, clock: Clock) -> None:
        self._db = db
        self._storage = storage
        self._clock = clock

    async def write(self, user: User, target: Path) -> int:
        """Write the user's export at ``target``; returns its size in bytes."""
        archive = await anyio.to_thread.run_sync(
            lambda: zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        )
        try:
            uploads = await self._user_json(user, archive)
            for stored in uploads:
                await self._file(stored, archive)
        finally:
            await anyio.to_thread.run_sync(archive.close)
        return (await anyio.to_thread.run_sync(target.stat)).st_size

    async def _user_json(self, user: User, archive: zipfile.ZipFile) -> list[StoredFile]:
        stream = await anyio.to_thread.run_sync(
            lambda: archive.open("user.json", "w", force_zip64=True)
        )
        out = _JsonOut(stream)
        try:
            profile = {
                **render.user(user),
                "profile_url": user.profile_url,
                "email_notify": user.email_notify,
            }
            head: dict[str, Any] = {
                "format": FORMAT,
                "exported_at": _time(self._clock.now()),
                "imba_id": user.imba_id,
                "user": profile,
            }
            async with self._db.read() as conn:
                joined = await conn.run_sync(privacy_store.memberships, user.id)
                ids = await conn.run_sync(privacy_store.message_ids_of, user.id)
            head["memberships"] = [_membership(row) for row in joined]
            await out.write(orjson.dumps(head)[:-1] + b',"messages":[')
            async for i, item in _numbered(self._messages(ids)):
                await out.write((b"," if i else b"") + orjson.dumps(item))
            await out.write(b"]")
            uploads: list[StoredFile] = []
            for kind in ("reactions", "mentions", "blocks", "reports", "calls", "files"):
                async with self._db.read() as conn:
                    rows = await conn.run_sync(privacy_store.rows_of, user.id, kind)
                if kind == "files":
                    uploads = [StoredFile(**row) for row in rows]
                await out.write(f',"{kind}":'.encode() + orjson.dumps(_rows(kind, rows)))
            await out.write(b"}")
            await out.flush()
        finally:
            await anyio.to_thread.run_sync(stream.close)
        return uploads

    async def _messages(self, ids: list[int]) -> AsyncIterator[dict[str, Any]]:
        for start in range(0, len(ids), PAGE):
            page = ids[start : start + PAGE]
            rows = await self._db.run_read(partial(privacy_store.messages_by_ids, ids=page))
            for row in rows:
                yield _message(row)

    async def _file(self, stored: StoredFile, archive: zipfile.ZipFile) -> None:
        """The file's bytes as the storage streams them; a file whose bytes are gone
        is left out of ``files/`` (its record stays in ``user.json``)."""
        chunks = self._storage.read(stored.storage_key)
        try:
            first = await anext(chunks, b"")
        except Exception:
            log.warning("file %d of an export has no stored bytes; left out", stored.id)
            return
        info = zipfile.ZipInfo(_file_path(stored), date_time=stored.created_at.timetuple()[:6])
        info.compress_type = zipfile.ZIP_STORED  # images and archives are compressed already
        entry = await anyio.to_thread.run_sync(lambda: archive.open(info, "w", force_zip64=True))
        try:
            await anyio.to_thread.run_sync(entry.write, first)
            async for chunk in chunks:
                await anyio.to_thread.run_sync(entry.write, chunk)
        finally:
            await anyio.to_thread.run_sync(entry.close)


async def _numbered(items: AsyncIterator[dict[str, Any]]) -> AsyncIterator[tuple[int, Any]]:
    i = 0
    async for item in items:
        yield i, item
        i += 1
