"""What a file is, decided from its bytes, never from its name.

The first bytes (and, for ZIP containers, the names inside) say the content type
and its category, which the widget's allow list is made of. The name only tells
apart kinds that share one container (a legacy .xls from a .doc) or a kind of
plain text (.csv, .md). Whatever a browser could run (HTML, SVG, XML, JavaScript)
is marked ``active``: it is only ever served as a download.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath
from typing import BinaryIO

from imbachat.domain import Widget

HEAD_BYTES = 8192


class Category(StrEnum):
    IMAGE = "image"
    PDF = "pdf"
    OFFICE = "office"
    TEXT = "text"
    ARCHIVE = "archive"
    AUDIO = "audio"
    VIDEO = "video"
    OTHER = "other"  # executables and unknown binaries: never in the default list


DEFAULT_CATEGORIES = frozenset(Category) - {Category.OTHER}


@dataclass(frozen=True, slots=True)
class Kind:
    content_type: str
    category: Category
    active: bool = False  # a browser could run it: download only
    decodable: bool = False  # an image Pillow re-encodes (JPEG, PNG, GIF, WebP, BMP)

    @property
    def inline(self) -> bool:
        """Shown in the browser (an image, a sound, a video) rather than downloaded."""
        if self.active:
            return False
        if self.category == Category.IMAGE:
            return self.decodable
        return self.category in (Category.AUDIO, Category.VIDEO)


# What a browser could run, if it were ever shown in a page: served as bytes only.
ACTIVE_TYPES = frozenset({"text/html", "image/svg+xml", "application/xml", "text/javascript"})
OCTET_STREAM = Kind("application/octet-stream", Category.OTHER)
_IMAGES = {
    "image/jpeg": Kind("image/jpeg", Category.IMAGE, decodable=True),
    "image/png": Kind("image/png", Category.IMAGE, decodable=True),
    "image/gif": Kind("image/gif", Category.IMAGE, decodable=True),
    "image/webp": Kind("image/webp", Category.IMAGE, decodable=True),
    "image/bmp": Kind("image/bmp", Category.IMAGE, decodable=True),
}
_OOXML = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
_LEGACY_OFFICE = {
    ".xls": "application/vnd.ms-excel",
    ".ppt": "application/vnd.ms-powerpoint",
    ".msg": "application/vnd.ms-outlook",
}
_PLAIN_TEXT = {".csv": "text/csv", ".md": "text/markdown", ".json": "application/json"}
_SCRIPTS = {".js", ".mjs", ".cjs"}


def _media(head: bytes) -> Kind | None:
    """Images, audio, video, PDF and archives by their magic numbers."""
    if head.startswith(b"\xff\xd8\xff"):
        return _IMAGES["image/jpeg"]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _IMAGES["image/png"]
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return _IMAGES["image/gif"]
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _IMAGES["image/webp"]
    if head[:2] == b"BM" and len(head) > 14 and head[6:10] == b"\0\0\0\0":
        return _IMAGES["image/bmp"]
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"hevc", b"avif"):
            return Kind("image/avif" if brand == b"avif" else "image/heic", Category.IMAGE)
        if brand in (b"M4A ", b"M4B "):
            return Kind("audio/mp4", Category.AUDIO)
        if brand == b"qt  ":
            return Kind("video/quicktime", Category.VIDEO)
        return Kind("video/mp4", Category.VIDEO)
    if head.startswith(b"%PDF-"):
        return Kind("application/pdf", Category.PDF)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return Kind("audio/wav", Category.AUDIO)
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return Kind("video/x-msvideo", Category.VIDEO)
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return Kind("audio/mpeg", Category.AUDIO)
    if head.startswith(b"OggS"):
        return Kind("audio/ogg", Category.AUDIO)
    if head.startswith(b"fLaC"):
        return Kind("audio/flac", Category.AUDIO)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return Kind("video/webm", Category.VIDEO)
    if head.startswith(b"\x1f\x8b"):
        return Kind("application/gzip", Category.ARCHIVE)
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return Kind("application/x-7z-compressed", Category.ARCHIVE)
    if head.startswith(b"Rar!\x1a\x07"):
        return Kind("application/vnd.rar", Category.ARCHIVE)
    if head[257:262] == b"ustar":
        return Kind("application/x-tar", Category.ARCHIVE)
    return None


def _zip(file: BinaryIO) -> Kind:
    """A ZIP container: an office document (OOXML or OpenDocument), or an archive."""
    try:
        with zipfile.ZipFile(file) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                declared = archive.read("mimetype")[:100].decode("ascii", "replace").strip()
                if declared.startswith("application/vnd.oasis.opendocument."):
                    return Kind(declared, Category.OFFICE)
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, NotImplementedError):
        return Kind("application/zip", Category.ARCHIVE)
    if "[Content_Types].xml" in names:
        for prefix, content_type in _OOXML.items():
            if any(name.startswith(prefix) for name in names):
                return Kind(content_type, Category.OFFICE)
    return Kind("application/zip", Category.ARCHIVE)


def _text(head: bytes, suffix: str) -> Kind | None:
    """UTF-8 text with no control bytes: plain, or markup or script a browser runs."""
    if b"\0" in head:
        return None
    sample = head.removeprefix(b"\xef\xbb\xbf")
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # not merely a character cut at the sample's end
            return None
        text = sample[: exc.start].decode("utf-8")
    if any(ord(c) < 32 and c not in "\t\n\r\f" for c in text):
        return None
    start = text.lstrip().lower()
    if start.startswith("<"):
        if "<svg" in start:
            return Kind("image/svg+xml", Category.TEXT, active=True)
        if start.startswith("<?xml") and "<html" not in start:
            return Kind("application/xml", Category.TEXT, active=True)
        return Kind("text/html", Category.TEXT, active=True)
    if suffix in _SCRIPTS:
        return Kind("text/javascript", Category.TEXT, active=True)
    return Kind(_PLAIN_TEXT.get(suffix, "text/plain"), Category.TEXT)


def sniff(file: BinaryIO, name: str) -> Kind:
    """The kind of the file's content (``file`` is read from its start; ``name`` only
    tells apart kinds that share one container)."""
    file.seek(0)
    head = file.read(HEAD_BYTES)
    suffix = PurePosixPath(name.lower()).suffix
    kind = _media(head)
    if kind is not None:
        return kind
    if head.startswith(b"PK\x03\x04"):
        file.seek(0)
        return _zip(file)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):  # OLE2: Office 97-2003
        return Kind(_LEGACY_OFFICE.get(suffix, "application/msword"), Category.OFFICE)
    if not head:
        return Kind("text/plain", Category.TEXT)
    return _text(head, suffix) or OCTET_STREAM


# What a file picker offers for each category (the server still decides by content).
ACCEPT = {
    Category.IMAGE: "image/*",
    Category.PDF: ".pdf,application/pdf",
    Category.OFFICE: ".doc,.docx,.xls,.xlsx,.ppt,.pptx,.odt,.ods,.odp,.rtf",
    Category.TEXT: "text/*,.txt,.csv,.md,.json,.log",
    Category.ARCHIVE: ".zip,.gz,.tgz,.7z,.rar,.tar",
    Category.AUDIO: "audio/*",
    Category.VIDEO: "video/*",
}
NO_FILES = "none"


def accept(categories: frozenset[Category]) -> str:
    """The ``accept`` of an ``<input type=file>`` offering these ("" for anything)."""
    if Category.OTHER in categories:
        return ""
    return ",".join(ACCEPT[c] for c in Category if c in categories)


def parse_categories(raw: str) -> frozenset[Category]:
    """``image,pdf,…`` (or ``none``) as categories; ValueError names what is unknown."""
    chosen = {part.strip().lower() for part in raw.split(",") if part.strip()}
    if chosen == {NO_FILES}:
        return frozenset()
    known = {c.value for c in Category}
    unknown = sorted(chosen - known)
    if unknown:
        raise ValueError(
            f"unknown file type {', '.join(unknown)}: choose from {', '.join(sorted(known))}"
        )
    return frozenset(Category(c) for c in chosen)


def categories_of(widget: Widget) -> frozenset[Category]:
    """What the widget takes: its owner's list, or the default one."""
    return parse_categories(widget.file_types) if widget.file_types else DEFAULT_CATEGORIES
