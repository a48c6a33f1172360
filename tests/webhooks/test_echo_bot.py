"""Issue 5 §2: a bot gets its rooms' events by webhook and answers with send_msg;
its reply reaches the user's socket live, flagged as from a bot.

Runs the shipped examples/echo_bot.py as a real process."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from tests.conftest import free_port
from tests.realtime.client import ChatClient

BOT = 99
WEBHOOK_SECRET = "echo-bot-secret-0123456789"


def test_the_echo_bot_answers_a_user_over_a_real_socket(server, widgets, repo_root) -> None:
    widget = widgets()
    port = free_port()
    bot = subprocess.Popen(
        [sys.executable, str(repo_root / "examples" / "echo_bot.py"), "--port", str(port),
         "--server", server.url, "--imba-id", str(widget.imba_id),
         f"--secret-key={widget.secret_key}", "--webhook-secret", WEBHOOK_SECRET,
         "--bot-user-id", str(BOT)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert "listening" in bot.stdout.readline()
        response = widget.http.post(
            f"/api/v1/{widget.imba_id}/webhooks",
            json={"url": f"http://127.0.0.1:{port}/", "secret": WEBHOOK_SECRET, "bot_user_id": BOT},
            auth=widget.basic,
        )
        assert response.status_code == 201, response.text
        room = widget.room([1, BOT], room_type=1)
        other = widget.room([1, 2], room_type=1)  # the bot is not here: it hears nothing

        async def scenario() -> None:
            alice = await ChatClient.connect(server.ws_url, widget.imba_id, widget.token(1))
            sent = await alice.send(room, "ping the bot")
            await alice.send(other, "private")
            reply = await alice.next("message", room_id=room, timeout=10)
            assert reply["message"]["message"] == "Echo: ping the bot"
            assert reply["message"]["user_id"] == BOT
            assert reply["message"]["is_bot"] is True
            assert reply["message"]["answer_to"] == sent["id"]
            await asyncio.sleep(0.5)
            assert alice.taken_none("message")  # no echo of the echo, nothing from `other`
            await alice.close()

        asyncio.run(scenario())
        [bot_user] = widget.listed("get_users", user_id=str(BOT))
        assert bot_user["is_bot"] == 1
    finally:
        bot.terminate()
        bot.wait(timeout=10)
