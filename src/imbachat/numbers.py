"""The one parser of ids and integers that arrive as text (paths, forms, frames,
tokens, host-site answers): ASCII digits only, bounded to the column they end in.

``str.isdigit()`` and ``int()`` disagree (``"²".isdigit()`` is true and
``int("²")`` fails; ``int("٣")`` is 3), and a number above 2^63-1 overflows the
database's BIGINT; so nothing else in the code turns text into an int.
"""

from __future__ import annotations

import re

MAX_ID = 2**63 - 1  # BIGINT, the ids' column type
# Guests' host ids are negative, down to this; below it lie erased users' (domain.py).
MIN_GUEST_ID = -(2**52)  # within JavaScript's exact integers
MAX_INT32 = 2**31 - 1
MAX_SMALLINT = 2**15 - 1

_INTEGER = re.compile(r"[+-]?[0-9]{1,20}", re.ASCII)


def parse_int(text: str, minimum: int = 0, maximum: int = MAX_ID) -> int | None:
    """The integer ``text`` spells (surrounding spaces allowed), if it is one within
    ``[minimum, maximum]``; None otherwise."""
    text = text.strip()
    if not _INTEGER.fullmatch(text):
        return None
    number = int(text)
    return number if minimum <= number <= maximum else None


def is_integer(text: str) -> bool:
    """Whether ``text`` spells an integer at all (in any range)."""
    return _INTEGER.fullmatch(text.strip()) is not None


def as_id(value: object, minimum: int = 1, maximum: int = MAX_ID) -> int | None:
    """An id given as a JSON number or as text (a digit string); None for anything
    else, booleans included."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if minimum <= value <= maximum else None
    if isinstance(value, str):
        return parse_int(value, minimum, maximum)
    return None
