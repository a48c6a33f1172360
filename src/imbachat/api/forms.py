"""Parsing of ImbaChat form fields, as PHP sites and the documented curl send them.

Tolerated on purpose, because the documented examples do it: spaces around names
and values (``'room_is_public =1'``), values in stray quotes (``'imba_id="627"'``),
PHP arrays (``users_ids[0]=3``, ``users_ids[]=3``), and the Spanish field names of
the machine-translated document (``contraseña``, ``tipo_habitación``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import orjson
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from imbachat.domain import Page, TimeRange
from imbachat.errors import Invalid, TooLarge, missing
from imbachat.numbers import MAX_ID, is_integer, parse_int

T = TypeVar("T")

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
MAX_OFFSET = 1_000_000
MAX_ARRAY_ITEMS = 500
MAX_FORM_FIELDS = 2_000

ALIASES = {"contraseña": "password", "tipo_habitación": "room_type"}
_ARRAY_KEY = re.compile(r"^(?P<name>[^\[\]]+)\[(?P<index>[^\[\]]*)\]$")
_LIST_SPLIT = re.compile(r"[,\s]+")


def _clean_name(raw: str) -> str:
    name = "".join(unicodedata.normalize("NFC", raw).split()).strip("'\"")
    return ALIASES.get(name, name)


def _clean_value(raw: str) -> str:
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1].strip()
    return value


class Fields:
    """The fields of one request, with typed accessors that raise clear errors."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._raw: dict[str, str] = {}
        self._arrays: dict[str, list[tuple[str, str]]] = {}
        for raw_name, raw_value in items:
            name = _clean_name(raw_name)
            match = _ARRAY_KEY.match(name)
            if match:
                bucket = self._arrays.setdefault(ALIASES.get(match["name"], match["name"]), [])
                bucket.append((match["index"], raw_value))
            else:
                self._raw[name] = raw_value

    @classmethod
    async def from_request(cls, request: Request) -> Fields:
        """Query string, then the body (form, multipart or a JSON object) on top. Text
        must be UTF-8: anything else is refused, never stored as replacement marks."""
        items = _urlencoded_items(request.scope.get("query_string", b""), "query string")
        content_type = request.headers.get("content-type", "").lower()
        if content_type.startswith("application/json"):
            items.extend(_json_items(await request.body()))
        elif content_type.startswith("application/x-www-form-urlencoded"):
            items.extend(_urlencoded_items(await request.body(), "form body"))
        elif content_type.startswith("multipart/form-data"):
            parser = _Utf8MultiPartParser(
                request.headers,
                request.stream(),
                max_files=20,
                max_fields=MAX_FORM_FIELDS,
                max_part_size=1024 * 1024,
            )
            try:
                form = await parser.parse()
            except (MultiPartException, UnicodeDecodeError, ValueError) as exc:
                reason = exc.message if isinstance(exc, MultiPartException) else str(exc)
                raise Invalid(f"The request body could not be parsed as a form: {reason}") from None
            items.extend(
                (name, value)
                for name, value in form.multi_items()
                if not isinstance(value, UploadFile)
            )
        return cls(items)

    def __contains__(self, name: str) -> bool:
        return name in self._raw

    def value(self, name: str, *, raw: bool = False) -> str | None:
        """The field's text, or None when absent or empty."""
        if name not in self._raw:
            return None
        value = self._raw[name].strip() if raw else _clean_value(self._raw[name])
        return _no_nul(name, value) or None

    def text(
        self, name: str, *, required: bool = False, max_length: int = 255, raw: bool = False
    ) -> str | None:
        value = self.value(name, raw=raw)
        if value is None:
            if required:
                raise missing(name)
            return None
        if len(value) > max_length:
            raise TooLarge(
                f"The {name} parameter is too long: at most {max_length} characters.",
                field=name,
                reason=f"at most {max_length} characters",
            )
        return value

    def integer(
        self, name: str, *, required: bool = False, minimum: int = 0, maximum: int = MAX_ID
    ) -> int | None:
        value = self.value(name)
        if value is None:
            if required:
                raise missing(name)
            return None
        return _to_int(name, value, minimum, maximum)

    def choice(self, name: str, options: Mapping[str, T]) -> T | None:
        value = self.value(name)
        if value is None:
            return None
        key = value.lower()
        if key not in options:
            allowed = ", ".join(options)
            raise Invalid(
                f"The {name} parameter must be one of: {allowed}.",
                field=name,
                reason=f"one of {allowed}",
            )
        return options[key]

    def flag(self, name: str) -> bool | None:
        return self.choice(name, {"1": True, "0": False, "true": True, "false": False})

    def integers(
        self, name: str, *, minimum: int = 1, max_items: int = MAX_ARRAY_ITEMS
    ) -> list[int]:
        """A PHP array (``name[0]``, ``name[]``), a repeated or comma-separated field,
        or ``[1, 2, 3]``; duplicates are kept once, in first-seen order."""
        entries = sorted(self._arrays.get(name, []), key=lambda entry: _array_order(entry[0]))
        texts = [value for _, value in entries]
        if name in self._raw:
            texts.append(self._raw[name])
        values: list[int] = []
        for text in texts:
            for part in _LIST_SPLIT.split(_no_nul(name, _clean_value(text)).strip("[]")):
                part = _clean_value(part)
                if part:
                    values.append(_to_int(f"{name}[]", part, minimum, MAX_ID))
        unique = list(dict.fromkeys(values))
        if len(unique) > max_items:
            raise TooLarge(
                f"At most {max_items} {name} per request.",
                field=name,
                reason=f"at most {max_items} items",
            )
        return unique

    def texts(self, name: str, max_items: int = 1000) -> list[str]:
        """A list of strings: a PHP/JSON array, or one per line of a single field."""
        entries = sorted(self._arrays.get(name, []), key=lambda entry: _array_order(entry[0]))
        values = [_no_nul(name, v.strip()) for _, v in entries]
        if name in self._raw:
            values += [_no_nul(name, line.strip()) for line in self._raw[name].splitlines()]
        values = [v for v in values if v]
        if len(values) > max_items:
            raise TooLarge(f"At most {max_items} {name}.", field=name)
        return values

    def time_range(self, name: str) -> TimeRange | None:
        """A date (that whole UTC day), a ``YYYY-MM-DD HH:MM:SS`` time or unix seconds
        (that second); ``{name}_from`` and ``{name}_to`` bound it inclusively."""
        exact, start, end = (
            _parse_time(field, self.value(field)) for field in (name, f"{name}_from", f"{name}_to")
        )
        if exact is None and start is None and end is None:
            return None
        lower = [span.start for span in (exact, start) if span is not None]
        upper = [span.end for span in (exact, end) if span is not None]
        return TimeRange(max(lower) if lower else None, min(upper) if upper else None)  # type: ignore[type-var]

    def page(self) -> Page:
        limit = self.integer("limit", minimum=1, maximum=MAX_LIMIT)
        order = self.choice("order", {"asc": False, "desc": True})
        return Page(
            limit=limit or DEFAULT_LIMIT,
            after_id=self.integer("after_id"),
            offset=self.integer("offset", maximum=MAX_OFFSET) or 0,
            descending=bool(order),
        )


