"""Signing in to the dashboard: the owner's password, throttled like the API's; a
signed HttpOnly session cookie; CSRF tokens on every form; sign-out; one-time links."""

from __future__ import annotations

import subprocess
import sys

from tests.dashboard.conftest import Owner


def test_the_sign_in_form_asks_for_the_widget_login_and_password(owner: Owner) -> None:
    page = owner.get("/")
    assert page.status_code == 200
    for field in ("imba_id", "login", "password", "csrf"):
        assert f'name="{field}"' in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_the_owner_signs_in_with_a_signed_http_only_lax_cookie(owner: Owner, widgets) -> None:
    widget = widgets()
    response = owner.sign_in(widget)
    assert response.status_code == 303
    assert response.headers["location"] == f"/dashboard/{widget.imba_id}/"
    cookie = response.headers["set-cookie"]
    assert "imbachat_dashboard=" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/dashboard" in cookie
    assert "Secure" not in cookie  # plain HTTP here; HTTPS gets Secure
    token, signature = owner.client.cookies["imbachat_dashboard"].split(".")
    assert len(token) > 30 and len(signature) > 30
    overview = owner.get(f"/{widget.imba_id}/")
    assert overview.status_code == 200
    assert "<svg" in overview.text


def test_a_forged_or_altered_cookie_signs_nobody_in(owner: Owner, widgets) -> None:
    widget = widgets()
    owner.sign_in(widget)
    token, signature = owner.client.cookies["imbachat_dashboard"].split(".")
    owner.client.cookies.clear()
    owner.client.cookies.set("imbachat_dashboard", f"{token}.{signature[::-1]}", path="/dashboard")
    page = owner.client.get(f"/dashboard/{widget.imba_id}/users")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/dashboard/?next=")


def test_a_wrong_password_is_refused_and_then_throttled(owner: Owner, widgets) -> None:
    widget = widgets()
    statuses = [owner.sign_in(widget, password="wrong").status_code for _ in range(5)]
    assert statuses == [401] * 5
    throttled = owner.sign_in(widget, password="wrong")
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    # Throttled means throttled: even the right password waits its turn.
    assert owner.sign_in(widget).status_code == 429
    assert "imbachat_dashboard" not in owner.client.cookies


def test_the_sign_in_form_needs_its_csrf_token(owner: Owner, widgets) -> None:
    widget = widgets()
    owner.get("/")
    fields = {"imba_id": widget.imba_id, "login": widget.login, "password": widget.password}
    assert owner.post("/sign-in", fields, csrf=False).status_code == 403
    assert owner.post("/sign-in", {**fields, "csrf": "forged"}).status_code == 403


def test_forms_without_their_csrf_token_are_refused(owner: Owner, widgets) -> None:
    widget = widgets()
    owner.signed_in(widget)
    base = f"/{widget.imba_id}"
    for path, data in [
        (f"{base}/users/5/ban", {}),
        (f"{base}/settings", {"users_info_url": "https://evil.test/u"}),
        (f"{base}/moderation/blocklist", {"words": "x"}),
        (f"{base}/webhooks", {"url": "https://example.test/hook"}),
        (f"{base}/settings/rotate-secret", {"confirm": "yes"}),
    ]:
        refused = owner.post(path, data, csrf=False)
        assert refused.status_code == 403, path
        assert "<html" in refused.text and "Traceback" not in refused.text
        assert owner.post(path, {**data, "csrf": "x" * 43}).status_code == 403, path
    stored = widget.server.run(lambda s: s.widgets.get(widget.imba_id))
    assert stored.users_info_url is None and stored.secret_key == widget.secret_key


def test_another_owners_widget_is_not_found(owner: Owner, stranger: Owner, widgets) -> None:
    mine, theirs = widgets(), widgets()
    owner.signed_in(mine)
    stranger.signed_in(theirs)
    for path in [
        "/",
        "/users",
        "/rooms",
        "/support",
        "/moderation",
        "/webhooks",
        "/settings",
        "/audit",
        "/rooms/1",
        "/users/1",
        "/webhooks/deliveries",
    ]:
        page = owner.get(f"/{theirs.imba_id}{path}")
        assert page.status_code == 404, path
        assert theirs.secret_key not in page.text
    # Forms too, even with this owner's valid token: 404, and nothing changes.
    owner.get(f"/{mine.imba_id}/")
    assert (
        owner.post(f"/{theirs.imba_id}/settings/rotate-secret", {"confirm": "yes"}).status_code
        == 404
    )
    assert owner.get("/99999999/").status_code == 404
    assert owner.get("/not-a-page/at/all").status_code == 404


def test_sign_out_ends_the_session_even_for_a_copied_cookie(owner: Owner, widgets) -> None:
    widget = widgets()
    owner.signed_in(widget)
    copied = owner.client.cookies["imbachat_dashboard"]
    assert owner.post("/sign-out").status_code == 303
    owner.client.cookies.set("imbachat_dashboard", copied, path="/dashboard")
    assert owner.client.get(f"/dashboard/{widget.imba_id}/").status_code == 303


def test_a_one_time_link_from_the_cli_signs_in_once(
    owner: Owner, stranger: Owner, widgets, database_url
) -> None:
    widget = widgets()
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "imbachat",
            "dashboard-link",
            "--imba-id",
            str(widget.imba_id),
            "--url",
            "https://chat.example.com",
            "--database",
            database_url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    link = made.stdout.strip()
    assert link.startswith("https://chat.example.com/dashboard/link/")
    path = link.removeprefix("https://chat.example.com/dashboard")
    page = owner.get(path)  # a link preview fetches it: that uses nothing up
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    assert owner.get(path).status_code == 200
    used = owner.post("/link", {"token": path.removeprefix("/link/")})
    assert used.status_code == 303
    assert used.headers["location"] == f"/dashboard/{widget.imba_id}/"
    assert owner.get(f"/{widget.imba_id}/").status_code == 200
    stranger.get(path)
    again = stranger.post("/link", {"token": path.removeprefix("/link/")})
    assert again.status_code == 401
    entries = owner.get(f"/{widget.imba_id}/audit").text
    assert "sign-in link created" in entries and "signed in with a one-time link" in entries
