"""What an attacker sends over HTTP gets a clear 4xx: numbers no parser should read,
ids beyond the database's range, password guessing, webhook URLs aimed at nothing
or at the server's own network, text that is not UTF-8."""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx
import jwt
import pytest
from sqlalchemy import select, update

from imbachat.store.schema import webhook_deliveries, webhooks
from tests.factories import TestWidget

TOO_BIG = "9223372036854775808"  # 2^63: one past the BIGINT columns


def owner(widget: TestWidget, method: str, path: str, **kw) -> httpx.Response:
    kw.setdefault("auth", widget.basic)
    return widget.http.request(method, f"/api/v1/{widget.imba_id}/{path}", **kw)


# ---- numbers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("DELETE", f"webhooks/{TOO_BIG}", "webhook_id"),
        ("POST", f"webhooks/deliveries/{TOO_BIG}/replay", "delivery_id"),
        ("POST", f"users/{TOO_BIG}/ban", "user_id"),
        ("POST", f"rooms/{TOO_BIG}/close", "room_id"),
        ("DELETE", f"messages/{TOO_BIG}", "message_id"),
        ("DELETE", "messages/%C2%B2", "message_id"),  # "²"
        ("DELETE", "messages/%D9%A3", "message_id"),  # "٣", which int() reads as 3
    ],
)
def test_ids_in_paths_beyond_the_database_or_not_ascii_are_422(
    widgets, method: str, path: str, field: str
) -> None:
    widget = widgets()

    answer = owner(widget, method, path)

    assert answer.status_code == 422, answer.text
    assert field in answer.json()["errors"]


def test_a_widget_id_that_is_not_ascii_digits_is_no_widget(http) -> None:
    script = http.get("/imbachat/v1/%C2%B2/widget")
    listing = http.post("/imbachat/v2/%C2%B2/get_users", auth=("²", "x"))

    assert script.status_code == 404
    assert "no widget" in script.text
    assert listing.status_code == 404, listing.text


def test_odd_digits_in_form_fields_are_refused_or_ignored_never_a_500(widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_type=1)

    by_index = widget.http.post(
        "/imbachat/v1/widget/imba_rooms",
        data={**widget.owner_fields(), "room_id": str(room), "users_ids[²]": "3"},
    )
    date = widget.post("get_users", {"last_message_date": "²"})
    date_from = widget.post("get_messages", {"date_from": "²"})
    user = widget.post("send_msg", {"user_id": "٣", "room_id": room, "message": "hi"})

    assert by_index.status_code == 200, by_index.text  # an index that is no number is "[]"
    assert [int(u["remote_user_id"]) for u in widget.listed("get_users")] == [1, 2, 3]
    assert (date.status_code, list(date.json()["errors"])) == (422, ["last_message_date"])
    assert (date_from.status_code, list(date_from.json()["errors"])) == (422, ["date_from"])
    assert (user.status_code, list(user.json()["errors"])) == (422, ["user_id"])


@pytest.mark.parametrize("user_id", ["²", "٣", TOO_BIG, True, -1])
def test_a_token_whose_user_id_is_no_id_is_refused(widgets, user_id) -> None:
    widget = widgets()
    token = jwt.encode({"user_id": user_id, "exp": int(time.time()) + 60}, widget.secret_key)

    answer = widget.http.post(widget.v2("get_rooms"), headers={"JWT": token})

    assert answer.status_code == 401, answer.text


# ---- owner passwords -------------------------------------------------------------------


def imba_rooms(widget: TestWidget, password: str, login: str | None = None) -> httpx.Response:
    fields = {**widget.owner_fields(), "password": password}
    if login is not None:
        fields["login"] = login
    return widget.http.post("/imbachat/v1/widget/imba_rooms", data=fields)


def test_guessing_an_owners_password_is_stopped_with_429_within_ten_tries(widgets) -> None:
    widget = widgets()

    answers = [imba_rooms(widget, f"guess {i}") for i in range(10)]

    codes = [a.status_code for a in answers]
    assert codes[:5] == [401] * 5
    assert set(codes[5:]) == {429}
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 900
    # Locked for everyone guessing this login, the right password included...
    assert imba_rooms(widget, widget.password).status_code == 429
    # ...but not for other owners.
    other = widgets()
    assert imba_rooms(other, other.password).status_code == 200


def test_an_unknown_login_costs_what_a_wrong_password_costs(widgets) -> None:
    """No login enumeration by timing: both are checked against an argon2 hash."""
    widget = widgets()

    def seconds(login: str, attempt: int) -> float:
        started = time.perf_counter()
        answer = imba_rooms(widget, f"wrong {attempt}", login=login)
        assert answer.status_code == 401, answer.text
        return time.perf_counter() - started

    imba_rooms(widget, "warm up", login="nobody-warm-up")  # the stand-in hash is made once
    known = statistics.median(seconds(widget.login, i) for i in range(3))
    unknown = statistics.median(seconds(f"nobody-{i}", i) for i in range(3))

    # Unequal costs differ a hundredfold (1 ms against 100 ms); noise, not that much.
    assert unknown > known / 3, (known, unknown)


