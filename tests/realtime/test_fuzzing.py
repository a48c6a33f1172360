"""The socket protocol, fuzzed: hypothesis makes frames of every known type with
fields of every JSON type (and strings of digits no ASCII parser reads), frames
that are not JSON, binary frames and odd handshakes. Every bad frame must get an
``error`` frame (never a 500) or the documented close code, and no socket may be
dropped without one."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from imbachat.realtime import protocol

TYPES = sorted(protocol._FIELDS)  # every frame type the server knows
FIELDS = sorted({name for fields in protocol._FIELDS.values() for name in fields})
# Documented codes a hostile socket may be closed with (docs/protocol.md §5).
ALLOWED_CLOSES = {
    protocol.CLOSE_UNAUTHORIZED,
    protocol.CLOSE_AUTH_TIMEOUT,
    protocol.CLOSE_NOT_FOUND,
    protocol.CLOSE_TOO_SLOW,
    protocol.CLOSE_PROTOCOL,
    protocol.CLOSE_TOO_MANY,
    1009,  # a frame over ws_max_frame_bytes
}

tricky_text = st.sampled_from(
    ["²", "٣", "12³", " 7 ", "-1", "1e3", "0x10", "9" * 30, "\x00", "\ud7ff", "", "ー", "1_000"]
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    tricky_text,
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
frames = st.one_of(
    st.fixed_dictionaries(
        {"type": st.sampled_from(TYPES)},
        optional={name: values for name in FIELDS},
    ),
    st.dictionaries(st.sampled_from(["type", *FIELDS]), values, max_size=5),
    values,
).map(json.dumps)
raw = st.one_of(frames, st.text(max_size=60), st.binary(max_size=60))


@pytest.mark.fuzz
def test_hostile_frames_get_error_frames_or_a_documented_close(server, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_type=1)
    url = f"{server.ws_url}/imbachat/v1/{widget.imba_id}/ws?token={widget.token(1)}"

    @settings(
        max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(batch=st.lists(raw, min_size=1, max_size=25))
    def session(batch: list[str | bytes]) -> None:
        with connect(url, open_timeout=10, close_timeout=5) as ws:
            json.loads(ws.recv(timeout=10))  # ready
            try:
                for data in batch:
                    ws.send(data)
                ws.send(json.dumps({"type": "ping"}))
                while True:  # every frame sent before the ping is answered before its pong
                    frame = json.loads(ws.recv(timeout=10))
                    if frame["type"] == "error":
                        assert frame["code"] != 500, frame
                    if frame["type"] == "pong":
                        break
            except ConnectionClosed:
                code = ws.close_code
                assert code in ALLOWED_CLOSES, f"closed with {code} after {batch!r}"

    del room
    session()


@pytest.mark.fuzz
def test_odd_handshakes_are_refused_with_a_documented_close(server, widgets) -> None:
    widget = widgets()
    good = widget.token(1)

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        imba_id=st.one_of(st.just(str(widget.imba_id)), st.text(min_size=1, max_size=12)),
        token=st.one_of(st.just(good), st.text(max_size=40)),
        resume=st.one_of(st.none(), st.text(max_size=30), tricky_text.map(lambda t: f"{t}:1")),
    )
    def handshake(imba_id: str, token: str, resume: str | None) -> None:
        query = f"token={quote(token)}" + (f"&resume={quote(resume)}" if resume is not None else "")
        url = f"{server.ws_url}/imbachat/v1/{quote(imba_id, safe='')}/ws?{query}"
        try:
            ws = connect(url, open_timeout=10, close_timeout=5)
        except InvalidStatus as exc:  # an HTTP answer: a path no route takes, a bad request
            assert exc.response.status_code in (400, 403, 404, 414), exc
            return
        with ws:
            try:
                first: Any = json.loads(ws.recv(timeout=10))
                assert first["type"] == "ready"
            except ConnectionClosed:
                assert ws.close_code in ALLOWED_CLOSES, (ws.close_code, imba_id, token, resume)

    handshake()
