"""A file's kind is read from its bytes: the name never makes a page an image."""

from __future__ import annotations

import io
import zipfile

import pytest

from imbachat.files.kinds import (
    DEFAULT_CATEGORIES,
    Category,
    accept,
    parse_categories,
    sniff,
)


def kind_of(data: bytes, name: str = "upload"):
    return sniff(io.BytesIO(data), name)


def zipped(names: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in names.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "content_type", "category"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg", Category.IMAGE),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png", Category.IMAGE),
        (b"GIF89a\x01\x00", "image/gif", Category.IMAGE),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp", Category.IMAGE),
        (b"%PDF-1.7\n%...", "application/pdf", Category.PDF),
        (b"ID3\x04\x00\x00\x00", "audio/mpeg", Category.AUDIO),
        (b"OggS\x00\x02", "audio/ogg", Category.AUDIO),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00", "video/mp4", Category.VIDEO),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86", "video/webm", Category.VIDEO),
        (b"\x1f\x8b\x08\x00", "application/gzip", Category.ARCHIVE),
        (b"hello, world\n", "text/plain", Category.TEXT),
        (
            b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)),
            "application/octet-stream",
            Category.OTHER,
        ),
    ],
)
def test_kinds_come_from_the_first_bytes(data: bytes, content_type: str, category) -> None:
    kind = kind_of(data, "anything.txt")
    assert (kind.content_type, kind.category) == (content_type, category)


def test_a_name_never_makes_a_page_an_image() -> None:
    kind = kind_of(b"<!doctype html><script>alert(1)</script>", "cat.jpg")
    assert kind.content_type == "text/html"
    assert kind.active and not kind.inline


@pytest.mark.parametrize(
    ("data", "name", "content_type"),
    [
        (
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
            "a.svg",
            "image/svg+xml",
        ),
        (b"<svg onload=alert(1)>", "a.png", "image/svg+xml"),
        (b'<?xml version="1.0"?><note/>', "a.xml", "application/xml"),
        (b"  <html><body>hi", "a.txt", "text/html"),
        (b"alert(document.cookie)", "a.js", "text/javascript"),
    ],
)
def test_what_a_browser_could_run_is_marked_active(
    data: bytes, name: str, content_type: str
) -> None:
    kind = kind_of(data, name)
    assert kind.content_type == content_type
    assert kind.active and not kind.inline


def test_office_documents_are_told_from_plain_archives_by_what_is_inside() -> None:
    docx = zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"})
    odt = zipped({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b""})
    plain = zipped({"notes.txt": b"hi"})
    assert kind_of(docx).category == Category.OFFICE
    assert kind_of(docx).content_type.endswith("wordprocessingml.document")
    assert kind_of(odt).content_type == "application/vnd.oasis.opendocument.text"
    assert kind_of(plain).content_type == "application/zip"
    assert kind_of(b"PK\x03\x04broken").category == Category.ARCHIVE


def test_text_is_utf8_without_control_bytes_and_may_be_cut_mid_character() -> None:
    cut = ("ж" * 5000).encode()[:8191]  # the sample ends inside a character
    assert kind_of(cut).content_type == "text/plain"
    assert kind_of(b"a,b\n1,2\n", "table.csv").content_type == "text/csv"
    assert kind_of(b"\xff\xfe\x00binary").category == Category.OTHER


def test_only_cleaned_images_sound_and_video_show_inline() -> None:
    assert kind_of(b"\xff\xd8\xff\xe0").inline
    assert kind_of(b"ID3\x04").inline
    assert not kind_of(b"%PDF-1.4").inline
    assert not kind_of(b"\x00\x00\x00\x18ftypheic").inline  # not decoded: not shown


def test_allow_lists_parse_and_name_what_is_unknown() -> None:
    assert parse_categories("image, PDF") == {Category.IMAGE, Category.PDF}
    assert parse_categories("none") == frozenset()
    with pytest.raises(ValueError, match="unknown file type exe"):
        parse_categories("image,exe")
    assert Category.OTHER not in DEFAULT_CATEGORIES
    assert accept(frozenset({Category.IMAGE, Category.PDF})) == "image/*,.pdf,application/pdf"
    assert accept(frozenset(Category)) == ""  # anything
