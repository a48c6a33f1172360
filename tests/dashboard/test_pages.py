"""The dashboard's pages and actions, through HTTP as a browser sends them: each
change goes through the services (so the chat sees it) and into the audit log."""

from __future__ import annotations

import re

import pytest

from tests.dashboard.conftest import Owner


def audit_text(owner: Owner, widget) -> str:
    return owner.get(f"/{widget.imba_id}/audit").text


@pytest.mark.parametrize("lang", ["en", "es", "ru"])
def test_every_page_renders_in_each_language(owner: Owner, widgets, lang: str) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_title="Lobby")
    widget.send(1, room, "hello <b>there</b>")
    owner.signed_in(widget)
    owner.get(f"/?lang={lang}")
    base = f"/{widget.imba_id}"
    for path in [
        "/",
        "/overview/live",
        "/users",
        "/users/1",
        "/rooms",
        f"/rooms/{room}",
        f"/rooms/{room}/history",
        "/support",
        "/moderation",
        "/webhooks",
        "/webhooks/deliveries",
        "/settings",
        "/audit",
    ]:
        page = owner.get(base + path)
        assert page.status_code == 200, (path, page.text[:500])
        assert "Traceback" not in page.text
        if path != "/overview/live":
            assert f'<html lang="{lang}">' in page.text
    history = owner.get(f"{base}/rooms/{room}/history").text
    assert "hello &lt;b&gt;there&lt;/b&gt;" in history  # text, never markup
    assert {"en": "Overview", "es": "Resumen", "ru": "Обзор"}[lang] in owner.get(base + "/").text


def test_the_overview_counts_and_charts_the_last_30_days(owner: Owner, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2, 3])
    for author in (1, 2, 2):
        widget.send(author, room, "hi")
    owner.signed_in(widget)
    page = owner.get(f"/{widget.imba_id}/").text
    assert page.count("<svg") == 2
    assert len(re.findall(r'<rect class="bar"', page)) == 60
    # Today's bars: 3 messages, 2 people (their <title> says so).
    assert re.search(r"<title>\d{4}-\d\d-\d\d: 3</title></rect>", page)
    assert re.search(r"<title>\d{4}-\d\d-\d\d: 2</title></rect>", page)
    live = owner.get(f"/{widget.imba_id}/overview/live").text
    assert 'hx-trigger="every 15s"' in live
    for stat in ("online", "support", "reports", "failures"):
        assert f'data-stat="{stat}"' in live


def test_users_are_found_by_name_or_id_and_paginated(owner: Owner, widgets) -> None:
    widget = widgets()
    widget.room(list(range(1, 8)))
    widget.set_user(3, name="Zoë Example")
    owner.signed_in(widget)
    base = f"/{widget.imba_id}/users"
    assert "Zoë Example" in owner.get(base, params={"q": "zoë"}).text
    assert "Zoë Example" in owner.get(base, params={"q": "3"}).text
    first = owner.get(base, params={"limit": 3}).text
    assert 'rel="next"' in first
    following = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = owner.client.get(following).text
    assert "User 4" in second and "User 7" not in second


def test_a_profile_shows_the_rooms_and_a_ban_stops_sends(owner: Owner, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_title="Chatroom")
    owner.signed_in(widget)
    profile = owner.get(f"/{widget.imba_id}/users/2").text
    assert "Chatroom" in profile
    banned = owner.post(f"/{widget.imba_id}/users/2/ban")
    assert banned.status_code == 303
    refused = widget.post("send_msg", {"user_id": 2, "room_id": room, "message": "hi"})
    assert refused.status_code == 403
    owner.get(f"/{widget.imba_id}/users/2")
    owner.post(f"/{widget.imba_id}/users/2/unban")
    widget.send(2, room, "back again")
    owner.post(f"/{widget.imba_id}/users/2/bot", {"is_bot": "1"})
    assert "mark_person" not in profile
    assert "Mark as a person" in owner.get(f"/{widget.imba_id}/users/2").text
    log = audit_text(owner, widget)
    for entry in ("user banned", "user unbanned", "user marked as bot", "user 2"):
        assert entry in log


