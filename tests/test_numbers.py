"""One parser for every integer that arrives as text: ASCII digits only, within the
range of the column it is meant for."""

from __future__ import annotations

import pytest

from imbachat.numbers import MAX_ID, as_id, parse_int


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        (" 42 ", 42),
        ("+42", 42),
        ("0", 0),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),  # beyond BIGINT: would overflow the database
        ("²", None),  # str.isdigit() says yes, int() says no
        ("٣", None),  # int() would read 3
        ("１２", None),  # full-width digits
        ("1_000", None),
        ("1e3", None),
        ("0x10", None),
        ("-1", None),  # below the default minimum of 0
        ("", None),
        ("9" * 40, None),
    ],
)
def test_only_ascii_digits_within_the_range_are_integers(text: str, expected: int | None) -> None:
    assert parse_int(text) == expected


def test_an_id_may_be_a_json_number_or_a_digit_string_but_never_a_boolean() -> None:
    assert as_id(7) == as_id("7") == 7
    assert as_id(True) is None
    assert as_id(0) is None  # ids start at 1
    assert as_id(7.0) is None
    assert as_id(None) is None
    assert as_id([7]) is None
    assert as_id(2**64) is None
