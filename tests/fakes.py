"""Stand-ins for third-party sites: a host site answering the Users info URL (GET)
and the Users search URL (POST)."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

# Comma lists of ids in a path, not digits that belong to a word such as "v1".
_ID_LISTS = re.compile(r"(?<![A-Za-z0-9])[0-9][0-9,]*")
# How often a fake's server looks at its shutdown flag: its stop() waits that long
# (the standard library's 0.5 s cost each test a quarter of a second on average).
POLL = {"poll_interval": 0.02}


@dataclass
class SeenRequest:
    path: str
    authorization: str | None
    method: str = "GET"


@dataclass
class FakeHostSite:
    """Answers every GET with ``answer(path)`` and every POST (a search) with
    ``search(path)``: (status, body) pairs; records requests.

    ``people`` maps host ids to the profile the site would answer for them; a search
    finds those whose name contains the text at the end of the path or query.
    """

    people: dict[int, dict[str, Any]] = field(default_factory=dict)
    mode: str = "ok"  # ok | garbage | hang | 401
    seen: list[SeenRequest] = field(default_factory=list)

    def answer(self, path: str) -> tuple[int, bytes]:
        if self.mode == "hang":
            time.sleep(10)
        if self.mode == "401":
            body = {"code": 401, "version": "1", "error": "Authenticate required!", "debug": ""}
            return 401, json.dumps(body).encode()
        if self.mode == "garbage":
            return 200, b"<html>Fatal error: something broke</html>"
        ids = [int(i) for token in _ID_LISTS.findall(path) for i in token.split(",") if i]
        return 200, json.dumps([self.people[i] for i in ids if i in self.people]).encode()

    def search(self, path: str) -> tuple[int, bytes]:
        if self.mode != "ok":
            return self.answer(path)
        parts = urlsplit(path)
        raw = parts.query.rpartition("=")[2] if parts.query else parts.path.rpartition("/")[2]
        text = unquote(raw)
        found = [p for p in self.people.values() if text.lower() in p["name"].lower()]
        return 200, json.dumps(found).encode()

    def start(self) -> str:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(site.answer)

            def do_POST(self) -> None:
                self._answer(site.search)

            def _answer(self, answer: Any) -> None:
                seen = SeenRequest(self.path, self.headers.get("Authorization"), self.command)
                site.seen.append(seen)
                status, body = answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs=POLL, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class Received:
    event: str
    delivery: str
    body: dict[str, Any]
    signed: bool


@dataclass
class FakeReceiver:
    """A site's webhook endpoint: verifies signatures, records what it got, and
    fails the first ``fail_first`` attempts of every delivery (500) on purpose."""

    secret: str
    fail_first: int = 0
    hang_seconds: float = 0.0
    got: list[Received] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)

    def start(self, port: int = 0) -> str:
        from imbachat.webhooks.signing import verify

        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                delivery = self.headers.get("X-ImbaChat-Delivery", "")
                tries = receiver.attempts[delivery] = receiver.attempts.get(delivery, 0) + 1
                if receiver.hang_seconds:
                    time.sleep(receiver.hang_seconds)
                if tries <= receiver.fail_first:
                    self.send_response(500)
                    self.end_headers()
                    return
                signed = verify(
                    receiver.secret,
                    self.headers.get("X-ImbaChat-Timestamp", ""),
                    raw,
                    self.headers.get("X-ImbaChat-Signature", ""),
                    tolerance=300,
                    now=int(time.time()),
                )
                receiver.got.append(
                    Received(
                        self.headers.get("X-ImbaChat-Event", ""), delivery, json.loads(raw), signed
                    )
                )
                self.send_response(200 if signed else 401)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs=POLL, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def events(self, name: str) -> list[Received]:
        return [r for r in self.got if r.event == name]
