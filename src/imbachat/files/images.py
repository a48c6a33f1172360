"""Images made safe to pass on: decoded and encoded again by Pillow.

Whatever the upload carried besides its pixels (EXIF with GPS positions, XMP,
comments, thumbnails of the uncropped original) is left behind; the EXIF
orientation is applied to the pixels instead. A small copy (``THUMBNAIL_SIDE``)
is made for the conversation, except for animations, which are shown as they
are. Runs in a thread (it is CPU work); the caller bounds how many run at once.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from imbachat.errors import Invalid

THUMBNAIL_SIDE = 480
_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
# Kept from the decoder's info: what the pixels need to look right, never metadata.
_RENDERING_KEYS = ("transparency", "duration", "loop", "background", "icc_profile")


@dataclass(frozen=True, slots=True)
class Cleaned:
    content_type: str  # of the re-encoded image (a BMP becomes a PNG)
    width: int
    height: int
    thumbnail: Path | None  # None: small enough, or animated (shown as it is)
    thumbnail_type: str | None


def clean(source: Path, target: Path, thumbnail: Path, max_pixels: int) -> Cleaned:
    """Re-encode the image at ``source`` into ``target`` (and a thumbnail when it is
    large); :class:`Invalid` if it is not a whole image or has too many pixels."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _clean(source, target, thumbnail, max_pixels)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Invalid(
            f"The image cannot be read or is too large (at most {max_pixels:,} pixels).",
            field="file",
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise Invalid(f"The image is damaged: {exc}.", field="file") from None


def _clean(source: Path, target: Path, thumbnail: Path, max_pixels: int) -> Cleaned:
    with Image.open(source) as image:
        # The header's size is checked before any pixel is decoded.
        if image.width * image.height > max_pixels:
            raise Image.DecompressionBombError("too many pixels")
        frames = getattr(image, "n_frames", 1)
        if frames * image.width * image.height > max_pixels * 4:
            raise Image.DecompressionBombError("too many frames")
        fmt = image.format or ""
        if frames > 1 and fmt in ("GIF", "WEBP", "PNG"):
            return _animation(image, fmt, target)
        image.load()
        upright = ImageOps.exif_transpose(image) or image
        fmt = fmt if fmt in _FORMATS else "PNG"  # BMP and the like: PNG keeps every pixel
        still = _without_metadata(upright, image)
        _save(still, target, fmt)
        small = None
        if max(still.size) > THUMBNAIL_SIDE:
            copy = still.copy()
            copy.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
            small_fmt = "JPEG" if fmt == "JPEG" or not _has_alpha(copy) else "PNG"
            small_fmt = "WEBP" if fmt == "WEBP" else small_fmt
            _save(copy, thumbnail, small_fmt)
            small = small_fmt
        return Cleaned(
            content_type=_FORMATS[fmt],
            width=still.width,
            height=still.height,
            thumbnail=thumbnail if small else None,
            thumbnail_type=_FORMATS[small] if small else None,
        )


def _without_metadata(image: Image.Image, original: Image.Image) -> Image.Image:
    kept = {k: original.info[k] for k in _RENDERING_KEYS if k in original.info}
    if image is original:
        image = image.copy()
    image.info = kept  # type: ignore[assignment]
    return image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def _save(image: Image.Image, target: Path, fmt: str) -> None:
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    options: dict[str, object] = {"exif": b""} if fmt in ("JPEG", "WEBP") else {}
    if fmt == "JPEG":
        options.update(quality=88, optimize=True)
    if "icc_profile" in image.info:
        options["icc_profile"] = image.info["icc_profile"]
    if "transparency" in image.info and fmt in ("PNG", "GIF"):
        options["transparency"] = image.info["transparency"]
    image.save(target, fmt, **options)


def _animation(image: Image.Image, fmt: str, target: Path) -> Cleaned:
    """Every frame again, with its timing; no comments, no EXIF."""
    frames = []
    durations = []
    for frame in ImageSequence.Iterator(image):
        frames.append(frame.copy())
        durations.append(frame.info.get("duration", image.info.get("duration", 100)))
    first, rest = frames[0], frames[1:]
    first.info = {k: image.info[k] for k in ("loop", "background") if k in image.info}
    options: dict[str, object] = {"save_all": True, "append_images": rest, "duration": durations}
    options["loop"] = image.info.get("loop", 0)
    if fmt == "GIF":
        options["disposal"] = 2
    if fmt == "WEBP":
        options["exif"] = b""
    first.save(target, fmt, **options)
    return Cleaned(_FORMATS[fmt], image.width, image.height, None, None)
