"""Logs: a line per request and per socket, as text or JSON lines, and never a secret.

A real server is driven with every credential the API knows (a user's JWT in the
query and in headers, Basic auth, the owner's password, a file link's signature, a
dashboard cookie, a bearer token); everything logged while it serves them is captured
through the same handler the server installs, then searched for each secret.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from imbachat.config import Settings
from imbachat.logs import configure_logging, make_handler, redact
from tests.conftest import LiveServer
from tests.factories import WidgetFactory

LOGGERS = ("imbachat", "uvicorn", "uvicorn.error", "uvicorn.access")


@pytest.fixture
def captured() -> Iterator[Callable[[str], io.StringIO]]:
    """``capture(fmt)``: everything the server logs at INFO, formatted as ``fmt``."""
    root = logging.getLogger()
    installed: list[logging.Handler] = []
    levels = {name: logging.getLogger(name).level for name in LOGGERS}

    def capture(log_format: str) -> io.StringIO:
        stream = io.StringIO()
        handler = make_handler(log_format, stream)
        root.addHandler(handler)
        installed.append(handler)
        for name in LOGGERS:
            logging.getLogger(name).setLevel(logging.INFO)
        return stream

    yield capture
    for handler in installed:
        root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def _wait_for(stream: io.StringIO, text: str, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while text not in stream.getvalue():
        assert time.monotonic() < deadline, f"{text!r} never logged:\n{stream.getvalue()}"
        time.sleep(0.02)


def _drive(live: LiveServer) -> tuple[int, list[str]]:
    """Every kind of credential sent to the server; returns the widget and secrets."""
    with httpx.Client(base_url=live.url, timeout=30) as http:
        widget = WidgetFactory(live, http)(password="owner-pass-Zq81xLw")
        jwt = widget.token(7)
        basic = base64.b64encode(f"{widget.imba_id}:{widget.secret_key}".encode()).decode()
        room = widget.room([7, 8])  # the v1 owner password, in the form
        answer = http.post(
            widget.v2("get_rooms") + f"?token={jwt}&jwt={jwt}",
            data={"user_id": 7},
            headers={"JWT": jwt, "X-Request-Id": "trace-42"},
        )
        assert answer.status_code < 500
        assert answer.headers["x-request-id"] == "trace-42"
        assert widget.post("get_messages", {"room_id": room}).status_code == 200
        sig, bearer = "SiGnAtUrE0123456789abcdef", "bearer-tok-88aa77"
        fetched = http.get(
            f"/imbachat/v1/{widget.imba_id}/files/999/original?expires=9999999999&signature={sig}&sig={sig}"
        )
        assert fetched.status_code in (401, 403, 404)
        cookie = "dashcookie-value-5f5f5f"
        http.get("/dashboard/", headers={"Cookie": f"imbachat_dashboard={cookie}"})
        http.get("/metrics", headers={"Authorization": f"Bearer {bearer}"})
        unsafe = http.get("/healthz", headers={"X-Request-Id": "no spaces\tor tabs"})
        assert unsafe.headers["x-request-id"] != "no spaces\tor tabs"
        url = f"{live.ws_url}/imbachat/v1/{widget.imba_id}/ws?token={jwt}&guest={jwt}"
        with connect(url, additional_headers={"Authorization": f"Bearer {jwt}"}) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "ready"
            ws.close(1000)
    secrets = [jwt, widget.secret_key, basic, widget.password, sig, cookie, bearer]
    return widget.imba_id, secrets


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_no_secret_is_ever_logged(
    start_server: Callable[..., LiveServer],
    captured: Callable[[str], io.StringIO],
    log_format: str,
) -> None:
    live = start_server()
    stream = captured(log_format)  # after the start, which sets uvicorn's log level
    imba_id, secrets = _drive(live)
    _wait_for(stream, "socket closed")
    output = stream.getvalue()
    assert f"imba_id={imba_id}" in output or f'"imba_id": "{imba_id}"' in output
    assert "WebSocket" in output  # uvicorn's own line was captured, query blanked
    for secret in secrets:
        assert secret not in output, f"{secret!r} was logged:\n{output}"
    assert "token=" not in output.replace("token=[redacted]", "")


def test_json_lines_carry_the_request_fields(
    start_server: Callable[..., LiveServer], captured: Callable[[str], io.StringIO]
) -> None:
    live = start_server()
    stream = captured("json")
    imba_id, _ = _drive(live)
    _wait_for(stream, "socket closed")
    entries = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    assert all(isinstance(entry, dict) for entry in entries)
    requests = [e for e in entries if e["logger"] == "imbachat.access" and "status" in e]
    for entry in requests:
        for field in ("request_id", "imba_id", "route", "status", "duration_ms"):
            assert field in entry, entry
        assert isinstance(entry["duration_ms"], float)
    by_route: dict[str, dict[str, Any]] = {e["route"]: e for e in requests if e["route"]}
    rooms = by_route["/imbachat/v2/{imba_id}/get_rooms"]
    assert rooms["request_id"] == "trace-42"
    assert rooms["imba_id"] == str(imba_id)
    assert rooms["status"] == 200
    assert by_route["/healthz"]["imba_id"] is None
    sockets = [e for e in entries if e["logger"] == "imbachat.access" and "close_code" in e]
    assert sockets and sockets[-1]["close_code"] == 1000
    assert sockets[-1]["imba_id"] == str(imba_id)
    assert sockets[-1]["route"] == "/imbachat/v1/{imba_id}/ws"


def test_redact_blanks_credentials_in_library_lines() -> None:
    line = redact(
        '1.2.3.4 - "WebSocket /imbachat/v1/5/ws?token=abc.def" [accepted] '
        "POST https://bot.example/hook?key=k1&x=1 Authorization: Basic dXNlcjpwYXNz "
        "redis://user:pa55@redis:6379 eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjF9.c2ln"
    )
    for secret in ("abc.def", "k1", "dXNlcjpwYXNz", "pa55", "eyJhbGci"):
        assert secret not in line, line


def test_log_format_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMBACHAT_LOG_FORMAT", "json")
    assert Settings().log_format == "json"
    assert Settings(log_format="text").log_format == "text"
    with pytest.raises(ValueError):
        make_handler("xml")


def test_configure_logging_writes_json_lines_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        configure_logging("json", "info")
        logging.getLogger("imbachat.somewhere").info("called https://x.example/?token=%s", "t0k")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    entry = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert entry["logger"] == "imbachat.somewhere"
    assert entry["message"] == "called https://x.example/?token=[redacted]"