def test_password_checks_run_a_few_at_a_time_and_a_crowd_is_told_to_wait(start_server) -> None:
    server = start_server(owner_auth_failures_per_address=1_000, password_checks_at_once=1)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        from tests.factories import WidgetFactory

        widget = WidgetFactory(server, client)()
        # The stand-in hash for unknown logins is made once, before the crowd comes.
        warm_up = {**widget.owner_fields(), "login": "nobody-warm-up"}
        assert client.post("/imbachat/v1/widget/imba_rooms", data=warm_up).status_code == 401

    crowd = 48  # distinct logins, so only the crowd limit (not the per-login one) answers

    async def guess_all() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=crowd)
        async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        "/imbachat/v1/widget/imba_rooms",
                        data={**widget.owner_fields(), "login": f"guess-{i}"},
                    )
                    for i in range(crowd)
                )
            )

    answers = asyncio.run(guess_all())
    codes = [a.status_code for a in answers]

    assert set(codes) == {401, 429}, codes
    # One check at a time, each tens of milliseconds, with at most 8 in flight or
    # waiting: however the crowd's arrival is spread, most of it is told to wait.
    assert codes.count(429) >= crowd // 3, codes
    told_to_wait = next(a for a in answers if a.status_code == 429)
    assert "at once" in told_to_wait.text
    assert told_to_wait.headers["Retry-After"] == "1"


# ---- webhook URLs --------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1",
        "http://site.test/hook\r\nX-Injected: yes",
        "http://site.test:99999/hook",
        "http://site.test:0/hook",
        "http:///no-host",
        "ftp://site.test/hook",
        "http://site.test/" + "a" * 2048,
        "http://site .test/hook",
    ],
)
def test_webhook_urls_that_cannot_be_delivered_to_are_refused_when_given(widgets, url) -> None:
    widget = widgets()

    answer = owner(widget, "POST", "webhooks", json={"url": url})

    assert answer.status_code in (413, 422), answer.text
    assert "url" in answer.json()["errors"]


def test_a_server_shared_by_owners_refuses_webhooks_into_its_own_network(start_server) -> None:
    server = start_server(webhook_internal_targets="refuse")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        from tests.factories import WidgetFactory

        widget = WidgetFactory(server, client)()
        for url in (
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "http://10.1.2.3/hook",
            "http://[::1]/hook",
            "http://169.254.169.254/latest/meta-data",
        ):
            answer = owner(widget, "POST", "webhooks", json={"url": url})
            assert answer.status_code == 422, (url, answer.text)
            assert "internal" in answer.json()["message"]


def test_a_delivery_to_a_broken_url_is_recorded_as_failed_and_retried_not_stuck(
    server, widgets
) -> None:
    """(A URL stored before URLs were checked: the attempt fails, is counted, and is
    retried later; it never stays pending unattempted.)"""
    widget = widgets()
    hook = owner(widget, "POST", "webhooks", json={"url": "http://127.0.0.1:9/hook"}).json()

    async def break_url(services) -> None:
        async with services.db.write() as conn:
            await conn.execute(
                update(webhooks)
                .where(webhooks.c.id == hook["data"]["id"])
                .values(url="http://[::1")
            )

    server.run(break_url)
    widget.room([1, 2], room_type=1)

    async def attempts(services) -> list[tuple[int, str | None, str]]:
        async with services.db.read() as conn:
            rows = await conn.execute(
                select(
                    webhook_deliveries.c.attempts,
                    webhook_deliveries.c.last_error,
                    webhook_deliveries.c.status,
                ).where(webhook_deliveries.c.imba_id == widget.imba_id)
            )
            return [tuple(row) for row in rows]

    deadline = time.monotonic() + 10
    while not any(count >= 1 for count, _, _ in server.run(attempts)):
        assert time.monotonic() < deadline, server.run(attempts)
        time.sleep(0.05)
    [(count, error, status)] = server.run(attempts)
    assert count >= 1 and status == "pending"
    assert error and "URL" in error.upper()


# ---- the rest --------------------------------------------------------------------------


def test_json_answers_are_never_content_sniffed(widgets) -> None:
    widget = widgets()
    for answer in (
        widget.post("get_users"),
        widget.http.get("/healthz"),
        widget.http.post(widget.v2("get_users")),  # an error answer too
    ):
        assert answer.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"user_id=1&room_id=1&message=%FF%FE", {}),  # a %-escape that is not UTF-8
        (b"user_id=1&room_id=1&message=caf\xe9", {}),  # Latin-1 bytes
    ],
)
def test_form_text_that_is_not_utf8_is_refused_not_garbled(widgets, content, headers) -> None:
    widget = widgets()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **headers}

    answer = widget.http.post(
        widget.v2("send_msg"), content=content, headers=headers, auth=widget.basic
    )

    assert answer.status_code == 422, answer.text
    assert "UTF-8" in answer.json()["message"]


def test_multipart_text_that_is_not_utf8_is_refused(widgets) -> None:
    widget = widgets()
    room = widget.room([1, 2], room_type=1)
    body = (
        b'--b\r\nContent-Disposition: form-data; name="user_id"\r\n\r\n1\r\n'
        b'--b\r\nContent-Disposition: form-data; name="room_id"\r\n\r\n'
        + str(room).encode()
        + b'\r\n--b\r\nContent-Disposition: form-data; name="message"\r\n\r\ncaf\xe9\r\n--b--\r\n'
    )

    answer = widget.http.post(
        widget.v2("send_msg"),
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=b"},
        auth=widget.basic,
    )

    assert answer.status_code == 422, answer.text
    assert widget.listed("get_messages", room_id=str(room)) == []