def test_rooms_filter_members_roles_removal_close_reopen(owner: Owner, widgets) -> None:
    widget = widgets()
    conference = widget.room([1, 2, 3], room_title="Conf", room_is_public=1, room_type=1)
    widget.room([1, 4], room_title="Private dialog")
    owner.signed_in(widget)
    base = f"/{widget.imba_id}/rooms"
    public = owner.get(base, params={"public": "1"}).text
    assert "Conf" in public and "Private dialog" not in public
    assert "Private dialog" in owner.get(base, params={"type": "0"}).text
    page = owner.get(f"{base}/{conference}").text
    assert "User 2" in page and 'value="admin" selected' in page
    assert (
        owner.post(f"{base}/{conference}/role", {"user_id": 2, "role": "moderator"}).status_code
        == 303
    )
    assert 'value="moderator" selected' in owner.get(f"{base}/{conference}").text
    owner.post(f"{base}/{conference}/remove", {"user_id": 3})
    assert "User 3" not in owner.get(f"{base}/{conference}").text
    owner.post(f"{base}/{conference}/close")
    assert "Conf" in owner.get(base, params={"status": "closed"}).text
    refused = widget.post("send_msg", {"user_id": 1, "room_id": conference, "message": "x"})
    assert refused.status_code == 403
    owner.get(f"{base}/{conference}")
    owner.post(f"{base}/{conference}/reopen")
    widget.send(1, conference, "open again")
    log = audit_text(owner, widget)
    for entry in ("member role changed", "member removed", "room closed", "room reopened"):
        assert entry in log


def test_history_is_paginated_and_messages_deleted(owner: Owner, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2])
    widget.store_many(room, 1, 7, text="note {i}")
    owner.signed_in(widget)
    base = f"/{widget.imba_id}/rooms/{room}/history"
    newest = owner.get(base, params={"limit": 3}).text
    assert "note 6" in newest and "note 3" not in newest
    older = re.search(r'href="([^"]+)" rel="prev"', newest).group(1).replace("&amp;", "&")
    assert "note 3" in owner.client.get(older).text
    message_id = re.search(r"/messages/(\d+)/delete", newest).group(1)
    assert owner.post(f"/{widget.imba_id}/messages/{message_id}/delete").status_code == 303
    assert "(deleted message)" in owner.get(base, params={"limit": 3}).text
    assert "message deleted" in audit_text(owner, widget)


def test_a_support_reply_goes_to_the_visitor_and_the_room_closes(owner: Owner, widgets) -> None:
    widget = widgets()
    room = widget.room([9], room_type=3, room_title="Technical support")
    widget.send(9, room, "my order is late")
    owner.signed_in(widget)
    inbox = owner.get(f"/{widget.imba_id}/support").text
    assert "my order is late" in inbox
    conversation = owner.get(f"/{widget.imba_id}/support/{room}")
    assert "my order is late" in conversation.text
    assert re.search(r"<h1>User 9", conversation.text)  # the visitor, not an operator
    sent = owner.post(
        f"/{widget.imba_id}/support/{room}/reply", {"as_user": 50, "text": "On its way!"}
    )
    assert sent.status_code == 303, sent.text
    history = widget.post("get_messages", {"room_id": room})
    assert "On its way!" in history.text
    page = owner.get(f"/{widget.imba_id}/support/{room}").text
    assert 'value="50"' in page  # the operator is remembered for the next reply
    owner.post(f"/{widget.imba_id}/rooms/{room}/close", {"back": "support"})
    assert "On its way!" not in owner.get(f"/{widget.imba_id}/support").text
    closed = owner.get(f"/{widget.imba_id}/support", params={"status": "closed"}).text
    assert "User 50: On its way!" in closed
    assert "support reply sent" in audit_text(owner, widget)


def test_blocklist_limits_and_the_reports_queue(owner: Owner, widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2])
    message = widget.send(2, room, "buy cheap pills")

    async def report(services):
        stored = await services.widgets.get(widget.imba_id)
        [reporter] = await services.users.ensure(stored, [1])
        await services.reports.report(stored, reporter, message["id"], "spam")

    widget.server.run(report)
    owner.signed_in(widget)
    page = owner.get(f"/{widget.imba_id}/moderation").text
    assert "buy cheap pills" in page and "spam" in page
    assert "Messages per user" in page
    owner.post(f"/{widget.imba_id}/moderation/blocklist", {"words": "pills\nscam"})
    refused = widget.post("send_msg", {"user_id": 1, "room_id": room, "message": "more pills"})
    assert refused.status_code == 422
    report_id = re.search(r"/moderation/reports/(\d+)", page).group(1)
    owner.get(f"/{widget.imba_id}/moderation")
    assert (
        owner.post(
            f"/{widget.imba_id}/moderation/reports/{report_id}", {"action": "ban_author"}
        ).status_code
        == 303
    )
    assert "buy cheap pills" not in owner.get(f"/{widget.imba_id}/moderation").text
    refused = widget.post("send_msg", {"user_id": 2, "room_id": room, "message": "hello"})
    assert refused.status_code == 403
    log = audit_text(owner, widget)
    assert "blocklist changed" in log and "report handled" in log


