"""Issue 18: the emoji picker's data and strings. data.json, written by
emoji/generate.py from two npm packages, holds every fully qualified Unicode emoji
once, by group, with an English name; the picker's strings exist in the widget's six
languages with their plural forms."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from imbachat.widget.emoji.generate import about, build, dump, keywords
from tests.widget.test_strings import LANGUAGES, PLURAL_FORMS

EMOJI = Path(__file__).resolve().parents[2] / "src" / "imbachat" / "widget" / "emoji"
GROUPS = [
    "smileys",
    "people",
    "animals",
    "food",
    "travel",
    "activities",
    "objects",
    "symbols",
    "flags",
]
SKIN_TONES = re.compile("[\U0001f3fb-\U0001f3ff]")


def data() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EMOJI / "data.json").read_text(encoding="utf-8"))
    return loaded


def test_the_data_has_every_group_and_each_emoji_once_with_a_name() -> None:
    found = data()
    entries = [entry for group in found["groups"] for entry in group["emoji"]]

    assert [group["key"] for group in found["groups"]] == GROUPS
    assert all(len(group["emoji"]) > 50 for group in found["groups"])
    assert len(entries) > 1800
    assert len({entry[0] for entry in entries}) == len(entries)
    assert all(isinstance(entry[1], str) and entry[1] for entry in entries)
    assert all(2 <= len(entry) <= 4 for entry in entries)
    assert not [entry[0] for entry in entries if SKIN_TONES.search(entry[0])]  # no variants
    assert ["👍", "thumbs up", "1 good hand like yes"] in entries
    assert ["❤️", "red heart", "emotion love"] in entries  # fully qualified: with its VS16
    assert [e[1] for e in entries if e[0] == "🇯🇵"] == ["flag Japan"]


def test_the_data_names_its_sources_and_licences() -> None:
    header = data()["about"]

    assert "unicode-emoji-json" in header and "emojibase-data" in header
    assert "MIT" in header and "Unicode License v3" in header
    assert "generate.py" in header


def test_newer_emoji_carry_their_version_and_one_sample_each() -> None:
    found = data()
    entries = [entry for group in found["groups"] for entry in group["emoji"]]
    versions = {entry[3] for entry in entries if len(entry) == 4}

    assert versions == {int(v) for v in found["samples"]}
    assert min(versions) == 12
    for version, sample in found["samples"].items():
        assert len(sample) == 1
        assert [sample, version] in [[e[0], str(e[3])] for e in entries if len(e) == 4]


def test_keywords_add_only_what_the_name_does_not_say() -> None:
    assert keywords("thumbs up", ["+1", "thumb", "up", "like", "Like"]) == "1 like"
    assert keywords("red heart", ["heart", "love", "red"]) == "love"
    assert keywords("cat", []) == ""


def test_the_generator_keeps_the_groups_order_and_skips_components() -> None:
    by_emoji = {
        "😀": {"name": "grinning face", "group": "Smileys & Emotion", "emoji_version": "1.0"},
        "🏻": {"name": "light skin tone", "group": "Component", "emoji_version": "2.0"},
        "☺️": {"name": "smiling face", "group": "Smileys & Emotion", "emoji_version": "0.6"},
        "🥱": {"name": "yawning face", "group": "Smileys & Emotion", "emoji_version": "12.0"},
        "🇯🇵": {"name": "flag Japan", "group": "Flags", "emoji_version": "2.0"},
    }
    emojibase = [
        {"unicode": "😀", "tags": ["face", "grin", "happy"]},
        {"unicode": "☺", "tags": ["relaxed"]},  # matched without the VS16
        {"unicode": "🥱", "tags": ["tired"]},
    ]

    built = build(by_emoji, emojibase)
    text = dump({"about": about("1", "2")} | built)

    groups = {group["key"]: group["emoji"] for group in built["groups"]}
    assert groups["smileys"] == [
        ["😀", "grinning face", "happy"],  # "grin" starts a word of the name
        ["☺️", "smiling face", "relaxed"],
        ["🥱", "yawning face", "tired", 12],
    ]
    assert groups["flags"] == [["🇯🇵", "flag Japan"]]
    assert groups["people"] == []
    assert built["samples"] == {"12": "🥱"}
    assert json.loads(text)["groups"] == built["groups"]
    assert '\n["😀", "grinning face", "happy"],\n' in text  # one emoji a line


def picker_strings() -> dict[str, dict[str, object]]:
    loaded: dict[str, dict[str, object]] = json.loads(
        (EMOJI / "strings.json").read_text(encoding="utf-8")
    )
    return loaded


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_pickers_strings_exist_in_every_language(lang: str) -> None:
    english, translated = picker_strings()["en"], picker_strings()[lang]

    assert set(translated) == set(english)
    assert set(english) >= {"recent", *GROUPS}  # a label for each group
    for key, value in translated.items():
        assert value, f"{lang}: {key} is empty"
        if isinstance(english[key], dict):
            assert isinstance(value, dict) and set(value) >= PLURAL_FORMS[lang], (lang, key)
        else:
            assert isinstance(value, str), (lang, key)


def test_the_picker_speaks_the_widgets_languages_and_no_other() -> None:
    assert sorted(picker_strings()) == sorted(LANGUAGES)
