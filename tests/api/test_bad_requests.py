"""SPEC "Errors": malformed, unauthorised and cross-widget requests on all five endpoints.

Every case in ``CASES`` answers its exact status with the error envelope
``{"code": <status>, "message": <text>, "errors": {field: [reason]}}``, names the
field at fault, never answers 500, and leaves the other widget's data untouched.
"""

from __future__ import annotations

import base64
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest

from tests.factories import TestWidget, WidgetFactory

V1 = "/imbachat/v1/widget/imba_rooms"
MAX_ID = 2**63 - 1
TOO_BIG_ID = str(2**63)
HUGE_NUMBER = "1" + "0" * 30


@dataclass
class Ctx:
    """Two widgets that share host user ids 1 and 2, with rooms and messages in each.

    mine:   my_room (users 1, 2), other_room (user 3 only); my_msg in my_room,
            other_msg in other_room.
    theirs: their_room (users 1, 2, 77); their_msg in it. User 77 exists only there.
    """

    http: httpx.Client
    mine: TestWidget
    theirs: TestWidget
    my_room: int
    other_room: int
    their_room: int
    my_msg: int
    other_msg: int
    their_msg: int

    def v1(self, data: dict[str, Any], **kw: Any) -> httpx.Response:
        """POST imba_rooms with exactly these fields (no credentials added)."""
        return self.http.post(V1, data=data, **kw)

    def v2(self, endpoint: str, data: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        """POST a v2 endpoint of ``mine`` with mine's Basic credentials."""
        return self.mine.post(endpoint, data, **kw)

    def send(self, **fields: Any) -> httpx.Response:
        """send_msg on ``mine``: user 1 writes "hi" in my_room, unless overridden."""
        data = {"user_id": 1, "room_id": self.my_room, "message": "hi", **fields}
        return self.v2("send_msg", {k: v for k, v in data.items() if v is not None})

    def as_user(self, endpoint: str, token: str, **fields: Any) -> httpx.Response:
        """A v2 call of ``mine`` with a JWT header instead of Basic credentials."""
        return self.http.post(self.mine.v2(endpoint), data=fields, headers={"JWT": token})

    def raw_basic(self, endpoint: str, authorization: str | None) -> httpx.Response:
        headers = {} if authorization is None else {"Authorization": authorization}
        return self.http.post(self.mine.v2(endpoint), data={}, headers=headers)


@dataclass(frozen=True)
class Case:
    id: str
    call: Callable[[Ctx], httpx.Response]
    status: int
    field: str | None = None
    challenge: bool = False  # a 401 that must carry WWW-Authenticate: Basic
    cross_widget: bool = False  # aimed at the other widget's data


def b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode()


def signed(secret: str, algorithm: str = "HS256", **claims: Any) -> str:
    payload = {"user_id": 1, "exp": int(time.time()) + 3600, **claims}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short HMAC keys are the point of some cases
        return jwt.encode({k: v for k, v in payload.items() if v is not None}, secret, algorithm)


def alg_none(user_id: int = 1) -> str:
    header = b64('{"alg":"none","typ":"JWT"}').rstrip("=")
    body = b64(f'{{"user_id":{user_id},"exp":{int(time.time()) + 3600}}}').rstrip("=")
    return f"{header}.{body}."


def owner(c: Ctx, **fields: Any) -> dict[str, Any]:
    """mine's valid v1 credentials plus these fields (None removes a field)."""
    data = {**c.mine.owner_fields(), "users_ids[0]": "1", **fields}
    return {k: v for k, v in data.items() if v is not None}


CASES: list[Case] = [
    # --- v1 imba_rooms: required fields come before authentication -----------------
    Case("v1-empty-body", lambda c: c.v1({}), 422, "imba_id"),
    Case("v1-missing-imba_id", lambda c: c.v1(owner(c, imba_id=None)), 422, "imba_id"),
    Case("v1-missing-login", lambda c: c.v1(owner(c, login=None)), 422, "login"),
    Case("v1-missing-password", lambda c: c.v1(owner(c, password=None)), 422, "password"),
    Case(
        "v1-missing-password-wrong-login",
        lambda c: c.v1({"imba_id": c.mine.imba_id, "login": "nobody"}),
        422,
        "password",
    ),
    Case("v1-blank-quoted-imba_id", lambda c: c.v1(owner(c, imba_id='""')), 422, "imba_id"),
    # --- v1 wrong types -------------------------------------------------------------
    Case("v1-imba_id-abc", lambda c: c.v1(owner(c, imba_id="abc")), 422, "imba_id"),
    Case("v1-imba_id-negative", lambda c: c.v1(owner(c, imba_id="-5")), 422, "imba_id"),
    Case("v1-imba_id-zero", lambda c: c.v1(owner(c, imba_id="0")), 422, "imba_id"),
    Case("v1-imba_id-2**63", lambda c: c.v1(owner(c, imba_id=TOO_BIG_ID)), 422, "imba_id"),
    Case("v1-imba_id-huge", lambda c: c.v1(owner(c, imba_id=HUGE_NUMBER)), 422, "imba_id"),
    Case("v1-room_type-2", lambda c: c.v1(owner(c, room_type="2")), 422, "room_type"),
    Case(
        "v1-spanish-room_type-2",
        lambda c: c.v1(owner(c, **{"tipo_habitación": "2"})),
        422,
        "room_type",
    ),
    Case(
        "v1-room_is_public-5", lambda c: c.v1(owner(c, room_is_public="5")), 422, "room_is_public"
    ),
    Case("v1-room_id-abc", lambda c: c.v1(owner(c, room_id="abc")), 422, "room_id"),
    Case("v1-room_id-negative", lambda c: c.v1(owner(c, room_id="-1")), 422, "room_id"),
    Case("v1-room_id-2**63", lambda c: c.v1(owner(c, room_id=TOO_BIG_ID)), 422, "room_id"),
    Case("v1-users_ids-x", lambda c: c.v1(owner(c, **{"users_ids[0]": "x"})), 422, "users_ids"),
    Case(
        "v1-users_ids-negative",
        lambda c: c.v1(owner(c, **{"users_ids[]": "-4"})),
        422,
        "users_ids",
    ),
    Case(
        "v1-users_ids-2**63",
        lambda c: c.v1(owner(c, **{"users_ids[1]": TOO_BIG_ID})),
        422,
        "users_ids",
    ),
    # --- v1 sizes -------------------------------------------------------------------
    Case("v1-room_title-256", lambda c: c.v1(owner(c, room_title="t" * 256)), 413, "room_title"),
    Case("v1-room_pipe-256", lambda c: c.v1(owner(c, room_pipe="p" * 256)), 413, "room_pipe"),
    Case(
        "v1-501-users_ids",
        lambda c: c.v1(owner(c, users_ids=",".join(str(i) for i in range(1, 502)))),
        413,
        "users_ids",
    ),
    Case("v1-body-over-1MiB", lambda c: c.v1(owner(c, room_title="x" * (1 << 20))), 413),
    # --- v1 credentials -------------------------------------------------------------
    Case("v1-wrong-password", lambda c: c.v1(owner(c, password="wrong")), 401),
    Case("v1-wrong-login", lambda c: c.v1(owner(c, login="intruder")), 401),
    Case("v1-unknown-imba_id", lambda c: c.v1(owner(c, imba_id=str(MAX_ID))), 401),
    Case(
        "v1-other-widget-imba_id-with-my-credentials",
        lambda c: c.v1(owner(c, imba_id=c.theirs.imba_id)),
        401,
        cross_widget=True,
    ),
    Case(
        "v1-other-widget-room_id",
        lambda c: c.v1(owner(c, room_id=c.their_room, **{"users_ids[0]": "5"})),
        404,
        "room_id",
        cross_widget=True,
    ),
    # --- malformed bodies -----------------------------------------------------------
    Case(
        "v1-malformed-json",
        lambda c: c.http.post(
            V1, content=b'{"imba_id": 1,', headers={"Content-Type": "application/json"}
        ),
        422,
    ),
    Case(
        "v1-json-array-body",
        lambda c: c.http.post(V1, json=[1, 2, 3]),
        422,
    ),
    Case(
        "v1-json-nested-object",
        lambda c: c.http.post(V1, json={**c.mine.owner_fields(), "room_title": {"a": 1}}),
        422,
        "room_title",
    ),
    Case(
        "send_msg-malformed-json",
        lambda c: c.v2(
            "send_msg", content=b"{not json}", headers={"Content-Type": "application/json"}
        ),
        422,
    ),
    Case(
        "get_rooms-json-not-utf8",
        lambda c: c.v2(
            "get_rooms",
            content=b'{"room_type": "\xff"}',
            headers={"Content-Type": "application/json"},
        ),
        422,
    ),
    Case(
        "send_msg-multipart-without-boundary",
        lambda c: c.v2(
            "send_msg", content=b"user_id=1", headers={"Content-Type": "multipart/form-data"}
        ),
        422,
    ),
    Case(
        "send_msg-body-over-1MiB",
        lambda c: c.send(message="m" * (2 << 20)),
        413,
    ),
    Case(
        "send_msg-chunked-body-over-1MiB",
        lambda c: c.v2(
            "send_msg",
            content=iter([b"message=" + b"m" * 65536] + [b"m" * 65536] * 20),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        413,
    ),
    # --- v2 Basic authentication ----------------------------------------------------
    Case("get_users-no-auth", lambda c: c.raw_basic("get_users", None), 401, challenge=True),
    Case(
        "get_rooms-no-auth-no-jwt",
        lambda c: c.raw_basic("get_rooms", None),
        401,
        challenge=True,
    ),
    Case(
        "send_msg-no-auth",
        lambda c: c.http.post(c.mine.v2("send_msg"), data={"user_id": 1}),
        401,
        challenge=True,
    ),
    Case(
        "get_messages-wrong-secret",
        lambda c: c.v2("get_messages", auth=(str(c.mine.imba_id), "wrong")),
        401,
        challenge=True,
    ),
    Case(
        "get_users-bearer-scheme",
        lambda c: c.raw_basic("get_users", f"Bearer {c.mine.secret_key}"),
        401,
        challenge=True,
    ),
    Case(
        "get_users-basic-not-base64",
        lambda c: c.raw_basic("get_users", "Basic %%%not-base64%%%"),
        401,
        challenge=True,
    ),
    Case(
        "get_users-basic-without-colon",
        lambda c: c.raw_basic("get_users", "Basic " + b64(str(c.mine.imba_id))),
        401,
        challenge=True,
    ),
    Case(
        "get_users-basic-not-utf8",
        lambda c: c.raw_basic("get_users", "Basic " + b64(b"\xff\xfe:\xff")),
        401,
        challenge=True,
    ),
    Case(
        "get_users-basic-without-credentials",
        lambda c: c.raw_basic("get_users", "Basic"),
        401,
        challenge=True,
    ),
    Case(
        "get_rooms-their-credentials-on-my-path",
        lambda c: c.v2("get_rooms", auth=c.theirs.basic),
        401,
        challenge=True,
        cross_widget=True,
    ),
    Case(
        "get_messages-my-credentials-on-their-path",
        lambda c: c.http.post(c.theirs.v2("get_messages"), data={}, auth=c.mine.basic),
        401,
        challenge=True,
        cross_widget=True,
    ),
    Case(
        "send_msg-their-id-with-my-secret",
        lambda c: c.http.post(
            c.theirs.v2("send_msg"),
            data={"user_id": 1, "room_id": c.their_room, "message": "x"},
            auth=(str(c.theirs.imba_id), c.mine.secret_key),
        ),
        401,
        challenge=True,
        cross_widget=True,
    ),
    Case(
        "get_users-unknown-widget-path",
        lambda c: c.http.post(
            f"/imbachat/v2/{MAX_ID}/get_users", data={}, auth=(str(MAX_ID), "secret")
        ),
        401,
        challenge=True,
    ),
    Case(
        "get_users-path-imba_id-abc",
        lambda c: c.http.post("/imbachat/v2/abc/get_users", data={}, auth=c.mine.basic),
        404,
    ),
    Case(
        "send_msg-path-imba_id-negative",
        lambda c: c.http.post("/imbachat/v2/-1/send_msg", data={}, auth=c.mine.basic),
        404,
    ),
    Case(
        "get_rooms-path-imba_id-2**63",
        lambda c: c.http.post(f"/imbachat/v2/{TOO_BIG_ID}/get_rooms", data={}, auth=c.mine.basic),
        404,
    ),
    Case(
        "get_messages-path-imba_id-zero-with-jwt",
        lambda c: c.http.post(
            "/imbachat/v2/0/get_messages", data={}, headers={"JWT": c.mine.token(1)}
        ),
        404,
    ),
    # --- JWT header -----------------------------------------------------------------
    Case("get_rooms-jwt-garbage", lambda c: c.as_user("get_rooms", "not.a.jwt"), 401),
    Case("get_messages-jwt-empty", lambda c: c.as_user("get_messages", ""), 401),
    Case(
        "get_rooms-jwt-expired",
        lambda c: c.as_user("get_rooms", signed(c.mine.secret_key, exp=int(time.time()) - 60)),
        401,
    ),
    Case("get_messages-jwt-alg-none", lambda c: c.as_user("get_messages", alg_none()), 401),
    Case(
        "get_rooms-jwt-signed-by-other-widget",
        lambda c: c.as_user("get_rooms", c.theirs.token(1)),
        401,
        cross_widget=True,
    ),
    Case(
        "get_messages-jwt-signed-by-other-widget",
        lambda c: c.as_user("get_messages", c.theirs.token(77)),
        401,
        cross_widget=True,
    ),
    Case(
        "get_messages-jwt-wrong-secret",
        lambda c: c.as_user("get_messages", signed("not-the-secret")),
        401,
    ),
    Case(
        "get_rooms-jwt-hs512",
        lambda c: c.as_user("get_rooms", signed(c.mine.secret_key, "HS512")),
        401,
    ),
    Case(
        "get_rooms-jwt-without-exp",
        lambda c: c.as_user("get_rooms", signed(c.mine.secret_key, exp=None)),
        401,
    ),
    Case(
        "get_messages-jwt-user_id-zero",
        lambda c: c.as_user("get_messages", signed(c.mine.secret_key, user_id=0)),
        401,
    ),
    Case(
        "get_messages-jwt-user_id-2**63",
        lambda c: c.as_user("get_messages", signed(c.mine.secret_key, user_id=2**63)),
        401,
    ),
    Case(
        "get_rooms-jwt-user_id-text",
        lambda c: c.as_user("get_rooms", signed(c.mine.secret_key, user_id="abc")),
        401,
    ),
    Case(
        "get_rooms-jwt-on-unknown-widget",
        lambda c: c.http.post(
            f"/imbachat/v2/{MAX_ID}/get_rooms", data={}, headers={"JWT": c.mine.token(1)}
        ),
        401,
    ),
    Case(
        "get_rooms-jwt-with-other-imba_id-field",
        lambda c: c.as_user("get_rooms", c.mine.token(1), imba_id=c.theirs.imba_id),
        403,
        "imba_id",
        cross_widget=True,
    ),
    # --- v2 imba_id form field naming another widget --------------------------------
    Case(
        "get_users-other-imba_id-field",
        lambda c: c.v2("get_users", {"imba_id": c.theirs.imba_id}),
        403,
        "imba_id",
        cross_widget=True,
    ),
    Case(
        "get_rooms-other-imba_id-field",
        lambda c: c.v2("get_rooms", {"imba_id": c.theirs.imba_id}),
        403,
        "imba_id",
        cross_widget=True,
    ),
    Case(
        "get_messages-other-imba_id-field",
        lambda c: c.v2("get_messages", {"imba_id": c.theirs.imba_id}),
        403,
        "imba_id",
        cross_widget=True,
    ),
    Case(
        "send_msg-other-imba_id-field",
        lambda c: c.send(imba_id=c.theirs.imba_id),
        403,
        "imba_id",
        cross_widget=True,
    ),
    Case(
        "get_users-imba_id-field-abc",
        lambda c: c.v2("get_users", {"imba_id": "abc"}),
        422,
        "imba_id",
    ),
    # --- get_users filters ----------------------------------------------------------
    Case(
        "get_users-status-moderator",
        lambda c: c.v2("get_users", {"status": "moderator"}),
        422,
        "status",
    ),
    Case("get_users-banned-maybe", lambda c: c.v2("get_users", {"banned": "maybe"}), 422, "banned"),
    Case("get_users-id-negative", lambda c: c.v2("get_users", {"id": "-1"}), 422, "id"),
    Case("get_users-id-2**63", lambda c: c.v2("get_users", {"id": TOO_BIG_ID}), 422, "id"),
    Case(
        "get_users-last_message_date-yesterday",
        lambda c: c.v2("get_users", {"last_message_date": "yesterday"}),
        422,
        "last_message_date",
    ),
    Case("get_users-limit-0", lambda c: c.v2("get_users", {"limit": "0"}), 422, "limit"),
    Case("get_users-limit-501", lambda c: c.v2("get_users", {"limit": "501"}), 422, "limit"),
    Case(
        "get_users-order-sideways", lambda c: c.v2("get_users", {"order": "sideways"}), 422, "order"
    ),
    Case(
        "get_users-after_id-negative",
        lambda c: c.v2("get_users", {"after_id": "-1"}),
        422,
        "after_id",
    ),
    Case(
        "get_users-offset-huge", lambda c: c.v2("get_users", {"offset": HUGE_NUMBER}), 422, "offset"
    ),
    # --- get_rooms filters ----------------------------------------------------------
    Case(
        "get_rooms-room_type-2", lambda c: c.v2("get_rooms", {"room_type": "2"}), 422, "room_type"
    ),
    Case(
        "get_rooms-status-moderator",
        lambda c: c.v2("get_rooms", {"status": "moderator"}),
        422,
        "status",
    ),
    Case(
        "get_rooms-count_users-negative",
        lambda c: c.v2("get_rooms", {"count_users": "-1"}),
        422,
        "count_users",
    ),
    Case(
        "get_rooms-count_users-2**31",
        lambda c: c.v2("get_rooms", {"count_users": str(2**31)}),
        422,
        "count_users",
    ),
    Case("get_rooms-banned-maybe", lambda c: c.v2("get_rooms", {"banned": "maybe"}), 422, "banned"),
    Case(
        "get_rooms-last_message_date-yesterday",
        lambda c: c.v2("get_rooms", {"last_message_date": "yesterday"}),
        422,
        "last_message_date",
    ),
    Case(
        "get_rooms-last_message_date_to-feb-30",
        lambda c: c.v2("get_rooms", {"last_message_date_to": "2020-02-30"}),
        422,
        "last_message_date_to",
    ),
    Case(
        "get_rooms-room_id-2**63",
        lambda c: c.v2("get_rooms", {"room_id": TOO_BIG_ID}),
        422,
        "room_id",
    ),
    Case("get_rooms-limit-501", lambda c: c.v2("get_rooms", {"limit": "501"}), 422, "limit"),
    Case(
        "get_rooms-jwt-limit-0",
        lambda c: c.as_user("get_rooms", c.mine.token(1), limit="0"),
        422,
        "limit",
    ),
    # --- get_messages filters -------------------------------------------------------
    Case(
        "get_messages-date-yesterday",
        lambda c: c.v2("get_messages", {"date": "yesterday"}),
        422,
        "date",
    ),
    Case(
        "get_messages-date-month-13",
        lambda c: c.v2("get_messages", {"date": "2020-13-01"}),
        422,
        "date",
    ),
    Case(
        "get_messages-date-unix-too-far",
        lambda c: c.v2("get_messages", {"date": "999999999999"}),
        422,
        "date",
    ),
    Case("get_messages-id-abc", lambda c: c.v2("get_messages", {"id": "abc"}), 422, "id"),
    Case(
        "get_messages-room_type-2",
        lambda c: c.v2("get_messages", {"room_type": "2"}),
        422,
        "room_type",
    ),
    Case(
        "get_messages-user_role-owner",
        lambda c: c.v2("get_messages", {"user_role": "owner"}),
        422,
        "user_role",
    ),
    Case(
        "get_messages-user_id-negative",
        lambda c: c.v2("get_messages", {"user_id": "-3"}),
        422,
        "user_id",
    ),
    Case(
        "get_messages-room_id-huge",
        lambda c: c.v2("get_messages", {"room_id": HUGE_NUMBER}),
        422,
        "room_id",
    ),
    Case(
        "get_messages-order-sideways",
        lambda c: c.v2("get_messages", {"order": "sideways"}),
        422,
        "order",
    ),
    Case(
        "get_messages-jwt-date-yesterday",
        lambda c: c.as_user("get_messages", c.mine.token(1), date="yesterday"),
        422,
        "date",
    ),
    # --- send_msg -------------------------------------------------------------------
    Case("send_msg-missing-user_id", lambda c: c.send(user_id=None), 422, "user_id"),
    Case("send_msg-missing-room_id", lambda c: c.send(room_id=None), 422, "room_id"),
    Case("send_msg-missing-message", lambda c: c.send(message=None), 422, "message"),
    Case("send_msg-blank-message", lambda c: c.send(message="   "), 422, "message"),
    Case("send_msg-user_id-abc", lambda c: c.send(user_id="abc"), 422, "user_id"),
    Case("send_msg-user_id-negative", lambda c: c.send(user_id="-1"), 422, "user_id"),
    Case("send_msg-room_id-negative", lambda c: c.send(room_id="-7"), 422, "room_id"),
    Case("send_msg-room_id-2**63", lambda c: c.send(room_id=TOO_BIG_ID), 422, "room_id"),
    Case("send_msg-user_id-huge", lambda c: c.send(user_id=HUGE_NUMBER), 422, "user_id"),
    Case("send_msg-answer_to-abc", lambda c: c.send(answer_to="abc"), 422, "answer_to"),
    Case("send_msg-answer_to-negative", lambda c: c.send(answer_to="-2"), 422, "answer_to"),
    Case("send_msg-message-10001-chars", lambda c: c.send(message="m" * 10_001), 413, "message"),
    Case("send_msg-unknown-room", lambda c: c.send(room_id=MAX_ID), 404, "room_id"),
    Case("send_msg-unknown-user", lambda c: c.send(user_id=4242), 404, "user_id"),
    Case(
        "send_msg-other-widget-room",
        lambda c: c.send(room_id=c.their_room),
        404,
        "room_id",
        cross_widget=True,
    ),
    Case(
        "send_msg-other-widget-user",
        lambda c: c.send(user_id=77),
        404,
        "user_id",
        cross_widget=True,
    ),
    Case(
        "send_msg-other-widget-user-in-other-widget-room",
        lambda c: c.send(user_id=77, room_id=c.their_room),
        404,
        cross_widget=True,
    ),
    # Either field may be blamed: the user is not in the room, or the room lacks the user.
    Case("send_msg-not-a-member", lambda c: c.send(user_id=3), 403, "user_id|room_id"),
    Case(
        "send_msg-answer_to-message-in-another-room",
        lambda c: c.send(answer_to=c.other_msg),
        422,
        "answer_to",
    ),
    Case(
        "send_msg-answer_to-other-widget-message",
        lambda c: c.send(answer_to=c.their_msg),
        422,
        "answer_to",
        cross_widget=True,
    ),
    Case("send_msg-answer_to-unknown", lambda c: c.send(answer_to=MAX_ID), 422, "answer_to"),
]

CROSS_WIDGET = [case for case in CASES if case.cross_widget]


@pytest.fixture(scope="module")
def ctx(server) -> Iterator[Ctx]:
    """One pair of widgets for the whole table: a refused request changes nothing
    (which ``test_cross_widget_attempts_store_and_change_nothing`` checks)."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        widgets = WidgetFactory(server, http)
        yield _make_ctx(widgets, http)


def _make_ctx(widgets: WidgetFactory, http: httpx.Client) -> Ctx:
    mine: TestWidget = widgets()
    theirs: TestWidget = widgets()
    my_room = mine.room([1, 2], room_type=1, room_title="Mine")
    other_room = mine.room([3], room_type=1, room_title="Elsewhere")
    their_room = theirs.room([1, 2, 77], room_type=1, room_title="Theirs")
    my_msg = mine.send(1, my_room, "hello from mine")["id"]
    other_msg = mine.send(3, other_room, "elsewhere")["id"]
    their_msg = theirs.send(1, their_room, "their secret")["id"]
    return Ctx(http, mine, theirs, my_room, other_room, their_room, my_msg, other_msg, their_msg)


def names_field(errors: dict[str, Any], field: str) -> bool:
    """``errors`` has the field (or one of ``a|b``), or its PHP-array form (``users_ids[]``)."""
    return any(
        key == name or key.startswith(f"{name}[") for name in field.split("|") for key in errors
    )


def assert_error(response: httpx.Response, case: Case) -> None:
    request = f"{response.request.method} {response.request.url}"
    assert response.status_code == case.status, (
        f"{request} -> {response.status_code} {response.text}"
    )
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert set(body) == {"code", "message", "errors"}, body
    assert body["code"] == case.status, body
    assert isinstance(body["message"], str) and body["message"].strip(), body
    assert isinstance(body["errors"], dict), body
    for field, reasons in body["errors"].items():
        assert isinstance(field, str), body
        assert isinstance(reasons, list) and reasons, body
        assert all(isinstance(reason, str) and reason for reason in reasons), body
    if case.field is not None:
        assert names_field(body["errors"], case.field), body
    if case.challenge:
        assert response.headers.get("www-authenticate", "").lower().startswith("basic"), (
            response.headers
        )


def test_the_table_is_big_and_its_ids_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) >= 45
    assert len(set(ids)) == len(ids)
    endpoints = {"v1", "get_users", "get_rooms", "get_messages", "send_msg"}
    assert endpoints == {case.id.split("-")[0] for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_a_bad_request_answers_its_status_and_the_error_envelope(ctx: Ctx, case: Case) -> None:
    response = case.call(ctx)

    assert_error(response, case)


def snapshot(widget: TestWidget) -> dict[str, Any]:
    return {
        endpoint: widget.listed(endpoint, limit=500)
        for endpoint in ("get_users", "get_rooms", "get_messages")
    }


def test_cross_widget_attempts_store_and_change_nothing(ctx: Ctx) -> None:
    theirs_before, mine_before = snapshot(ctx.theirs), snapshot(ctx.mine)

    for case in CROSS_WIDGET:
        response = case.call(ctx)
        assert response.status_code == case.status, f"{case.id}: {response.text}"

    assert snapshot(ctx.theirs) == theirs_before
    assert snapshot(ctx.mine) == mine_before
    [their_message] = theirs_before["get_messages"]
    assert their_message["message"] == "their secret"


def test_cross_widget_errors_do_not_echo_the_other_widgets_data(ctx: Ctx) -> None:
    for case in CROSS_WIDGET:
        text = case.call(ctx).text

        assert "their secret" not in text, case.id
        assert "Theirs" not in text, case.id
        assert ctx.theirs.secret_key not in text, case.id


def test_filters_naming_another_widgets_ids_find_nothing(ctx: Ctx) -> None:
    assert ctx.mine.listed("get_rooms", room_id=ctx.their_room) == []
    assert ctx.mine.listed("get_messages", room_id=ctx.their_room) == []
    assert ctx.mine.listed("get_messages", id=ctx.their_msg) == []
    assert ctx.mine.listed("get_users", user_id=77) == []
    mine_ids = {m["id"] for m in ctx.mine.listed("get_messages")}
    assert mine_ids == {ctx.my_msg, ctx.other_msg}
    assert {r["imba_id"] for r in ctx.mine.listed("get_rooms")} == {ctx.mine.imba_id}


def listed_as(ctx: Ctx, endpoint: str, token: str, **fields: Any) -> list[dict[str, Any]]:
    response = ctx.as_user(endpoint, token, **fields)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def test_a_jwt_user_sees_only_rooms_and_messages_they_belong_to(ctx: Ctx) -> None:
    first, third = ctx.mine.token(1), ctx.mine.token(3)

    assert [r["id"] for r in listed_as(ctx, "get_rooms", first)] == [ctx.my_room]
    assert [m["id"] for m in listed_as(ctx, "get_messages", first)] == [ctx.my_msg]
    assert [r["id"] for r in listed_as(ctx, "get_rooms", third)] == [ctx.other_room]
    assert [m["id"] for m in listed_as(ctx, "get_messages", third)] == [ctx.other_msg]


def test_a_jwt_user_cannot_filter_their_way_into_other_rooms(ctx: Ctx) -> None:
    token = ctx.mine.token(1)

    assert listed_as(ctx, "get_rooms", token, room_id=ctx.other_room) == []
    assert listed_as(ctx, "get_rooms", token, room_id=ctx.their_room) == []
    assert listed_as(ctx, "get_messages", token, room_id=ctx.other_room) == []
    assert listed_as(ctx, "get_messages", token, id=ctx.other_msg) == []
    assert listed_as(ctx, "get_messages", token, id=ctx.their_msg) == []
    assert listed_as(ctx, "get_messages", token, user_id=3) == []


def test_a_jwt_user_unknown_to_the_widget_sees_nothing(ctx: Ctx) -> None:
    stranger = ctx.mine.token(555)

    assert listed_as(ctx, "get_rooms", stranger) == []
    assert listed_as(ctx, "get_messages", stranger) == []


def test_a_user_of_the_other_widget_with_the_same_host_id_sees_only_their_widget(
    ctx: Ctx,
) -> None:
    response = ctx.http.post(
        ctx.theirs.v2("get_messages"), data={}, headers={"JWT": ctx.theirs.token(1)}
    )

    assert response.status_code == 200, response.text
    assert [m["id"] for m in response.json()["data"]] == [ctx.their_msg]
    assert all(m["imba_id"] == ctx.theirs.imba_id for m in response.json()["data"])


LAST_UNIX_SECOND = "253402300799"  # 9999-12-31 23:59:59, the largest unix time accepted

# Input at the edges: NUL characters cannot be stored (PostgreSQL refuses them), so
# they are refused with 422 naming the field; the latest representable time is valid.
EDGE_CASES: list[Case] = [
    Case("send_msg-nul-in-message", lambda c: c.send(message="a\x00b"), 422, "message"),
    Case("v1-nul-in-room_title", lambda c: c.v1(owner(c, room_title="a\x00b")), 422, "room_title"),
    Case("v1-nul-in-room_pipe", lambda c: c.v1(owner(c, room_pipe="a\x00b")), 422, "room_pipe"),
    Case("v1-nul-in-login", lambda c: c.v1(owner(c, login="a\x00b")), 422, "login"),
    Case("get_users-nul-in-login", lambda c: c.v2("get_users", {"login": "a\x00b"}), 422, "login"),
    Case(
        "get_rooms-nul-in-room_pipe",
        lambda c: c.v2("get_rooms", {"room_pipe": "a\x00b"}),
        422,
        "room_pipe",
    ),
    Case(
        "get_messages-nul-in-user_name",
        lambda c: c.v2("get_messages", {"user_name": "a\x00b"}),
        422,
        "user_name",
    ),
    Case("send_msg-nul-in-client_id", lambda c: c.send(client_id="a\x00b"), 422, "client_id"),
    Case(
        "v1-nul-in-users_ids",
        lambda c: c.v1(owner(c, **{"users_ids[0]": "1\x00"})),
        422,
        "users_ids",
    ),
]

VALID_EDGES = {
    "get_messages-date-last-unix-second": lambda c: c.v2(
        "get_messages", {"date": LAST_UNIX_SECOND}
    ),
    "get_users-last_message_date-last-unix-second": lambda c: c.v2(
        "get_users", {"last_message_date": LAST_UNIX_SECOND}
    ),
    "get_rooms-last_message_date_to-last-unix-second": lambda c: c.v2(
        "get_rooms", {"last_message_date_to": LAST_UNIX_SECOND}
    ),
    "get_messages-date-year-9999": lambda c: c.v2("get_messages", {"date": "9999-12-31 23:59:59"}),
    "get_rooms-jwt-user_id-max": lambda c: c.as_user(
        "get_rooms", signed(c.mine.secret_key, user_id=MAX_ID)
    ),
}


@pytest.mark.parametrize("case", EDGE_CASES, ids=lambda case: case.id)
def test_nul_characters_are_refused_naming_the_field(ctx: Ctx, case: Case) -> None:
    assert_error(case.call(ctx), case)


@pytest.mark.parametrize("call", VALID_EDGES.values(), ids=list(VALID_EDGES))
def test_the_latest_representable_times_and_ids_are_valid(ctx: Ctx, call) -> None:
    response = call(ctx)

    assert response.status_code == 200, response.text
