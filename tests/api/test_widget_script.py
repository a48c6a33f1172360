"""GET /imbachat/v1/{imba_id}/widget: the script, small, cached with an ETag."""

from __future__ import annotations

import re

from imbachat.api import widget as widget_api


def test_the_widget_script_is_served_small_with_its_css_and_an_etag(widgets, http) -> None:
    widget = widgets()

    response = http.get(f"/imbachat/v1/{widget.imba_id}/widget")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/javascript")
    assert len(response.content) < 100_000
    assert "window.ImbaChat" in response.text
    assert '/*__CSS__*/""' not in response.text  # the stylesheet is inlined
    assert ".ic-launcher" in response.text
    assert response.headers["etag"]


def test_an_unchanged_script_is_revalidated_with_304(widgets, http) -> None:
    widget = widgets()
    first = http.get(f"/imbachat/v1/{widget.imba_id}/widget")

    again = http.get(
        f"/imbachat/v1/{widget.imba_id}/widget", headers={"If-None-Match": first.headers["etag"]}
    )

    assert again.status_code == 304
    assert again.content == b""


def test_an_unknown_widget_answers_a_script_that_says_so(http) -> None:
    response = http.get("/imbachat/v1/987654321/widget")

    assert response.status_code == 404
    assert response.text.startswith("console.error(")
    assert "987654321" in response.text


def test_browsers_that_take_gzip_download_a_quarter_of_the_bytes(widgets, http) -> None:
    widget = widgets()
    url = f"/imbachat/v1/{widget.imba_id}/widget"

    plain = http.get(url, headers={"Accept-Encoding": "identity"})
    packed = http.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    refused = http.get(url, headers={"Accept-Encoding": "gzip;q=0, identity"})
    again = http.get(
        url, headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["etag"]}
    )

    assert "content-encoding" not in plain.headers and "content-encoding" not in refused.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.text == plain.text  # the same script
    assert packed.num_bytes_downloaded < plain.num_bytes_downloaded / 3
    assert packed.num_bytes_downloaded < 30_000
    assert packed.headers["vary"] == "Accept-Encoding"
    assert packed.headers["etag"] != plain.headers["etag"]  # one per representation
    assert again.status_code == 304


def test_the_parts_used_on_demand_and_the_sound_are_served_cached_for_a_year(widgets, http) -> None:
    """The widget names each file with its version (``?v=``): that version is cached
    for a year; another address is revalidated like the script."""
    widget = widgets()
    script = http.get(f"/imbachat/v1/{widget.imba_id}/widget").text
    more = re.search(r'"(/imbachat/widget/more\.js\?v=\w+)"', script)
    sound = re.search(r'"(/imbachat/widget/alert\.wav\?v=\w+)"', script)
    assert more and sound, "the script names both files"

    code = http.get(more.group(1), headers={"Accept-Encoding": "gzip"})
    wav = http.get(sound.group(1))
    unversioned = http.get("/imbachat/widget/more.js")
    again = http.get(sound.group(1), headers={"If-None-Match": wav.headers["etag"]})

    assert code.status_code == 200 and code.headers["content-encoding"] == "gzip"
    assert code.headers["content-type"].startswith("application/javascript")
    assert code.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "buildSettings" in code.text and "/*__CSS__*/" not in code.text
    assert ".ic-viewer" in code.text  # its stylesheet inlined
    assert code.num_bytes_downloaded < 8_000
    assert wav.status_code == 200 and wav.headers["content-type"] == "audio/wav"
    assert "content-encoding" not in wav.headers
    assert wav.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert wav.content[:4] == b"RIFF" and len(wav.content) < 4096
    assert unversioned.headers["cache-control"] == "public, max-age=300, must-revalidate"
    assert again.status_code == 304


def test_the_emoji_picker_comes_on_its_own_when_first_opened_cached_for_a_year(
    widgets, http
) -> None:
    """The picker and its data are a third script, named in the widget's with its
    version: none of it is in the widget's first load."""
    widget = widgets()
    script = http.get(f"/imbachat/v1/{widget.imba_id}/widget").text
    named = re.search(r'"(/imbachat/widget/emoji\.js\?v=\w+)"', script)
    assert named, "the script names the picker's"
    assert "thumbs up" not in script and "ImbaEmoji = {" not in script  # nothing of it inlined

    code = http.get(named.group(1), headers={"Accept-Encoding": "gzip"})
    plain = http.get(named.group(1), headers={"Accept-Encoding": "identity"})
    unversioned = http.get("/imbachat/widget/emoji.js")
    again = http.get(
        named.group(1), headers={"Accept-Encoding": "gzip", "If-None-Match": code.headers["etag"]}
    )

    assert code.status_code == 200 and code.headers["content-encoding"] == "gzip"
    assert code.headers["content-type"].startswith("application/javascript")
    assert code.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert code.headers["vary"] == "Accept-Encoding"
    assert code.text == plain.text
    assert "window.ImbaEmoji" in code.text and "/*__" not in code.text  # every slot filled
    assert ".ic-emoji-grid" in code.text  # its stylesheet
    assert '"smileys":"Smileys & emotion"' in code.text and '"flags":"Флаги"' in code.text
    assert '["👍","thumbs up"' in code.text  # the data
    assert "unicode-emoji-json" in code.text and "Unicode License" in code.text  # its sources
    assert code.num_bytes_downloaded < 50_000
    assert unversioned.headers["cache-control"] == "public, max-age=300, must-revalidate"
    assert again.status_code == 304


def test_scripts_are_served_without_comments_and_indentation_their_code_intact() -> None:
    """Served text drops own-line comments and leading blanks only: no script has a
    template literal (whose lines' blanks would be content), and code after a
    comment on the same line stays."""
    for name in ("widget.js", "more.js", "everyday.js", "calls.js", "emoji.js"):
        source = (widget_api.WIDGET_DIR / name).read_text(encoding="utf-8")
        code = widget_api.compact(source)
        assert "`" not in code, f"{name} has a template literal"
        assert len(code) < len(source)
    assert widget_api.compact("a();\n  /* a\n * note */\n  // why\n  b(); /* c */ d();\n") == (
        "a();\nb(); /* c */ d();\n"
    )
