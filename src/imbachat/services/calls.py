"""Calls in dialogs: the rules of who may call whom, a call's states, and its record.

A call rings on every tab of the callee, is answered by one of them (the other party
of the call from then on), and ends once: hung up, declined, not answered within
the ring time (missed), or a party's socket gone longer than the grace (a reconnect
within it keeps the call). The state lives in the database (``store.calls``), so any
node can answer, relay or end a call placed on another; every node checks every few
seconds (:meth:`CallService.sweep`) and a conditional update lets one of them end
each call. The media never passes here: browsers connect to each other, told how
by the signals this service relays to the other party's socket only.

When a call ends, its record goes in the dialog as a message of the caller's with a
``call`` summary (kind, outcome, duration) and an English text for every reader
that does not know calls ("Video call, 4:12", "Missed call").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from imbachat.clock import SYSTEM_CLOCK, Clock, unix
from imbachat.config import Settings
from imbachat.domain import Call, CallSummary, MessageDraft, User, Widget
from imbachat.errors import Conflict, Forbidden, Invalid, NotFound, RateLimited
from imbachat.events import (
    CallAnswered,
    CallEnded,
    CallResumed,
    CallSignalled,
    CallStarted,
    MessageNew,
)
from imbachat.services.members import require_member
from imbachat.services.moderation import ModerationService
from imbachat.services.ratelimit import SendLimiter, UserRateLimiter
from imbachat.states import (
    CallKind,
    CallOutcome,
    CallState,
    MemberState,
    RoomStatus,
    RoomType,
    UserStatus,
)
from imbachat.store import blocks as block_store
from imbachat.store import calls as call_store
from imbachat.store import messages as message_store
from imbachat.store import rooms as room_store
from imbachat.store import users as user_store
from imbachat.store.db import Database
from imbachat.unit_of_work import Changes, UnitOfWork

CALL_GONE = "No call {call_id} of yours."
# A browser sends a few dozen candidates and descriptions a call, more on an ICE
# restart; beyond this a socket is flooding the other party (and the database).
SIGNALS_PER_SECOND = 20.0
SIGNAL_BURST = 200


def record_text(summary: CallSummary) -> str:
    """The record's text as non-widget readers (the REST API, webhooks, e-mails) see it."""
    if summary.outcome == CallOutcome.COMPLETED:
        minutes, seconds = divmod(summary.duration, 60)
        return f"{summary.kind.capitalize()} call, {minutes}:{seconds:02d}"
    if summary.outcome == CallOutcome.DECLINED:
        return "Declined call"
    if summary.outcome == CallOutcome.FAILED:
        return "Failed call"
    return "Missed call"


def turn_credentials(secret: str, user_id: int, expires: int) -> tuple[str, str]:
    """The TURN REST convention (coturn's use-auth-secret): the username is
    ``<expiry unix time>:<user id>``, the password base64(HMAC-SHA1(secret, username))."""
    username = f"{expires}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def _is_turn(server: dict[str, Any]) -> bool:
    urls = server.get("urls", [])
    listed = [urls] if isinstance(urls, str) else urls
    return any(str(url).startswith(("turn:", "turns:")) for url in listed)


