"""Images pass on their pixels only: metadata left behind, orientation applied,
animations kept, bombs refused."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from imbachat.errors import Invalid
from imbachat.files.images import THUMBNAIL_SIDE, clean

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def photo_with_gps(path: Path, size: tuple[int, int] = (1200, 800), orientation: int = 6) -> Path:
    """A JPEG as phones take them: GPS position, camera model, a comment, rotated."""
    image = Image.new("RGB", size, (200, 40, 40))
    image.paste((20, 20, 220), (0, 0, size[0] // 2, size[1] // 2))  # top-left is blue
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x0110] = "Secret Phone 12"
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)})
    image.save(path, "JPEG", exif=exif.tobytes(), comment=b"taken at home")
    return path


def run(tmp_path: Path, source: Path, max_pixels: int = 50_000_000):
    return clean(source, tmp_path / "out", tmp_path / "thumb", max_pixels)


def test_a_photo_loses_its_exif_and_gps_but_keeps_its_orientation(tmp_path: Path) -> None:
    source = photo_with_gps(tmp_path / "in.jpg")
    with Image.open(source) as before:
        assert before.getexif().get_ifd(GPS_IFD)  # the test's photo does carry a position

    cleaned = run(tmp_path, source)

    assert (cleaned.content_type, cleaned.width, cleaned.height) == ("image/jpeg", 800, 1200)
    raw = (tmp_path / "out").read_bytes()
    assert b"Secret Phone" not in raw and b"taken at home" not in raw
    with Image.open(tmp_path / "out") as after:
        assert after.size == (800, 1200)
        assert not after.getexif()
        assert "exif" not in after.info and "comment" not in after.info
        # Rotated 90 degrees clockwise for display: the blue corner is now top-right.
        assert after.getpixel((790, 10))[2] > 150
        assert after.getpixel((10, 10))[0] > 150


def test_large_images_get_a_thumbnail_and_small_ones_are_their_own(tmp_path: Path) -> None:
    cleaned = run(tmp_path, photo_with_gps(tmp_path / "in.jpg", orientation=1))
    assert cleaned.thumbnail is not None and cleaned.thumbnail_type == "image/jpeg"
    with Image.open(cleaned.thumbnail) as small:
        assert max(small.size) == THUMBNAIL_SIDE
        assert not small.getexif()

    Image.new("RGB", (100, 60)).save(tmp_path / "small.png")
    tiny = run(tmp_path, tmp_path / "small.png")
    assert tiny.thumbnail is None and (tiny.width, tiny.height) == (100, 60)


def test_transparency_survives_in_a_png_thumbnail(tmp_path: Path) -> None:
    Image.new("RGBA", (1000, 1000), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    cleaned = run(tmp_path, tmp_path / "clear.png")
    assert cleaned.thumbnail_type == "image/png"
    with Image.open(cleaned.thumbnail or "") as small:
        assert small.mode == "RGBA" and small.getpixel((5, 5))[3] == 0


def test_an_animated_gif_keeps_every_frame_and_its_timing(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (64, 64), color) for color in ("red", "green", "blue")]
    frames[0].save(
        tmp_path / "in.gif", save_all=True, append_images=frames[1:], duration=70, loop=0,
        comment=b"private note",
    )  # fmt: skip
    cleaned = run(tmp_path, tmp_path / "in.gif")
    assert cleaned.content_type == "image/gif" and cleaned.thumbnail is None
    with Image.open(tmp_path / "out") as after:
        assert after.n_frames == 3
        assert after.info["duration"] == 70
        assert "comment" not in after.info


def test_a_bmp_becomes_a_png(tmp_path: Path) -> None:
    Image.new("RGB", (10, 10), (1, 2, 3)).save(tmp_path / "in.bmp")
    assert run(tmp_path, tmp_path / "in.bmp").content_type == "image/png"


def test_a_decompression_bomb_is_refused_before_its_pixels_are_decoded(tmp_path: Path) -> None:
    # 20,000 x 20,000 of one colour compresses to a few hundred kilobytes.
    Image.new("1", (20_000, 20_000)).save(tmp_path / "bomb.png")
    assert (tmp_path / "bomb.png").stat().st_size < 1_000_000
    with pytest.raises(Invalid, match="too large"):
        run(tmp_path, tmp_path / "bomb.png", max_pixels=50_000_000)


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 50,  # a header and nothing
        b"\x89PNG\r\n\x1a\n" + b"garbage" * 10,
        b"GIF89a",
    ],
)
def test_damaged_images_are_refused_with_a_reason(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "in").write_bytes(data)
    with pytest.raises(Invalid) as refused:
        run(tmp_path, tmp_path / "in")
    assert refused.value.errors == {"file": [refused.value.message]}


def test_a_truncated_jpeg_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (800, 800), (9, 9, 9)).save(buffer, "JPEG")
    (tmp_path / "in.jpg").write_bytes(buffer.getvalue()[:2000])
    with pytest.raises(Invalid):
        run(tmp_path, tmp_path / "in.jpg")
