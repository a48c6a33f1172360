"""A stand-in for a customer's website: pages that embed the widget exactly as the
published CMS plugins do (script tag from the chat server, 50 ms polling, a JWT
signed server-side), plus "Write a message" buttons and a public-chat block."""

from __future__ import annotations

import html
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt

from imbachat.auth.tokens import issue_user_token
from tests.fakes import POLL

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Host site</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
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
<div id="public-chat" style="width:420px;max-width:100%;height:480px"></div>
{extra}
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


# The WordPress plugin's own calls, as its current code makes them: everything on
# window.imbaApi, promises chained for the buttons' spinners, the two globals it
# reads its labels from, and load() with no arguments for a visitor.
PLUGIN_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>A WordPress site</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<h1>{heading}</h1>
<button id="write" type="button">…</button>
<button id="join" type="button">…</button>
<button id="open" type="button" onclick="imbaApi.openChat()">open</button>
<button id="close" type="button" onclick="imbaApi.closeChat()">close</button>
{holder}
<script src="{server}/imbachat/v1/{imba_id}/widget"></script>
<script>
  window.events = [];
  function spin(button, work) {{
    button.dataset.state = "busy";
    work().then(function () {{ button.dataset.state = "done"; }})
      .catch(function (error) {{ button.dataset.state = "error: " + error.message; }});
  }}
  (function init() {{
    if (!window.ImbaChat) {{ return setTimeout(init, 50); }}
    document.getElementById("write").textContent = gettext("imbachat", "wp_chat_with_user");
    document.getElementById("join").textContent = imbaChatLangJson["wp_join_group"];
    document.getElementById("write").onclick = function () {{
      spin(this, function () {{ return imbaApi.openDialog("{other}", 0, "{dialog_jwt}"); }});
    }};
    document.getElementById("join").onclick = function () {{
      spin(this, function () {{
        return imbaApi.addToRoom({{pipe: "wp-group-7", title: "Gardeners", is_public: 1,
                                  type: imbaApi.room_type.conference}});
      }});
    }};
    var params = {params};
    (params ? window.ImbaChat.load(params) : window.ImbaChat.load())
      .then(function () {{ window.events.push("resolved"); }});
  }})();
</script>
</body></html>
"""


# A long page with its own fixed bottom bar, as many shops have.
EXTRAS = {
    "tall": '<p id="far-below" style="margin-top:3000px">the end of the page</p>'
    '<nav id="bottom-bar" style="position:fixed;bottom:0;left:0;right:0;height:56px;'
    'background:#333;color:#fff">Cart · Menu</nav>',
}


def photo(width: int = 1200, height: int = 800, orientation: int | None = None) -> bytes:
    """A JPEG as phones take them: GPS position in its EXIF, and (``orientation``) a
    rotation for the viewer to apply. Its top left corner is red, the rest blue."""
    from PIL import Image

    image = Image.new("RGB", (width, height), (30, 60, 200))
    image.paste((220, 20, 20), (0, 0, width // 4, height // 4))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    if orientation:
        exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def pdf(size: int = 2048) -> bytes:
    """A small PDF of exactly ``size`` bytes (the server tells files by their content)."""
    head = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"
    tail = b"\n%%EOF\n"
    return head + b"%" * (size - len(head) - len(tail)) + tail


def send_files(widget: Any, user: int, room: int, files: dict[str, bytes], text: str = "") -> None:
    """A message of ``user`` with these files (name: content), as a site's backend
    sends one: each file uploaded with Basic auth, then send_msg with their ids."""
    ids = []
    for name, content in files.items():
        answer = widget.http.post(
            f"/imbachat/v1/{widget.imba_id}/files",
            auth=widget.basic, data={"user_id": str(user)}, files={"file": (name, content)},
        )  # fmt: skip
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["data"]["id"])
    fields = {f"attachments[{i}]": str(file_id) for i, file_id in enumerate(ids)}
    widget.send(user, room, text, **fields)


class HostSite:
    def __init__(self, chat_url: str, imba_id: int, secret_key: str) -> None:
        self.chat_url = chat_url
        self.imba_id = imba_id
        self.secret_key = secret_key
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, kwargs=POLL, daemon=True).start()

    def page_url(self, user: int, **options: Any) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"user": user, **options}.items())
        return f"{self.url}/?{query}"

    def render(self, query: dict[str, list[str]]) -> bytes:
        if "plugin" in query:
            return self.render_plugin(query)
        user = int(query.get("user", ["1"])[0])
        ttl = int(query.get("ttl", ["86400"])[0])
        params: dict[str, Any] = {
            "user_id": str(user),
            "token": issue_user_token(self.secret_key, user, ttl),
        }
        for option in ("lang", "position", "container", "theme"):
            if option in query:
                params[option] = query[option][0]
        if "offset" in query:
            params["offset"] = int(query["offset"][0])
        if "open" in query:
            params["open"] = True
        page = PAGE.format(
            extra=EXTRAS["tall"] if "tall" in query else "",
            other=html.escape(query.get("other", ["3"])[0]),
            server=self.chat_url,
            imba_id=self.imba_id,
            params=json.dumps(params),
            renew="true" if "renew" in query else "false",
        )
        return page.encode()

    def render_plugin(self, query: dict[str, list[str]]) -> bytes:
        """The WordPress plugin's page: ``user`` logged in (none: a visitor)."""
        user = int(query["user"][0]) if "user" in query else None
        other = query.get("other", ["2"])[0]
        params = None
        dialog_jwt = ""
        if user is not None:
            token = issue_user_token(self.secret_key, user)
            params = {"user_id": str(user), "user_key": token}  # the guide's other name
            dialog_jwt = jwt.encode(
                {"user_id": int(other), "initiator": user, "status": "user",
                 "exp": int(time.time()) + 600},
                query.get("dialog_secret", [self.secret_key])[0],
                algorithm="HS256",
            )  # fmt: skip
        holder = '<div id="imbachat_holder" data-imbachat_chat_ph="1" style="height:480px"></div>'
        page = PLUGIN_PAGE.format(
            lang=html.escape(query.get("lang", ["en"])[0]),
            heading="Visitor" if user is None else f"Member {user}",
            holder=holder if "holder" in query else "",
            server=self.chat_url,
            imba_id=self.imba_id,
            other=html.escape(other),
            dialog_jwt=dialog_jwt,
            params=json.dumps(params),
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