def test_webhooks_add_edit_disable_and_replay(owner: Owner, widgets) -> None:
    widget = widgets()
    owner.signed_in(widget)
    base = f"/{widget.imba_id}/webhooks"
    owner.get(base)
    added = owner.post(base, {"url": "http://127.0.0.1:9/hook", "events": ["message.new"]})
    assert added.status_code == 303, added.text
    page = owner.get(base).text
    hook_id = re.search(r"/webhooks/(\d+)/events", page).group(1)
    assert 'value="message.new" checked' in page
    owner.post(f"{base}/{hook_id}/events", {"events": ["message.new", "room.created"]})
    assert 'value="room.created" checked' in owner.get(base).text
    room = widget.room([1, 2])
    widget.send(1, room, "hi")
    deliveries = owner.get(f"{base}/deliveries").text
    assert "message.new" in deliveries
    delivery_id = re.search(r"/deliveries/(\d+)/replay", deliveries).group(1)
    assert owner.post(f"{base}/deliveries/{delivery_id}/replay").status_code == 303
    owner.get(base)
    owner.post(f"{base}/{hook_id}/disable")
    assert "Turn on" in owner.get(base).text
    bad = owner.post(base, {"url": "ftp://nope"})
    assert bad.status_code == 422 and "Traceback" not in bad.text
    log = audit_text(owner, widget)
    for entry in (
        "webhook added",
        "webhook events changed",
        "webhook delivery replayed",
        "webhook disabled",
    ):
        assert entry in log


def test_settings_save_and_the_secret_rotates(owner: Owner, widgets) -> None:
    widget = widgets()
    owner.signed_in(widget)
    base = f"/{widget.imba_id}/settings"
    page = owner.get(base, params={"position": "left", "title": "Help", "snippet_lang": "es"}).text
    assert f"/imbachat/v1/{widget.imba_id}/widget" in page
    assert (
        "&#34;position&#34;: &#34;left&#34;" in page and "&#34;title&#34;: &#34;Help&#34;" in page
    )
    saved = owner.post(
        base,
        {
            "users_info_url": "https://site.test/users",
            "theme": "dark",
            "accent_color": "#112233",
            "language": "ru",
            "guests_enabled": "1",
            "allowed_origins": "https://Site.test\nhttps://*.site.test",
        },
    )
    assert saved.status_code == 303
    stored = widget.server.run(lambda s: s.widgets.get(widget.imba_id))
    assert (stored.users_info_url, stored.theme, stored.accent_color) == (
        "https://site.test/users",
        "dark",
        "#112233",
    )
    assert stored.language == "ru" and stored.guests_enabled and not stored.notify_sound
    assert stored.allowed_origins == "https://site.test\nhttps://*.site.test"
    owner.get(base)
    wrong = owner.post(base, {"accent_color": "red"})
    assert wrong.status_code == 422
    owner.get(base)
    assert owner.post(base, {"allowed_origins": "site.test/page"}).status_code == 422
    owner.get(base)
    assert owner.post(f"{base}/rotate-secret").status_code == 422  # not confirmed
    assert owner.post(f"{base}/rotate-secret", {"confirm": "yes"}).status_code == 303
    rotated = widget.server.run(lambda s: s.widgets.get(widget.imba_id))
    assert rotated.secret_key != widget.secret_key
    log = audit_text(owner, widget)
    assert "secret key rotated" in log and "users_info_url" in log
    assert "site.test" not in log  # names of settings, never their values


def test_the_audit_log_is_paginated(owner: Owner, widgets) -> None:
    widget = widgets()
    owner.signed_in(widget)
    for _ in range(4):
        owner.get(f"/{widget.imba_id}/moderation")
        owner.post(f"/{widget.imba_id}/moderation/blocklist", {"words": "x"})
    first = owner.get(f"/{widget.imba_id}/audit", params={"limit": 2}).text
    assert first.count('class="entry"') == 2
    assert 'rel="next"' in first
