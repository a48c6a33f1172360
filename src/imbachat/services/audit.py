"""The audit log: every change made from the dashboard (and the CLI's sign-in
links), who made it, when, from where."""

from __future__ import annotations

from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.domain import Slice
from imbachat.store import audit as audit_store
from imbachat.store.audit import AuditEntry
from imbachat.store.db import Database

MAX_PAGE = 200


class AuditService:
    def __init__(self, db: Database, clock: Clock = SYSTEM_CLOCK) -> None:
        self._db = db
        self._clock = clock

    async def record(
        self,
        imba_id: int,
        actor: str,
        action: str,
        target: str = "",
        details: str | None = None,
        address: str | None = None,
    ) -> None:
        async with self._db.write() as conn:
            await audit_store.add(
                conn,
                imba_id=imba_id,
                actor=actor[:255],
                action=action[:64],
                target=target[:255],
                details=details[:4000] if details else None,
                address=(address or None) and address[:64],
                created_at=self._clock.now(),
            )

    async def page(self, imba_id: int, before_id: int | None, limit: int) -> Slice[AuditEntry]:
        limit = max(1, min(limit, MAX_PAGE))
        async with self._db.read() as conn:
            return await audit_store.page(conn, imba_id, before_id, limit)
