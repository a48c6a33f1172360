"""Reports: a member flags a message; the owner (and the room's staff) deal with it."""

from __future__ import annotations

from enum import StrEnum

from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.domain import ReportView, User, Widget
from imbachat.errors import Invalid, NotFound, TooLarge
from imbachat.events import MessageReported
from imbachat.files.links import FileLinks
from imbachat.services.members import require_member
from imbachat.services.messages import MessageService
from imbachat.services.moderation import ModerationService
from imbachat.states import ReportOutcome, ReportStatus
from imbachat.store import messages as message_store
from imbachat.store import reports as report_store
from imbachat.store.db import Database
from imbachat.unit_of_work import Changes

MAX_REASON = 1000


class Resolution(StrEnum):
    """What the owner does with a report."""

    DISMISS = "dismiss"  # nothing wrong
    RESOLVE = "resolve"  # dealt with elsewhere
    DELETE_MESSAGE = "delete_message"
    BAN_AUTHOR = "ban_author"  # in the whole widget


class ReportService:
    def __init__(
        self,
        db: Database,
        changes: Changes,
        messages: MessageService,
        moderation: ModerationService,
        links: FileLinks,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._db = db
        self._changes = changes
        self._messages = messages
        self._moderation = moderation
        self._links = links
        self._clock = clock

    async def report(self, widget: Widget, user: User, message_id: int, reason: str) -> ReportView:
        """A member's report of a message in their room; reporting it again returns
        the first report (and tells nobody again)."""
        reason = reason.strip()
        if not reason:
            raise Invalid("Say why you report this message.", field="reason")
        if len(reason) > MAX_REASON:
            raise TooLarge(f"reason is at most {MAX_REASON} characters.", field="reason")
        async with self._changes.begin() as uow:
            conn = uow.conn
            message = await message_store.get(conn, widget.imba_id, message_id)
            if message is None or message.deleted_at is not None:
                raise NotFound(f"No message with id {message_id}.", field="message_id")
            await conn.run_sync(require_member, widget, message.room_id, user)
            if message.author_id == user.id:
                raise Invalid("You cannot report your own message.", field="message_id")
            now = self._clock.now()
            report, created = await report_store.insert(conn, message, user.id, reason, now)
            [view] = await report_store.views(conn, [report.id])
            view = self._signed(widget, view)
            if created:
                staff = await report_store.staff_of_room(conn, message.room_id)
                uow.emit(MessageReported(view, tuple(staff)))
        return view

    async def resolve(self, widget: Widget, report_id: int, action: str) -> ReportView:
        """The owner's decision on a report."""
        try:
            chosen = Resolution(action)
        except ValueError:
            known = ", ".join(Resolution)
            raise Invalid(f"action is one of {known}.", field="action") from None
        async with self._db.read() as conn:
            report = await report_store.get(conn, widget.imba_id, report_id)
        if report is None:
            raise NotFound(f"No report {report_id}.", field="report_id")
        if chosen is Resolution.DELETE_MESSAGE:
            # Deleting the message resolves its open reports (this one included).
            await self._messages.delete(widget, None, report.message_id)
        else:
            status, outcome = ReportStatus.RESOLVED, ReportOutcome.NOTHING
            if chosen is Resolution.BAN_AUTHOR:
                author = await self._author_remote_id(widget, report.message_id)
                await self._moderation.act(widget, "ban", author)
                outcome = ReportOutcome.AUTHOR_BANNED
            elif chosen is Resolution.DISMISS:
                status = ReportStatus.DISMISSED
            async with self._changes.begin() as uow:
                now = self._clock.now()
                await report_store.close(uow.conn, [report.id], status, outcome, now)
        async with self._db.read() as conn:
            [view] = await report_store.views(conn, [report.id])
        return self._signed(widget, view)

    async def queue(
        self, widget: Widget, status: str | None, after: int | None, limit: int
    ) -> tuple[list[ReportView], int | None]:
        """The owner's reports, newest first (``status`` None: all of them)."""
        try:
            wanted = None if status in (None, "all") else ReportStatus(status)
        except ValueError:
            known = ", ".join([*ReportStatus, "all"])
            raise Invalid(f"status is one of {known}.", field="status") from None
        limit = max(1, min(limit, report_store.MAX_PAGE))
        async with self._db.read() as conn:
            found, after = await report_store.page_of_widget(
                conn, widget.imba_id, wanted, after, limit
            )
        return [self._signed(widget, view) for view in found], after

    async def for_staff(
        self, widget: Widget, user: User, room_id: int | None, after: int | None
    ) -> tuple[list[ReportView], int | None]:
        """Open reports of the rooms the user moderates; a room given must be theirs."""
        async with self._db.read() as conn:
            if room_id is not None:
                await conn.run_sync(require_member, widget, room_id, user)
            found, after = await report_store.page_for_staff(conn, user.id, room_id, after, 50)
        return [self._signed(widget, view) for view in found], after

    async def _author_remote_id(self, widget: Widget, message_id: int) -> int:
        async with self._db.read() as conn:
            message = await message_store.get(conn, widget.imba_id, message_id)
        assert message is not None  # reports point at stored messages
        return message.author_remote_id

    def _signed(self, widget: Widget, view: ReportView) -> ReportView:
        message = self._links.message(widget.secret_key, view.message)
        return ReportView(view.report, message, view.reporter_remote_id, view.reporter_name)