class CallService:
    def __init__(
        self,
        db: Database,
        changes: Changes,
        moderation: ModerationService,
        limiter: SendLimiter,
        settings: Settings,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._db = db
        self._changes = changes
        self._moderation = moderation
        # An invite costs what a message does: even one to a busy callee leaves a
        # record in the dialog (webhooks, e-mails).
        self._limiter = limiter
        self._signals = UserRateLimiter(
            SIGNALS_PER_SECOND,
            SIGNAL_BURST,
            clock,
            "Too many call signals: wait {wait} s.",
        )
        self._settings = settings
        self._clock = clock

    # ---- placing and answering -----------------------------------------------------

    async def invite(
        self, widget: Widget, user: User, socket: str, room_id: int, kind: CallKind
    ) -> Call:
        """Call the other member of a dialog from ``socket``. Both must be able to write
        to each other there (members, not banned or muted, no block either way). A
        callee in another call makes the call end at once as busy (their dialog says
        they missed it); a caller in another call is refused. Invites share the
        user's message rate limit."""
        try:
            self._limiter.take(widget.imba_id, user.id)
        except RateLimited as exc:
            wait = exc.retry_after
            raise RateLimited(
                f"Too many calls and messages: wait {wait} s and call again.", retry_after=wait
            ) from None
        async with self._changes.begin() as uow:
            return await self._invite(uow, widget, user, socket, room_id, kind)

    async def _invite(
        self,
        uow: UnitOfWork[AsyncConnection],
        widget: Widget,
        user: User,
        socket: str,
        room_id: int,
        kind: CallKind,
    ) -> Call:
        conn = uow.conn
        room, member = await conn.run_sync(require_member, widget, room_id, user)
        if room.type != RoomType.DIALOG:
            raise Invalid("Calls are made in dialogs.", field="room_id")
        if room.status != RoomStatus.OPEN:
            raise Forbidden("This room is closed.", field="room_id")
        members = (await conn.run_sync(room_store.members_of, [room.id]))[room.id]
        others = [m for m in members if m.user_id != user.id]
        if not others:
            raise Invalid("Nobody else is in this dialog.", field="room_id")
        callee_member = others[0]
        people = await conn.run_sync(
            user_store.by_remote_ids,
            widget.imba_id,
            [user.remote_user_id, callee_member.remote_user_id],
        )
        caller, callee = people[user.remote_user_id], people[callee_member.remote_user_id]
        self._moderation.check_may_send(caller, member)
        if caller.status == UserStatus.GUEST:
            raise Forbidden("Guests cannot make calls: log in first.", field="room_id")
        if callee.is_bot:
            raise Invalid("Bots do not take calls.", field="room_id")
        membership = await room_store.membership(conn, room.id, callee.id)
        if (
            callee.is_banned
            or membership is None
            or membership.status != MemberState.ACTIVE
            or membership.is_banned
        ):
            raise Forbidden("This user cannot take calls here.", field="room_id")
        for _, blocker, _ in await conn.run_sync(block_store.in_rooms, [room.id]):
            if blocker == caller.id:
                raise Forbidden("You blocked this user: unblock them to call.", field="room_id")
            raise Forbidden("You cannot call this user.", field="room_id")
        busy = await call_store.in_call(conn, [caller.id, callee.id])
        if caller.id in busy:
            raise Conflict("You are in a call already: end it first.", field="room_id")
        now = self._clock.now()
        engaged = callee.id in busy  # the call ends at once, as busy
        call_id = await call_store.add(
            conn,
            imba_id=widget.imba_id,
            room_id=room.id,
            caller_id=caller.id,
            callee_id=callee.id,
            kind=kind,
            state=CallState.ENDED if engaged else CallState.RINGING,
            outcome=CallOutcome.BUSY if engaged else None,
            now=now,
        )
        if engaged:
            call = await self._get(conn, call_id)
            await self._record(uow, call)
            uow.emit(CallStarted(call), CallEnded(call))
            return call
        await call_store.join(conn, call_id, caller.id, socket, now)
        await call_store.join(conn, call_id, callee.id, None, now)
        call = await self._get(conn, call_id)
        uow.emit(CallStarted(call))
        return call

    async def accept(self, widget: Widget, user: User, socket: str, call_id: int) -> Call:
        """The callee answers from ``socket``: that tab is in the call, the others
        stop ringing. Only a ringing call is answered (once, by one tab)."""
        async with self._changes.begin() as uow:
            conn = uow.conn
            call = await self._party_call(conn, widget, user, call_id)
            if call.callee_id != user.id:
                raise Forbidden("Only the one called answers a call.", field="call_id")
            now = self._clock.now()
            if not await call_store.answer(conn, call.id, now):
                call = await self._get(conn, call.id)  # what beat us to it
                if call.state == CallState.ACTIVE:
                    raise Conflict("This call was answered on another tab.", field="call_id")
                raise Conflict("This call has ended.", field="call_id")
            await call_store.set_socket(conn, call.id, user.id, socket, now)
            call = await self._get(conn, call.id)
            uow.emit(CallAnswered(call))
        return call

    async def decline(self, widget: Widget, user: User, call_id: int) -> Call | None:
        """The callee says no (from any of their tabs) while it rings."""
        async with self._changes.begin() as uow:
            call = await self._party_call(uow.conn, widget, user, call_id)
            if call.callee_id != user.id or call.state != CallState.RINGING:
                raise Conflict("Only a call ringing for you can be declined.", field="call_id")
            return await self._end(uow, call, CallOutcome.DECLINED)

    async def hang_up(
        self, widget: Widget, user: User, call_id: int, *, failed: bool = False
    ) -> Call | None:
        """A party ends the call: before an answer, the caller cancels it (the callee
        declines it); after, it is complete, or ``failed`` when the browsers could
        not connect. Ending an ended call changes nothing."""
        async with self._changes.begin() as uow:
            call = await self._party_call(uow.conn, widget, user, call_id)
            return await self._hang_up(uow, call, user.id, failed)

    async def end_calls_of(self, user_id: int) -> list[Call]:
        """The user's calls end as if they hung up (before their erasure)."""
        async with self._db.read() as conn:
            call_ids = set((await call_store.in_call(conn, [user_id])).values())
        ended = []
        for call_id in sorted(call_ids):
            async with self._changes.begin() as uow:
                call = await call_store.get(uow.conn, call_id)
                if call is not None:
                    ended.append(await self._hang_up(uow, call, user_id, False))
        return ended

    async def _hang_up(
        self, uow: UnitOfWork[AsyncConnection], call: Call, user_id: int, failed: bool
    ) -> Call:
        # The outcome follows the state the end applies to: when the call moved on
        # meanwhile (answered on another node), read it again and decide again.
        while call.state != CallState.ENDED:
            if call.state == CallState.RINGING:
                outcome = (
                    CallOutcome.CANCELLED if user_id == call.caller_id else CallOutcome.DECLINED
                )
            else:
                outcome = CallOutcome.FAILED if failed else CallOutcome.COMPLETED
            ended = await self._end(uow, call, outcome)
            if ended is not None:
                return ended
            call = await self._get(uow.conn, call.id)
        return call

    async def resume(self, widget: Widget, user: User, socket: str, call_id: int) -> Call:
        """A party reconnected: their new socket takes the call over (the other party
        hears of it and the caller's browser restarts ICE). A callee whose tabs ring
        only learns the call's state again."""
        async with self._changes.begin() as uow:
            conn = uow.conn
            call = await self._party_call(conn, widget, user, call_id)
            answered = call.state == CallState.ACTIVE
            if call.state == CallState.ENDED or (user.id == call.callee_id and not answered):
                return call
            await call_store.set_socket(conn, call.id, user.id, socket, self._clock.now())
            call = await self._get(conn, call.id)
            uow.emit(CallResumed(call))
        return call

    async def signal(
        self, widget: Widget, user: User, socket: str, call_id: int, signal: dict[str, Any]
    ) -> None:
        """Relay an SDP description or ICE candidate to the other party's socket in the
        call; only the socket in the call may send them, and only while it is on. A
        party reconnecting meanwhile misses it: the caller restarts ICE on resume.
        Signals have a rate limit of their own, checked before the database is."""
        self._signals.take(widget.imba_id, user.id)
        async with self._db.read() as conn:
            call = await self._party_call(conn, widget, user, call_id)
        if call.state != CallState.ACTIVE:
            raise Conflict("Signals go to a call in progress.", field="call_id")
        mine, theirs = (
            (call.caller_socket, call.callee_socket)
            if user.id == call.caller_id
            else (call.callee_socket, call.caller_socket)
        )
        if mine != socket:
            raise Forbidden("This tab is not the one in the call.", field="call_id")
        if theirs is None:
            return
        event = CallSignalled(
            call.imba_id,
            call.room_id,
            call.id,
            call.other_of(user.id),
            theirs,
            user.remote_user_id,
            signal,
        )
        await self._changes.announce(event)

    # ---- what every node does every few seconds --------------------------------------

    async def keep(self, sockets: list[str]) -> None:
        """These sockets of this node are open: their parties stay in their calls."""
        if sockets:
            async with self._db.write() as conn:
                await call_store.seen(conn, sockets, self._clock.now())

    async def sweep(self) -> list[Call]:
        """End the calls whose ring time ran out (missed) and those with a party gone
        longer than the grace: a ringing call is then cancelled, a call in progress
        complete (it lasted until then). Several nodes may sweep at once: each call
        is ended by one."""
        now = self._clock.now()
        rang_before = now - timedelta(seconds=self._settings.call_ring_seconds)
        seen_before = now - timedelta(seconds=self._settings.call_grace_seconds)
        async with self._db.read() as conn:
            found = await call_store.due(conn, rang_before, seen_before)
        ended: list[Call] = []
        for call_id, due_state in found:
            async with self._changes.begin() as uow:
                call = await call_store.get(uow.conn, call_id)
                # A call that moved on since it was found (answered) is not due for
                # what it was found for: the next sweep looks at it again.
                if call is None or call.state != due_state:
                    continue
                if call.state == CallState.ACTIVE:
                    outcome = CallOutcome.COMPLETED
                elif call.started_at < rang_before:
                    outcome = CallOutcome.MISSED
                else:
                    outcome = CallOutcome.CANCELLED
                done = await self._end(uow, call, outcome)
            if done is not None:
                ended.append(done)
        return ended

    # ---- ICE servers -------------------------------------------------------------------

    def ice_servers(self, user: User) -> list[dict[str, Any]]:
        """The STUN and TURN servers for this user's browser in a call: as configured,
        with TURN credentials made for them (TURN REST convention) when a shared
        secret is set and the server lists none of its own."""
        settings = self._settings
        expires = unix(self._clock.now()) + settings.turn_ttl_seconds
        servers = []
        for server in settings.ice_servers:
            given = dict(server)
            if settings.turn_secret and _is_turn(given) and "username" not in given:
                given["username"], given["credential"] = turn_credentials(
                    settings.turn_secret, user.id, expires
                )
            servers.append(given)
        return servers

    # ---- inside ----------------------------------------------------------------------

    async def _party_call(
        self, conn: AsyncConnection, widget: Widget, user: User, call_id: int
    ) -> Call:
        """The call, if the user is one of its two parties (else, as if there were none)."""
        call = await call_store.get(conn, call_id)
        if call is None or call.imba_id != widget.imba_id or user.id not in call.party_ids():
            raise NotFound(CALL_GONE.format(call_id=call_id), field="call_id")
        return call

    async def _get(self, conn: AsyncConnection, call_id: int) -> Call:
        call = await call_store.get(conn, call_id)
        assert call is not None
        return call

    async def _end(
        self, uow: UnitOfWork[AsyncConnection], call: Call, outcome: CallOutcome
    ) -> Call | None:
        """End the call (unless another node just did): its record in the dialog, and
        ``call.ended`` with the sockets it had, so those tabs hear it is over. Only
        from the state ``call`` is in: None when it moved on (answered or ended)."""
        now = self._clock.now()
        if not await call_store.end(uow.conn, call.id, call.state, outcome, now):
            return None
        ended = replace(call, state=CallState.ENDED, outcome=outcome, ended_at=now)
        await self._record(uow, ended)
        uow.emit(CallEnded(ended))
        return ended

    async def _record(self, uow: UnitOfWork[AsyncConnection], call: Call) -> None:
        """The call's record: a message of the caller's in the dialog, stored and
        announced as every message is (history, replay, webhooks, e-mails)."""
        assert call.outcome is not None
        summary = CallSummary(call.kind, call.outcome, call.duration)
        name, is_bot = await call_store.author_of(uow.conn, call.caller_id)
        draft = MessageDraft(
            imba_id=call.imba_id,
            room_id=call.room_id,
            author_id=call.caller_id,
            body=record_text(summary),
            author_remote_id=call.caller_remote_id,
            author_name=name,
            author_is_bot=is_bot,
            room_type=RoomType.DIALOG,
            call=summary,
        )
        now = self._clock.now()
        [(message, _)] = await uow.conn.run_sync(message_store.insert_batch, [draft], now)
        uow.emit(MessageNew(message))
