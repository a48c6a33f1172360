"""Calls from a socket: place, answer, decline, hang up, resume after a reconnect,
and the signals two browsers exchange to connect. Thin like :mod:`requests` (whose
table includes these handlers): the rules are :mod:`imbachat.services.calls`'s; the
frames of a call's state reach both parties through the hub, and every node keeps
its sockets in their calls (:class:`CallKeeper`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from imbachat.domain import Call
from imbachat.realtime import frames
from imbachat.realtime.connection import Connection
from imbachat.realtime.hub import Hub
from imbachat.realtime.protocol import FrameError
from imbachat.services import Services
from imbachat.states import CallChange, CallKind, CallState

log = logging.getLogger(__name__)

Handler = Callable[[Connection, dict[str, Any]], Awaitable[None]]
MAX_SDP = 32_000  # characters of a session description (a video call's is ~5,000)
MAX_CANDIDATE = 1_000
MAX_CANDIDATE_FIELD = 256  # an sdpMid or usernameFragment (a few characters in practice)
_DESCRIPTIONS = ("offer", "answer", "rollback")
_END_REASONS = ("hangup", "failed")


def checked_signal(signal: dict[str, Any]) -> dict[str, Any]:
    """An SDP description (``{"description": {"type", "sdp"}}``) or an ICE candidate
    (``{"candidate": {"candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"}}``),
    with only those fields: nothing else is relayed to the other browser."""
    if len(signal) != 1 or not ({"description", "candidate"} & signal.keys()):
        raise FrameError(422, "call_signal: signal is {description} or {candidate}.", "call_signal")
    if "description" in signal:
        given = signal["description"]
        if (
            not isinstance(given, dict)
            or given.get("type") not in _DESCRIPTIONS
            or not isinstance(given.get("sdp", ""), str)
            or len(given.get("sdp", "")) > MAX_SDP
        ):
            raise FrameError(
                422,
                f"call_signal: description is {{type: offer|answer|rollback, sdp}}"
                f" (at most {MAX_SDP} characters).",
                "call_signal",
            )
        return {"description": {"type": given["type"], "sdp": given.get("sdp", "")}}
    given = signal["candidate"]
    fields = {"candidate": str, "sdpMid": str, "sdpMLineIndex": int, "usernameFragment": str}
    if not isinstance(given, dict) or not isinstance(given.get("candidate"), str):
        raise FrameError(
            422, "call_signal: candidate is an RTCIceCandidate's fields.", "call_signal"
        )
    kept: dict[str, Any] = {}
    for name, kind in fields.items():
        value = given.get(name)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise FrameError(
                422, f"call_signal: candidate.{name} has the wrong type.", "call_signal"
            )
        kept[name] = value
    if len(kept["candidate"]) > MAX_CANDIDATE:
        raise FrameError(413, "call_signal: the candidate is too long.", "call_signal")
    for name in ("sdpMid", "usernameFragment"):
        if kept[name] is not None and len(kept[name]) > MAX_CANDIDATE_FIELD:
            raise FrameError(
                413,
                f"call_signal: candidate.{name} is longer than {MAX_CANDIDATE_FIELD} characters.",
                "call_signal",
            )
    return {"candidate": kept}


def handlers(services: Services, hub: Hub) -> dict[str, Handler]:
    calls = services.calls

    def answer(conn: Connection, call: Call, change: CallChange) -> None:
        """The socket that asked hears the call's state with its ICE servers; none for
        an ended call (its TURN credentials would only be given away), but the field
        stays, so the widget knows the frame for the answer to its own."""
        here = hub.socket_key(conn) in (call.caller_socket, call.callee_socket)
        servers = [] if call.state == CallState.ENDED else calls.ice_servers(conn.user)
        conn.push(frames.call(call, change, here=here, ice_servers=servers))

    async def call_invite(conn: Connection, frame: dict[str, Any]) -> None:
        try:
            kind = CallKind(frame.get("kind", CallKind.VIDEO))
        except ValueError:
            raise FrameError(422, "call_invite: kind is audio or video.", "call_invite") from None
        socket = hub.socket_key(conn)
        call = await calls.invite(conn.widget, conn.user, socket, frame["room_id"], kind)
        answer(conn, call, CallChange.STARTED)

    async def call_accept(conn: Connection, frame: dict[str, Any]) -> None:
        socket = hub.socket_key(conn)
        call = await calls.accept(conn.widget, conn.user, socket, frame["call_id"])
        answer(conn, call, CallChange.ANSWERED)

    async def call_decline(conn: Connection, frame: dict[str, Any]) -> None:
        """No direct answer: both parties get ``call`` ``ended``."""
        await calls.decline(conn.widget, conn.user, frame["call_id"])

    async def call_end(conn: Connection, frame: dict[str, Any]) -> None:
        reason = frame.get("reason", "hangup")
        if reason not in _END_REASONS:
            raise FrameError(422, "call_end: reason is hangup or failed.", "call_end")
        await calls.hang_up(conn.widget, conn.user, frame["call_id"], failed=reason == "failed")

    async def call_resume(conn: Connection, frame: dict[str, Any]) -> None:
        socket = hub.socket_key(conn)
        call = await calls.resume(conn.widget, conn.user, socket, frame["call_id"])
        answer(conn, call, CallChange.RESUMED)

    async def call_signal(conn: Connection, frame: dict[str, Any]) -> None:
        """No answer: the other party's socket in the call gets ``call_signal``."""
        signal = checked_signal(frame["signal"])
        await calls.signal(conn.widget, conn.user, hub.socket_key(conn), frame["call_id"], signal)

    return {
        "call_invite": call_invite,
        "call_accept": call_accept,
        "call_decline": call_decline,
        "call_end": call_end,
        "call_resume": call_resume,
        "call_signal": call_signal,
    }


class CallKeeper:
    """Every few seconds, on every node: say which of this node's sockets are open in
    calls (their parties stay in), then end the calls that are due (unanswered, or
    with a party gone past the grace), whichever node placed them."""

    def __init__(self, services: Services, hub: Hub) -> None:
        self._services = services
        self._hub = hub

    async def check(self) -> list[Call]:
        await self._services.calls.keep(list(self._hub.call_sockets))
        return await self._services.calls.sweep()

    async def run_forever(self, every_seconds: float) -> None:
        while True:
            await asyncio.sleep(every_seconds)
            try:
                await self.check()
            except Exception:
                log.exception("checking the calls failed")
