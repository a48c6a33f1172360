"""The widget speaks six languages: every string exists in each, with the plural
forms each language needs, and the same placeholders as in English."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

I18N = Path(__file__).resolve().parents[2] / "src" / "imbachat" / "widget" / "i18n"
LANGUAGES = ("ar", "en", "es", "fr", "it", "ru")
# CLDR plural categories of cardinal numbers, as Intl.PluralRules chooses them.
PLURAL_FORMS = {
    "ar": {"zero", "one", "two", "few", "many", "other"},
    "en": {"one", "other"},
    "es": {"one", "many", "other"},
    "fr": {"one", "many", "other"},
    "it": {"one", "many", "other"},
    "ru": {"one", "few", "many", "other"},
}


def strings(lang: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((I18N / f"{lang}.json").read_text(encoding="utf-8"))
    return loaded


def placeholders(value: object) -> set[str]:
    texts = value.values() if isinstance(value, dict) else [value]
    return {p for text in texts for p in re.findall(r"\{\w+\}", str(text))}


def test_there_is_a_file_for_each_language_and_no_other() -> None:
    assert sorted(path.stem for path in I18N.glob("*.json")) == sorted(LANGUAGES)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_key_exists_in_every_language(lang: str) -> None:
    english, translated = strings("en"), strings(lang)

    assert set(translated) == set(english), {
        "missing": sorted(set(english) - set(translated)),
        "unknown": sorted(set(translated) - set(english)),
    }
    for key, value in translated.items():
        assert value, f"{lang}: {key} is empty"
        if isinstance(english[key], dict):
            assert isinstance(value, dict), f"{lang}: {key} needs plural forms"
            assert set(value) >= PLURAL_FORMS[lang], f"{lang}: {key} lacks plural forms"
        else:
            assert isinstance(value, str), f"{lang}: {key} must be text"
        if lang != "ar":  # Arabic words its small numbers (one member, two members)
            assert placeholders(value) == placeholders(english[key]), f"{lang}: {key}"
