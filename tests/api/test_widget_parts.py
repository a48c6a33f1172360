"""The widget's parts used on demand (more.js, everyday.js): each served cached for a
year under its version, bringing the English strings only it uses, so the first
load (widget.js) stays under 100 KB; every stand-in widget.js keeps for a part is
defined by that part's script."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from imbachat.api import widget as served

WIDGET = Path(served.__file__).resolve().parent.parent / "widget"


def source(name: str) -> str:
    return (WIDGET / name).read_text(encoding="utf-8")


def test_everyday_js_is_named_with_its_version_and_cached_for_a_year(
    widgets: Any, http: Any
) -> None:
    widget = widgets()
    script = http.get(f"/imbachat/v1/{widget.imba_id}/widget").text
    named = re.search(r'"(/imbachat/widget/everyday\.js\?v=\w+)"', script)
    assert named, "the widget names the script"

    code = http.get(named.group(1), headers={"Accept-Encoding": "gzip"})

    assert code.status_code == 200 and code.headers["content-encoding"] == "gzip"
    assert code.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "ImbaChat.__everyday" in code.text or "api.__everyday" in code.text
    assert "/*__CSS__*/" not in code.text and ".ic-popup" in code.text
    assert "/*__EN__*/{}" not in code.text
    assert code.num_bytes_downloaded < 14_000
    assert "Report this message" not in script  # its strings come with it
    assert "Report this message" in code.text


def test_each_script_brings_the_english_strings_it_names() -> None:
    english: dict[str, object] = json.loads(source("i18n/en.json"))
    first = served.english()
    parts = {name: served.english(name) for name in served.PARTS}

    for key in english:
        quoted = json.dumps(key)
        if quoted in source("widget.js"):
            assert key in first, key
        for name, strings in parts.items():
            if quoted in source(name):
                assert key in first or key in strings, (name, key)
    assert "reportTitle" not in first and "reportTitle" in parts["everyday.js"]
    assert "search" in first  # the list's search button is drawn by widget.js


@pytest.mark.parametrize("name", ["widget.js", *served.PARTS])
def test_every_string_a_script_asks_for_exists(name: str) -> None:
    english: dict[str, object] = json.loads(source("i18n/en.json"))
    asked = set(re.findall(r'\.t\("(\w+)"[,)]', source(name)))
    assert asked - set(english) == set()


def test_every_stand_in_of_widget_js_is_defined_by_its_part() -> None:
    """widget.js calls a stand-in until its part loads, then the real method: a name
    the part does not define would load it again and again."""
    table = re.search(r'\[(\["more",.*?\])\]\.forEach', source("widget.js"), re.S)
    assert table, "the table of stand-ins"
    seen = 0
    for group in re.findall(r"\[([^\[\]]*)\]", table.group(1)):
        part, *names = re.findall(r'"(\w+)"', group)
        defined = set(re.findall(r"Chat\.prototype\.(\w+) = function", source(f"{part}.js")))
        assert set(names) <= defined, (part, set(names) - defined)
        seen += len(names)
    assert seen >= 20
