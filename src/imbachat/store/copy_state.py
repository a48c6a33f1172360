"""Whether a database is an unfinished copy (``imbachat copy-db`` or ``restore``
was interrupted): such a database holds some tables and not others, so nothing
may use it until the copy is run again and finishes."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from imbachat.errors import Conflict
from imbachat.states import CopyState
from imbachat.store.schema import copy_progress


class UnfinishedCopy(Conflict):
    """The database is a copy still in progress."""


def unfinished_copy(conn: Connection) -> UnfinishedCopy | None:
    """The error to raise if the database is a copy still in progress, else None."""
    rows = conn.execute(
        select(copy_progress.c.source, copy_progress.c.state, func.count()).group_by(
            copy_progress.c.source, copy_progress.c.state
        )
    ).all()
    if all(row.state == CopyState.COMPLETE for row in rows):
        return None
    source = rows[0].source
    total = sum(row[2] for row in rows)
    copied = sum(row[2] for row in rows if row.state != CopyState.COPYING)
    return UnfinishedCopy(
        f"This database is a copy of {source} still in progress ({copied} of {total} tables"
        " copied): run the same `imbachat copy-db` (or `imbachat restore`) command again to"
        " finish it; it resumes where it stopped."
    )
