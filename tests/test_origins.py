"""Allowed host origins: which pages may use a widget."""

from __future__ import annotations

import pytest

from imbachat.origins import BadOrigin, allows, parse


def test_origins_are_listed_normalised_and_once() -> None:
    given = "https://Shop.Example/, http://shop.example:80\nhttps://*.shop.example:8443 https://shop.example"
    assert parse(given) == (
        "https://shop.example",
        "http://shop.example",
        "https://*.shop.example:8443",
    )
    assert parse("  ") == ()


@pytest.mark.parametrize(
    "bad",
    ["shop.example", "ftp://shop.example", "https://shop.example/page", "https://a@shop.example",
     "https://shop.example:99999", "https://*", "https://sh op.example", "javascript:alert(1)"],
)  # fmt: skip
def test_anything_but_an_origin_is_refused(bad: str) -> None:
    with pytest.raises(BadOrigin):
        parse(bad)


def test_a_page_is_allowed_by_its_exact_origin_or_a_subdomain_pattern() -> None:
    listed = "https://shop.example\nhttps://*.blog.example"
    assert allows(listed, "https://shop.example")
    assert allows(listed, "https://SHOP.example:443")
    assert allows(listed, "https://en.blog.example")
    assert not allows(listed, "https://blog.example")  # a pattern is for subdomains
    assert not allows(listed, "http://shop.example")  # another scheme
    assert not allows(listed, "https://shop.example:8443")
    assert not allows(listed, "https://evilshop.example")
    assert not allows(listed, "https://x.evilblog.example")
    assert not allows(listed, "null")
    assert allows(listed, None)  # servers send no Origin
    assert allows(None, "https://anywhere.example") and allows("", "https://x.example")
