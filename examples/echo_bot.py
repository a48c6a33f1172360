"""A tiny echo bot for imbachat: it receives webhook events and answers with send_msg.

Register it (the user becomes a bot that only gets the events of its rooms):

    imbachat webhooks add --imba-id 1 --url http://127.0.0.1:9000/ \\
        --secret a-webhook-secret-of-16+chars --bot-user-id 99

add user 99 to a room (imba_rooms with users_ids[]=99), then run:

    python examples/echo_bot.py --port 9000 --server http://127.0.0.1:8000 --imba-id 1 \\
        --secret-key <widget secret_key> --webhook-secret a-webhook-secret-of-16+chars \\
        --bot-user-id 99

Only the standard library: copy it anywhere.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 300


def signature_ok(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The check every receiver should make: HMAC-SHA256 of "{timestamp}.{body}"."""
    timestamp = headers.get("X-ImbaChat-Timestamp", "")
    given = headers.get("X-ImbaChat-Signature", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest("sha256=" + mac.hexdigest(), given)


class EchoBot:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.seen: set[str] = set()  # deliveries are at least once: dedupe by id
        self.lock = threading.Lock()

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        if not signature_ok(self.args.webhook_secret, headers, body):
            return 401
        with self.lock:
            delivery = headers.get("X-ImbaChat-Delivery", "")
            if delivery in self.seen:
                return 200
            self.seen.add(delivery)
        event = json.loads(body)
        message = event["data"].get("message") if event["event"] == "message.new" else None
        if message and message["user_id"] != self.args.bot_user_id and not message["is_bot"]:
            # Answer after acknowledging the webhook, so the server never waits on us.
            threading.Thread(target=self.reply, args=(message,), daemon=True).start()
        return 200

    def reply(self, message: dict) -> None:
        fields = {
            "user_id": self.args.bot_user_id,
            "room_id": message["room_id"],
            "message": f"Echo: {message['message']}",
            "answer_to": message["id"],
        }
        credentials = base64.b64encode(f"{self.args.imba_id}:{self.args.secret_key}".encode())
        request = urllib.request.Request(  # noqa: S310 - --server is the operator's http(s) URL
            f"{self.args.server}/imbachat/v2/{self.args.imba_id}/send_msg",
            data=urllib.parse.urlencode(fields).encode(),
            headers={"Authorization": f"Basic {credentials.decode()}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our server
            response.read()


def main() -> None:
    parser = argparse.ArgumentParser(description="An imbachat bot that echoes messages.")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--server", default="http://127.0.0.1:8000", help="imbachat base URL")
    parser.add_argument("--imba-id", type=int, required=True)
    parser.add_argument("--secret-key", required=True, help="the widget's secret_key")
    parser.add_argument("--webhook-secret", required=True)
    parser.add_argument("--bot-user-id", type=int, required=True)
    args = parser.parse_args()
    if not args.server.startswith(("http://", "https://")):
        parser.error("--server must be an http(s) URL")
    bot = EchoBot(args)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(bot.handle(dict(self.headers), body))
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", bot.args.port), Handler)
    print(f"echo bot listening on http://127.0.0.1:{bot.args.port}/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
