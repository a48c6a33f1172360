"""GET /imbachat/v1/{imba_id}/widget: the script, small, cached with an ETag."""

from __future__ import annotations


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
