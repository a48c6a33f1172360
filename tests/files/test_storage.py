"""Both storages keep bytes whole, stream ranges, and forget on delete: a local
directory, and S3 through a real S3-compatible server (moto's) on this machine."""

from __future__ import annotations

import io
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from imbachat.files.storage import LocalStorage, Storage, open_storage

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["local", "s3"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    if request.param == "local":
        opened: Storage = LocalStorage(tmp_path / "files")
    else:
        opened = open_storage("", request.getfixturevalue("s3_url"))
    try:
        yield opened
    finally:
        await opened.close()


async def read_all(storage: Storage, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in storage.read(key, start, end)])


async def test_what_is_put_is_read_back_whole_and_by_ranges(storage: Storage) -> None:
    data = secrets.token_bytes(3 * 1024 * 1024 + 17)
    await storage.put("1/2026/11/abc", io.BytesIO(data), "application/octet-stream")

    assert await read_all(storage, "1/2026/11/abc") == data
    assert await read_all(storage, "1/2026/11/abc", 10, 19) == data[10:20]
    assert await read_all(storage, "1/2026/11/abc", len(data) - 5) == data[-5:]


async def test_a_large_file_goes_up_in_parts(storage: Storage) -> None:
    data = secrets.token_bytes(17 * 1024 * 1024 + 3)  # three S3 parts
    await storage.put("big", io.BytesIO(data), "video/mp4")
    assert await read_all(storage, "big") == data


async def test_deleted_keys_are_gone_and_deleting_twice_is_fine(storage: Storage) -> None:
    await storage.put("gone", io.BytesIO(b"x"), "text/plain")
    await storage.put("kept", io.BytesIO(b"y"), "text/plain")
    await storage.delete(["gone", "never-was"])
    await storage.delete(["gone"])
    assert await read_all(storage, "kept") == b"y"
    with pytest.raises(Exception):  # noqa: B017 (each backend names it its own way)
        await read_all(storage, "gone")


async def test_local_keys_never_leave_the_directory(tmp_path: Path) -> None:
    local = LocalStorage(tmp_path / "files")
    with pytest.raises(ValueError, match="bad storage key"):
        await local.put("../outside", io.BytesIO(b"x"), "text/plain")
    assert not (tmp_path / "outside").exists()


def test_s3_urls_are_checked() -> None:
    with pytest.raises(ValueError, match="s3://bucket"):
        open_storage("", "s3:///no-bucket")
