"""The files table keeps each widget's usage exact, even when two nodes remove the
same file."""

from __future__ import annotations

import io

import pytest

from imbachat.services.files import Upload
from imbachat.store import files as file_store

pytestmark = pytest.mark.anyio


async def test_removing_a_file_twice_gives_its_bytes_back_once(chat) -> None:
    widget = await chat.widget()
    user = await chat.user(widget, 1)
    content = b"%PDF-1.4\n" + b"x" * 991
    stored = await chat.services.files.upload(
        widget, user, Upload(io.BytesIO(content), "a.pdf", len(content))
    )
    other = await chat.services.files.upload(
        widget, user, Upload(io.BytesIO(content), "b.pdf", len(content))
    )

    for _ in range(2):  # as two nodes sweeping the same file would
        async with chat.services.changes.begin() as uow:
            await file_store.remove(uow.conn, [stored])

    assert (await chat.services.widgets.get(widget.imba_id)).files_bytes == len(content)
    async with chat.services.db.read() as conn:
        assert await file_store.get(conn, widget.imba_id, stored.id) is None
        assert await file_store.get(conn, widget.imba_id, other.id) is not None
