"""What the mail side takes from settings and from the host site, checked."""

from __future__ import annotations

from dataclasses import replace

import pytest

from imbachat.mail.sender import Mailer
from imbachat.services.away import email_of
from tests.test_events import USER


@pytest.mark.parametrize(
    ("url", "sender", "reason"),
    [
        ("http://mail.example.com", "a@b.c", "smtp://host"),
        ("smtp://", "a@b.c", "smtp://host"),
        ("smtp://mail.example.com", "", "IMBACHAT_EMAIL_FROM"),
    ],
)
def test_smtp_settings_are_checked_at_start(url: str, sender: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        Mailer(url, sender)


@pytest.mark.parametrize(
    ("user_data", "address"),
    [
        ('{"email": "bo@example.com"}', "bo@example.com"),
        ('{"email": "bo@example.com\\r\\nBcc: all@example.com"}', None),
        ('{"email": "not an address"}', None),
        ('{"email": 42}', None),
        ('{"name": "Bo"}', None),
        ("[1, 2]", None),
        ("not json", None),
        (None, None),
    ],
)
def test_the_address_is_the_host_sites_and_only_a_plain_one(user_data, address) -> None:
    assert email_of(replace(USER, user_data=user_data)) == address
