"""Health probes and the OpenAPI documentation."""

from __future__ import annotations

import os


def test_healthz_and_readyz_answer_ok(http) -> None:
    assert http.get("/healthz").json() == {"status": "ok", "pid": os.getpid()}  # test server
    assert http.get("/readyz").json() == {"status": "ok", "database": "ok"}


def test_openapi_documents_every_imbachat_endpoint_with_its_form_fields(http) -> None:
    spec = http.get("/openapi.json").json()

    paths = spec["paths"]
    for path in (
        "/imbachat/v1/widget/imba_rooms",
        "/imbachat/v2/{imba_id}/get_users",
        "/imbachat/v2/{imba_id}/get_rooms",
        "/imbachat/v2/{imba_id}/get_messages",
        "/imbachat/v2/{imba_id}/send_msg",
    ):
        body = paths[path]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
        assert body["properties"], path
    send = paths["/imbachat/v2/{imba_id}/send_msg"]["post"]["requestBody"]
    assert set(send["content"]["multipart/form-data"]["schema"]["required"]) == {
        "user_id", "room_id", "message",
    }  # fmt: skip
    assert http.get("/docs").status_code == 200


def test_unknown_paths_and_methods_answer_the_error_envelope(http) -> None:
    missing = http.get("/nothing/here")
    wrong_method = http.get("/imbachat/v1/widget/imba_rooms")

    assert missing.status_code == 404
    assert missing.json() == {"code": 404, "message": "Not Found", "errors": {}}
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == 405