def _no_nul(name: str, value: str) -> str:
    # Databases cannot store NUL (PostgreSQL refuses it): refuse it at the edge.
    if "\x00" in value:
        raise Invalid(f"The {name} parameter must not contain NUL characters.", field=name)
    return value


def _array_order(index: str) -> tuple[int, int | str]:
    # Numbered entries first in numeric order, then "[]" (or any other) entries as sent.
    number = parse_int(index)
    return (0, number) if number is not None else (1, "")


def _to_int(name: str, value: str, minimum: int, maximum: int) -> int:
    if not is_integer(value):
        raise Invalid(
            f"The {name} parameter must be an integer.", field=name, reason="must be an integer"
        )
    number = parse_int(value, minimum, maximum)
    if number is None:
        raise Invalid(
            f"The {name} parameter must be between {minimum} and {maximum}.",
            field=name,
            reason=f"between {minimum} and {maximum}",
        )
    return number


_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")
_MAX_UNIX = 253_402_300_799  # 9999-12-31 23:59:59


def _parse_time(name: str, value: str | None) -> TimeRange | None:
    if value is None:
        return None
    value = value.removesuffix("Z")
    seconds = parse_int(value, 0, _MAX_UNIX) if len(value) <= 12 else None
    if seconds is not None:
        moment = datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
        return TimeRange(moment, moment + timedelta(seconds=1) if seconds < _MAX_UNIX else None)
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        pass
    else:
        return TimeRange(day, day + timedelta(days=1) if day.year < 9999 else None)
    for pattern in _TIME_FORMATS:
        try:
            moment = datetime.strptime(value, pattern)
        except ValueError:
            continue
        step = timedelta(seconds=1) if pattern.count(":") == 2 else timedelta(minutes=1)
        return TimeRange(moment, moment + step if moment.year < 9999 else None)
    raise Invalid(
        f"The {name} parameter must be a date (YYYY-MM-DD), "
        "a time (YYYY-MM-DD HH:MM:SS) or unix seconds.",
        field=name,
        reason="a date, a time or unix seconds",
    )


def _urlencoded_items(raw: bytes, where: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except UnicodeDecodeError:
        raise Invalid(f"The {where} is not valid UTF-8.") from None
    except ValueError:
        raise TooLarge(f"The {where} has more than {MAX_FORM_FIELDS} fields.") from None


class _Utf8MultiPartParser(MultiPartParser):
    """Starlette's multipart parser, refusing text fields that are not UTF-8 (it
    would read them as Latin-1)."""

    def on_part_end(self) -> None:
        part = self._current_part
        if part.file is None:
            try:
                part.data.decode("utf-8")
            except UnicodeDecodeError:
                raise MultiPartException(f"the {part.field_name} field is not UTF-8") from None
        super().on_part_end()


def _json_items(body: bytes) -> list[tuple[str, str]]:
    if not body.strip():
        return []
    try:
        document: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Invalid("The request body is not valid JSON.") from None
    if not isinstance(document, dict):
        raise Invalid("The JSON body must be an object of fields.")
    items: list[tuple[str, str]] = []
    for name, value in document.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, dict | list):
                raise Invalid(
                    f"The {name} field must be a scalar or a list of scalars.", field=name
                )
            text = (
                "" if item is None else str(item).lower() if isinstance(item, bool) else str(item)
            )
            items.append((f"{name}[]" if isinstance(value, list) else name, text))
    return items
