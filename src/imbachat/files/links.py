"""Signed, expiring links to files: they work in ``<img src>`` and a plain link
(no header to send), and only for whom the server gave them to.

``/imbachat/v1/{imba_id}/files/{file_id}/{variant}?expires=T&signature=S`` where S
is HMAC-SHA256 with the widget's secret over ``{imba_id}:{file_id}:{variant}:{T}``.
T is rounded up to the hour, so everyone sent a message within one hour gets the
same link (the browser's cache holds it); links are signed again each time a
message goes to a client, so a link in view never runs out.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import replace
from enum import StrEnum

from imbachat.clock import SYSTEM_CLOCK, Clock, unix
from imbachat.domain import Attachment, Message

_HOUR = 3600


class Variant(StrEnum):
    ORIGINAL = "original"
    THUMBNAIL = "thumbnail"


def signature(secret: str, imba_id: int, file_id: int, variant: Variant, expires: int) -> str:
    signed = f"{imba_id}:{file_id}:{variant.value}:{expires}".encode()
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()[:32]


class FileLinks:
    def __init__(self, public_url: str, seconds: int, clock: Clock = SYSTEM_CLOCK) -> None:
        self._base = public_url.rstrip("/")
        self._seconds = seconds
        self._clock = clock

    def _expires(self) -> int:
        return math.ceil((unix(self._clock.now()) + self._seconds) / _HOUR) * _HOUR

    def path(self, imba_id: int, file_id: int, variant: Variant) -> str:
        return f"{self._base}/imbachat/v1/{imba_id}/files/{file_id}/{variant.value}"

    def url(self, secret: str, imba_id: int, file_id: int, variant: Variant) -> str:
        expires = self._expires()
        sig = signature(secret, imba_id, file_id, variant, expires)
        return f"{self.path(imba_id, file_id, variant)}?expires={expires}&signature={sig}"

    def sign(
        self, secret: str, imba_id: int, attachments: tuple[Attachment, ...]
    ) -> tuple[Attachment, ...]:
        """The attachments with fresh links (the thumbnail's is the image's own when
        it has no smaller copy; files other than images have none)."""
        signed = []
        for item in attachments:
            url = self.url(secret, imba_id, item.id, Variant.ORIGINAL)
            thumbnail_url = None
            if item.thumbnail:
                thumbnail_url = self.url(secret, imba_id, item.id, Variant.THUMBNAIL)
            elif item.width is not None:
                thumbnail_url = url
            signed.append(replace(item, url=url, thumbnail_url=thumbnail_url))
        return tuple(signed)

    def message(self, secret: str, record: Message) -> Message:
        if not record.attachments or record.deleted_at is not None:
            return record
        return replace(record, attachments=self.sign(secret, record.imba_id, record.attachments))

    def valid(
        self,
        secret: str,
        imba_id: int,
        file_id: int,
        variant: Variant,
        expires: int,
        given: str,
    ) -> bool:
        """The signature is the server's and the link has not run out."""
        if expires < unix(self._clock.now()):
            return False
        expected = signature(secret, imba_id, file_id, variant, expires)
        return hmac.compare_digest(expected.encode(), given.encode())  # any text: bytes
