"""Writes the emoji picker's data, ``data.json`` beside this file, from two packages
of the npm registry (fetched with ``npm pack``, pinned below; nothing else is
downloaded):

- unicode-emoji-json (MIT, Mu-An Chiou): Unicode's RGI emoji, fully qualified, in
  Unicode's order, with their group and CLDR short name (the data is Unicode's,
  under the Unicode License v3);
- emojibase-data (MIT, Miles Johnson): English keywords for each emoji (its
  ``tags``, from CLDR annotations), so that a search for "lol" finds 😂.

Run it again to follow a new Unicode release (bump the versions first)::

    .venv/bin/python src/imbachat/widget/emoji/generate.py
    .venv/bin/python src/imbachat/widget/emoji/generate.py --packages DIR  # *.tgz already there

The file keeps what the picker uses: each emoji once (no skin-tone variants: the
picker offers the default, yellow ones), in its group, with its English name, the
keywords that are not already words of the name, and, for emoji newer than most
systems' fonts (Emoji 12 on), their Emoji version, by which the picker hides the
ones the browser cannot draw.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "data.json"
UNICODE_PACKAGE = ("unicode-emoji-json", "0.9.0")
EMOJIBASE_PACKAGE = ("emojibase-data", "17.0.0")
# Unicode's groups, as the picker names them (the "Component" group, skin tones and
# hair styles alone, is left out).
GROUPS = {
    "Smileys & Emotion": "smileys",
    "People & Body": "people",
    "Animals & Nature": "animals",
    "Food & Drink": "food",
    "Travel & Places": "travel",
    "Activities": "activities",
    "Objects": "objects",
    "Symbols": "symbols",
    "Flags": "flags",
}
# Emoji versions before this one are drawn by every current system: no version kept.
NEWER_FROM = 12
WORD = re.compile(r"[^\W_]+")


def about(unicode_version: str, emojibase_version: str) -> str:
    return (
        "Emoji for imbachat's picker, written by src/imbachat/widget/emoji/generate.py: "
        "do not edit. Emoji, groups and names: the npm package unicode-emoji-json "
        f"{unicode_version} (MIT licence, (c) Mu-An Chiou; data (c) Unicode, Inc., "
        "Unicode License v3). Keywords: the npm package emojibase-data "
        f"{emojibase_version} (MIT licence, (c) Miles Johnson; CLDR annotations "
        "(c) Unicode, Inc., Unicode License v3). Each entry: [emoji, English name, "
        "keywords, Emoji version when 12 or later]."
    )


def _bare(emoji: str) -> str:
    """The emoji without variation selectors: how the two packages are matched."""
    return emoji.replace("\ufe0f", "")


def _words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def keywords(name: str, tags: list[str]) -> str:
    """The tags that add something to the name: not a word of it, nor the start of
    one (a search matches the starts of words), each once, in the tags' order."""
    named = _words(name)
    kept: list[str] = []
    for tag in tags:
        for word in _words(tag):
            if word not in kept and not any(n.startswith(word) for n in named):
                kept.append(word)
    return " ".join(kept)


def build(by_emoji: dict[str, dict[str, Any]], emojibase: list[dict[str, Any]]) -> dict[str, Any]:
    """The picker's data from unicode-emoji-json's ``data-by-emoji.json`` (in
    Unicode's order) and emojibase-data's ``en/compact.json``."""
    tags = {_bare(entry["unicode"]): entry.get("tags", []) for entry in emojibase}
    groups: dict[str, list[list[str | int]]] = {key: [] for key in GROUPS.values()}
    samples: dict[str, str] = {}
    for emoji, facts in by_emoji.items():
        key = GROUPS.get(facts["group"])
        if key is None:
            continue
        entry: list[str | int] = [
            emoji,
            facts["name"],
            keywords(facts["name"], tags.get(_bare(emoji), [])),
        ]
        version = int(float(facts["emoji_version"]))
        if version >= NEWER_FROM:
            entry.append(version)
            # One emoji of a single code point per version: the picker draws it to
            # learn whether the browser's font has that version.
            if len(_bare(emoji)) == 1:
                samples.setdefault(str(version), emoji)
        elif entry[2] == "":
            entry.pop()
        groups[key].append(entry)
    return {
        "groups": [{"key": key, "emoji": entries} for key, entries in groups.items()],
        "samples": dict(sorted(samples.items(), key=lambda item: int(item[0]))),
    }


def dump(data: dict[str, Any]) -> str:
    """JSON with one emoji a line: small, and its changes read in a diff."""
    lines = ["{", f'"about": {json.dumps(data["about"])},']
    lines.append(f'"samples": {json.dumps(data["samples"], ensure_ascii=False)},')
    lines.append('"groups": [')
    for g, group in enumerate(data["groups"]):
        lines.append(f'{{"key": {json.dumps(group["key"])}, "emoji": [')
        entries = [json.dumps(entry, ensure_ascii=False) for entry in group["emoji"]]
        lines.append(",\n".join(entries))
        lines.append("]}" + ("," if g < len(data["groups"]) - 1 else ""))
    lines.append("]}")
    return "\n".join(lines) + "\n"


def _member(archive: Path, name: str) -> Any:
    with tarfile.open(archive) as tar:
        found = tar.extractfile(f"package/{name}")
        if found is None:
            raise SystemExit(f"{archive.name} has no {name}")
        return json.load(found)


def _packed(folder: Path, package: tuple[str, str]) -> Path:
    """The package's tarball in ``folder``, fetched with ``npm pack`` if not there."""
    name, version = package
    archive = folder / f"{name}-{version}.tgz"
    if not archive.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("npm is needed to fetch the emoji data (apt-get install npm)")
        command = [npm, "pack", f"{name}@{version}", "--pack-destination", str(folder)]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)  # noqa: S603 (fixed argv)
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", type=Path, help="a folder with the packages' .tgz files")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.packages or Path(scratch)
        by_emoji = _member(_packed(folder, UNICODE_PACKAGE), "data-by-emoji.json")
        emojibase = _member(_packed(folder, EMOJIBASE_PACKAGE), "en/compact.json")
    data = {"about": about(UNICODE_PACKAGE[1], EMOJIBASE_PACKAGE[1])} | build(by_emoji, emojibase)
    args.out.write_text(dump(data), encoding="utf-8")
    count = sum(len(group["emoji"]) for group in data["groups"])
    print(f"{args.out}: {count} emoji, {args.out.stat().st_size} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
