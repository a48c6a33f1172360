"""A browser-less owner: an HTTP client that keeps the dashboard's cookies and
posts forms with the CSRF token of the page, as a browser would."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.factories import TestWidget

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Owner:
    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.csrf = ""

    def get(self, path: str, **kw: Any) -> httpx.Response:
        response = self.client.get(f"/dashboard{path}", **kw)
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(
        self, path: str, data: dict[str, Any] | None = None, csrf: bool = True
    ) -> httpx.Response:
        """POST a form (with the last page's CSRF token unless ``csrf`` is False)."""
        fields = dict(data or {})
        if csrf:
            fields.setdefault("csrf", self.csrf)
        return self.client.post(f"/dashboard{path}", data=fields)

    def sign_in(self, widget: TestWidget, password: str | None = None) -> httpx.Response:
        self.get("/")
        return self.post(
            "/sign-in",
            {
                "imba_id": widget.imba_id,
                "login": widget.login,
                "password": widget.password if password is None else password,
            },
        )

    def signed_in(self, widget: TestWidget) -> Owner:
        response = self.sign_in(widget)
        assert response.status_code == 303, response.text
        self.get(f"/{widget.imba_id}/")
        return self


@pytest.fixture
def owner(server) -> Iterator[Owner]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield Owner(client)


@pytest.fixture
def stranger(server) -> Iterator[Owner]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield Owner(client)
