"""Uploaders for the ``send-uploads`` scenario: each posts a large file (as the
site's backend, for a user) again and again until told to stop, so that the send
path is measured while files stream through the same server.

The request is built once and written with one ``sendall``: the uploaders share the
machine with the server and the chat clients, so they must cost as little CPU as a
browser's upload does (the kernel's copying, nothing more)."""

from __future__ import annotations

import base64
import http.client
import os
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

# A video's first bytes, then noise: stored as it is (no image decoding), like most
# large files people send.
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


def request_body(user_id: int, file_bytes: int) -> tuple[bytes, str]:
    boundary = secrets.token_hex(16)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="user_id"\r\n\r\n{user_id}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="clip.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    content = MP4_HEAD + os.urandom(file_bytes - len(MP4_HEAD))
    return head + content + f"\r\n--{boundary}--\r\n".encode(), boundary


def main(cfg: dict[str, Any], results: Any) -> None:
    body, boundary = request_body(cfg["user_id"], cfg["file_bytes"])
    credentials = base64.b64encode(f"{cfg['imba_id']}:{cfg['secret']}".encode()).decode()
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(body)),
        "Authorization": f"Basic {credentials}",
    }
    address = urlsplit(cfg["url"])
    cfg["go"].wait()
    uploads = failed = 0
    started = time.monotonic()
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=120)
    while not cfg["stop"].is_set():
        connection.request("POST", f"/imbachat/v1/{cfg['imba_id']}/files", body, headers)
        answer = connection.getresponse()
        answer.read()
        if answer.status == 201:
            uploads += 1
        else:
            failed += 1
    connection.close()
    seconds = time.monotonic() - started
    megabytes = uploads * len(body) / 2**20
    results.put({"uploads": uploads, "failed": failed, "mb_per_second": megabytes / seconds})
