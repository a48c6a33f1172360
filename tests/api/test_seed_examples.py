"""Every curl example of the seed document, run verbatim with the real curl binary.

Only the host and the placeholder credentials are replaced, as a site owner would;
the stray spaces, quotes and translated field names stay exactly as published.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.conftest import service_missing


@pytest.fixture
def curl():
    path = shutil.which("curl")
    if path is None:
        service_missing("the curl command is not installed")

    def run(command: str) -> dict:
        completed = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, timeout=30, check=True
        )
        return json.loads(completed.stdout)

    return run


def fill(command: str, server, widget) -> str:
    return (
        command.replace("https://api.imbachat.com", server.url)
        .replace("http://api.imbachat.com", server.url)
        .replace("imba_id:secret_key", f"{widget.imba_id}:{widget.secret_key}")
        .replace("209", str(widget.imba_id))
        .replace("627", str(widget.imba_id))
    )


# Section 1.1, as published (machine-translated field names included).
CREATE_GROUP = """curl --silent --location --request POST 'https://api.imbachat.com/imbachat/v1/widget/imba_rooms' \\
 --form 'imba_id = 209' \\
 --form 'login = admin' \\
 --form 'contraseña = admin' \\
 --form 'users_ids [0] = 3' \\
 --form 'tipo_habitación = 1' \\
 --form 'users_ids [1] = 4' \\
 --form 'room_title = Тестовая API группа 9' \\
 --form 'room_pipe =' \\
 --form 'room_is_public = 1'"""

# Section 1.2, as published; ROOM is the id the first call answered.
ADD_MEMBERS = """curl --silent --location --request POST 'https://api.imbachat.com/imbachat/v1/widget/imba_rooms' \\
--form 'imba_id=209' \\
--form 'login=admin' \\
--form 'password=admin' \\
--form 'users_ids[0]=1' \\
--form 'room_type=1' \\
--form 'room_title=Test API group 9' \\
--form 'room_pipe=' \\
--form 'room_is_public =1' \\
--form 'room_id=ROOM'"""

GET_USERS = """curl --silent --location --request POST 'http://api.imbachat.com/imbachat/v2/627/get_users' \\
--user imba_id:secret_key \\
--form 'imba_id="627"' \\
--form 'status="user"' \\
"""

GET_ROOMS = """curl --silent --location --request POST 'http://api.imbachat.com/imbachat/v2/627/get_rooms' \\
--user imba_id:secret_key \\
--form 'imba_id="627"' \\
--form 'room_type="0"'"""


def test_every_seed_curl_example_answers_as_documented(curl, server, widgets) -> None:
    widget = widgets(login="admin", password="admin")

    created = curl(fill(CREATE_GROUP, server, widget))
    room_id = created["data"][0]["room_id"]
    added = curl(fill(ADD_MEMBERS, server, widget).replace("ROOM", str(room_id)))
    users = curl(fill(GET_USERS, server, widget))
    rooms = curl(fill(GET_ROOMS, server, widget))

    assert created == {
        "code": 200,
        "message": "Success",
        "data": [{"success": True, "roomId": room_id, "room_id": room_id}],
    }
    assert added == {
        "code": 200,
        "message": "Success",
        "data": [{"error": False, "success": True, "room_id": str(room_id)}],
    }
    assert users["success"] == "true" and users["code"] == 200
    assert sorted(u["remote_user_id"] for u in users["data"]) == ["1", "3", "4"]
    assert {u["status"] for u in users["data"]} == {"user"}
    # The created room is a conference titled as sent; get_rooms asked for dialogs (type 0).
    assert rooms == {"success": "true", "data": [], "code": 200}
    [conference] = widget.listed("get_rooms", room_type="1")
    assert conference["name"] == "Тестовая API группа 9"
    assert conference["is_public"] == 1
    assert conference["count_users"] == 3
