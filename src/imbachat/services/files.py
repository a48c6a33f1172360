"""Files: uploads (checked by content, images cleaned), who may fetch them, and
their end (with their message, or unclaimed after a day)."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import tempfile
import unicodedata
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO, TypeVar

import anyio.to_thread

from imbachat import metrics
from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.config import Settings
from imbachat.domain import Attachment, Message, StoredFile, User, Widget
from imbachat.errors import Forbidden, Invalid, NotFound, TooLarge, Unsupported
from imbachat.files import images
from imbachat.files.kinds import Kind, categories_of, sniff
from imbachat.files.links import FileLinks, Variant
from imbachat.files.storage import Storage
from imbachat.services.ratelimit import UserRateLimiter
from imbachat.services.widgets import WidgetService
from imbachat.states import MemberState
from imbachat.store import files as file_store
from imbachat.store import rooms as room_store
from imbachat.store.db import Database
from imbachat.unit_of_work import Changes

T = TypeVar("T")
log = logging.getLogger(__name__)

MAX_ATTACHMENTS = 10
INTAKE_CHUNK = 1024 * 1024  # an upload's body is handed on a mebibyte at a time
UNCLAIMED_HOURS = 24  # an upload no message took by then is removed
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")


@dataclass(frozen=True, slots=True)
class Upload:
    """An upload as it arrived: its bytes (a temporary file) and the name given."""

    file: BinaryIO
    name: str
    size: int


def clean_name(raw: str | None) -> str:
    """The name shown for a file: no path, no control characters, at most 255."""
    name = unicodedata.normalize("NFC", (raw or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = _UNSAFE_NAME.sub("_", name).strip(" .")
    if len(name) > 255:
        stem, dot, suffix = name.rpartition(".")
        name = stem[: 250 - len(suffix)] + dot + suffix if dot and len(suffix) < 16 else name[:255]
    return name or "file"


class Bandwidth:
    """The bytes per second all uploads of this node may arrive at, together (0: no
    limit). Chat comes first: a crowd of large uploads must not take the event loop
    from the messages; past the budget, reading waits and TCP slows the senders."""

    def __init__(self, per_second: int, clock: Clock = SYSTEM_CLOCK) -> None:
        self._rate = float(per_second)
        self._clock = clock
        self._tokens = self._rate
        self._then = clock.monotonic()

    async def take(self, size: int) -> None:
        if self._rate <= 0:
            return
        now = self._clock.monotonic()
        self._tokens = min(self._rate, self._tokens + (now - self._then) * self._rate) - size
        self._then = now
        if self._tokens < 0:
            await asyncio.sleep(-self._tokens / self._rate)


async def coalesced(
    chunks: AsyncIterator[bytes], bandwidth: Bandwidth, size: int = INTAKE_CHUNK
) -> AsyncGenerator[bytes, None]:
    """The body in pieces of ``size`` (the last one smaller), within the bandwidth:
    a parser then writes a large file in a few thread hops, not one per socket read."""
    pending = bytearray()
    async for chunk in chunks:
        pending += chunk
        if len(pending) >= size:
            await bandwidth.take(len(pending))
            yield bytes(pending)
            pending.clear()
    if pending:
        await bandwidth.take(len(pending))
        yield bytes(pending)


class FileService:
    def __init__(
        self,
        db: Database,
        changes: Changes,
        widgets: WidgetService,
        storage: Storage,
        links: FileLinks,
        settings: Settings,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._db = db
        self._changes = changes
        self._widgets = widgets
        self.storage = storage
        self.links = links
        self._clock = clock
        self.max_bytes = settings.max_upload_bytes
        self._quota = settings.files_quota_bytes
        self._max_pixels = settings.image_max_pixels
        self._images = asyncio.Semaphore(max(1, settings.images_at_once))
        self.bandwidth = Bandwidth(settings.upload_bytes_per_second, clock)
        per_minute = settings.uploads_per_minute
        self._limiter = UserRateLimiter(
            per_minute / 60,
            per_minute,
            clock,
            f"At most {per_minute} files a minute: wait {{wait}} s and send again.",
        )

    def quota_of(self, widget: Widget) -> int:
        return widget.files_quota_bytes if widget.files_quota_bytes is not None else self._quota

    async def upload(self, widget: Widget, user: User, upload: Upload) -> StoredFile:
        """Store a file of the user's, to be attached to one of their messages."""
        if upload.size > self.max_bytes:
            raise TooLarge(f"The file is larger than {self.max_bytes} bytes.", field="file")
        if upload.size == 0:
            raise Invalid("The file is empty.", field="file")
        if user.is_banned:
            raise Forbidden("You are banned in this chat: you cannot send files.")
        self._limiter.take(widget.imba_id, user.id)
        name = clean_name(upload.name)
        kind = await anyio.to_thread.run_sync(sniff, upload.file, name)
        allowed = categories_of(widget)
        if kind.category not in allowed:
            kinds = ", ".join(sorted(c.value for c in allowed)) or "none"
            raise Unsupported(
                f"Files of this type ({kind.content_type}) are not taken here; allowed: {kinds}.",
                field="file",
            )
        if widget.files_bytes + upload.size > self.quota_of(widget):
            raise TooLarge("This chat's storage for files is full.", field="file")
        with ExitStack() as stack:
            return await self._store(widget, user, upload, name, kind, stack)

    async def _store(
        self,
        widget: Widget,
        user: User,
        upload: Upload,
        name: str,
        kind: Kind,
        stack: ExitStack,
    ) -> StoredFile:
        key = f"{widget.imba_id}/{self._clock.now():%Y/%m}/{secrets.token_urlsafe(18)}"
        content_type, size = kind.content_type, upload.size
        body: BinaryIO = upload.file
        thumb: BinaryIO | None = None
        cleaned: images.Cleaned | None = None
        if kind.decodable:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="imbachat-")))
            source = work / "source"
            await anyio.to_thread.run_sync(_copy, upload.file, source)
            async with self._images:
                cleaned = await anyio.to_thread.run_sync(
                    images.clean, source, work / "image", work / "thumbnail", self._max_pixels
                )
            content_type = cleaned.content_type
            body = stack.enter_context((work / "image").open("rb"))
            size = (work / "image").stat().st_size
            if cleaned.thumbnail is not None:
                thumb = stack.enter_context(cleaned.thumbnail.open("rb"))
        keys = [key]
        await self.storage.put(key, body, content_type)
        try:
            if thumb is not None and cleaned is not None and cleaned.thumbnail_type:
                keys.append(key + ".thumb")
                await self.storage.put(key + ".thumb", thumb, cleaned.thumbnail_type)
            async with self._changes.begin() as uow:
                if not await file_store.reserve(
                    uow.conn, widget.imba_id, size, self.quota_of(widget)
                ):
                    raise TooLarge("This chat's storage for files is full.", field="file")
                stored = await file_store.insert(
                    uow.conn,
                    imba_id=widget.imba_id,
                    uploader_id=user.id,
                    name=name,
                    size=size,
                    content_type=content_type,
                    category=kind.category.value,
                    storage_key=key,
                    thumbnail_key=key + ".thumb" if len(keys) > 1 else None,
                    thumbnail_type=cleaned.thumbnail_type if len(keys) > 1 and cleaned else None,
                    width=cleaned.width if cleaned else None,
                    height=cleaned.height if cleaned else None,
                    created_at=self._clock.now(),
                )
            metrics.FILES_STORED.inc()
            metrics.FILES_STORED_BYTES.inc(size)
            return stored
        except BaseException:
            await self.storage.delete(keys)
            raise

    def described(self, widget: Widget, stored: StoredFile) -> Attachment:
        """The file as an upload's answer and a message show it, links signed."""
        return self.links.sign(widget.secret_key, widget.imba_id, (stored.attachment(),))[0]

    async def signed(self, records: list[Message]) -> list[Message]:
        """The messages with fresh links to their files (the rest as they are)."""
        with_files = {r.imba_id for r in records if r.attachments and r.deleted_at is None}
        if not with_files:
            return records
        keys = {imba_id: (await self._widgets.recent(imba_id)).secret_key for imba_id in with_files}
        return [self.links.message(keys[r.imba_id], r) if r.attachments else r for r in records]

    async def for_download(
        self,
        widget: Widget,
        file_id: int,
        variant: Variant,
        *,
        expires: int | None = None,
        signature: str | None = None,
        viewer: User | None = None,
        owner: bool = False,
    ) -> StoredFile:
        """The file, if the caller may fetch it: with a link the server signed and
        that has not run out, as the room's member or the uploader, or as the owner."""
        if signature is not None or expires is not None:
            if (
                expires is None
                or signature is None
                or not self.links.valid(
                    widget.secret_key, widget.imba_id, file_id, variant, expires, signature
                )
            ):
                raise Forbidden("This file link is not valid or has expired.")
        elif viewer is None and not owner:
            raise Forbidden("This file link is not signed: ask for the message again.")
        async with self._db.read() as conn:
            stored = await file_store.get(conn, widget.imba_id, file_id)
            if stored is None or (variant == Variant.THUMBNAIL and not stored.thumbnail_key):
                raise NotFound(f"No file with id {file_id}.")
            if viewer is not None and signature is None and stored.uploader_id != viewer.id:
                member = None
                if stored.room_id is not None:
                    member = await room_store.membership(conn, stored.room_id, viewer.id)
                if member is None or member.status != MemberState.ACTIVE:
                    raise Forbidden("Only the room's members may fetch this file.")
        return stored

    def read(
        self, stored: StoredFile, variant: Variant, start: int, end: int | None
    ) -> AsyncIterator[bytes]:
        key = stored.storage_key if variant == Variant.ORIGINAL else stored.thumbnail_key
        assert key is not None
        return self.storage.read(key, start, end)

    async def delete_for_good(
        self, commit: Awaitable[T], files_of: Callable[[T], list[StoredFile]]
    ) -> T:
        """Await ``commit`` (a transaction that deletes files' rows), then remove those
        files' bytes, as one step a cancellation (a shutdown) cannot split: between
        the two, the bytes would stay for good, no row left to find them by. A
        cancellation meanwhile is raised once both are done."""

        async def both() -> T:
            result = await commit
            await self.forget_keys(files_of(result))
            return result

        work = asyncio.ensure_future(both())
        cancelled = False
        while not work.done():
            try:
                await asyncio.wait({work})  # which never cancels ``work``
            except asyncio.CancelledError:
                cancelled = True
        if cancelled:
            raise asyncio.CancelledError
        return work.result()

    async def forget_keys(self, found: list[StoredFile]) -> None:
        """Remove the files' bytes (after their rows are gone and committed)."""
        keys = [key for f in found for key in (f.storage_key, f.thumbnail_key) if key]
        try:
            await self.storage.delete(keys)
        except Exception:
            log.exception("could not remove %d stored files; they stay as orphans", len(keys))

    async def sweep(self, limit: int = 500) -> int:
        """Remove uploads no message took within a day; returns how many."""
        cutoff = self._clock.now() - timedelta(hours=UNCLAIMED_HOURS)

        async def commit() -> list[StoredFile]:
            async with self._changes.begin() as uow:
                found = await file_store.unattached_before(uow.conn, cutoff, limit)
                await file_store.remove(uow.conn, found)
            return found

        found = await self.delete_for_good(commit(), lambda found: found)
        return len(found)

    async def sweep_forever(self, every_seconds: float = 3600) -> None:
        while True:
            try:
                while await self.sweep() == 500:
                    pass
            except Exception:
                log.exception("sweeping unclaimed uploads failed; trying again later")
            await asyncio.sleep(every_seconds)


def _copy(source: BinaryIO, target: Path) -> None:
    source.seek(0)
    with target.open("wb") as out:
        while chunk := source.read(256 * 1024):
            out.write(chunk)
