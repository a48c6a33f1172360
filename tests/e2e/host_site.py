"""A stand-in for a customer's website: pages that embed the widget exactly as the
published CMS plugins do (script tag from the chat server, 50 ms polling, a JWT
signed server-side), plus "Write a message" buttons and a public-chat block."""

from __future__ import annotations

import html
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from imbachat.auth.tokens import issue_user_token

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Host site</title>
<style>
  /* A hostile theme: none of this may reach into the widget. */
  * {{ font-family: "Comic Sans MS", cursive !important; }}
  button {{ text-transform: uppercase; color: red; }}
  div {{ border: 0 solid red; }}
</style></head>
<body>
<h1>Profile of user {other}</h1>
<button id="write" type="button"
  onclick="window.imbaChat.openDialog('{other}')">Write a message</button>
<div id="public-chat" style="width:420px;height:480px"></div>
<script src="{server}/imbachat/v1/{imba_id}/widget"></script>
<script>
  window.events = [];
  (function init() {{
    if (!window.ImbaChat) {{ return setTimeout(init, 50); }}
    var params = {params};
    params.onInitSuccess = function () {{ window.events.push("onInitSuccess"); }};
    if ({renew}) {{
      // As a site would: its own endpoint signs a fresh token for the logged-in user.
      params.getToken = function () {{
        window.events.push("getToken");
        return fetch("/token?user=" + params.user_id).then(function (r) {{ return r.text(); }});
      }};
    }}
    window.loaded = window.ImbaChat.load(params)
      .then(function () {{ window.events.push("resolved"); }});
    window.imbaApi.on("imbaChat.loaded", function () {{ window.events.push("imbaChat.loaded"); }});
  }})();
</script>
</body></html>
"""


class HostSite:
    def __init__(self, chat_url: str, imba_id: int, secret_key: str) -> None:
        self.chat_url = chat_url
        self.imba_id = imba_id
        self.secret_key = secret_key
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def page_url(self, user: int, **options: Any) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"user": user, **options}.items())
        return f"{self.url}/?{query}"

    def render(self, query: dict[str, list[str]]) -> bytes:
        user = int(query.get("user", ["1"])[0])
        ttl = int(query.get("ttl", ["86400"])[0])
        params: dict[str, Any] = {
            "user_id": str(user),
            "token": issue_user_token(self.secret_key, user, ttl),
        }
        for option in ("lang", "position", "container"):
            if option in query:
                params[option] = query[option][0]
        if "open" in query:
            params["open"] = True
        page = PAGE.format(
            other=html.escape(query.get("other", ["3"])[0]),
            server=self.chat_url,
            imba_id=self.imba_id,
            params=json.dumps(params),
            renew="true" if "renew" in query else "false",
        )
        return page.encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = parse_qs(url.query)
                if url.path == "/token":
                    user = int(query.get("user", ["1"])[0])
                    body = issue_user_token(site.secret_key, user).encode()
                    kind = "text/plain"
                else:
                    body = site.render(query)
                    kind = "text/html; charset=utf-8"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        return Handler

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
