"""Reading an image: what its bytes really are, from the header first.

The format comes from the file signature (never the extension), sizes and bit depth
from the PNG IHDR chunk or the JPEG frame header before anything is decoded, and
pixels are decoded only to count transparent ones in an image of the accepted size.
Pillow is imported inside the functions that need it.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from novareel.foundation.errors import ImageError, Problem
from novareel.models.base import MAGIC, FrameRules
from novareel.models.nova_reel import FRAME_RULES as NOVA_FRAME_RULES
from novareel.models.nova_reel import HEIGHT, WIDTH

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["HEIGHT", "WIDTH", "ImageFacts", "inspect_image_bytes", "sniff_format"]

_PNG_COLOR_TYPES = {
    0: "grayscale",
    2: "RGB",
    3: "palette",
    4: "grayscale with alpha",
    6: "RGBA",
}
_EXIF_ORIENTATION_TAG = 0x0112
_ORIENTATION_WORDS = {
    2: "mirrored",
    3: "rotated 180°",
    4: "flipped vertically",
    5: "mirrored and rotated 90°",
    6: "rotated 90° clockwise",
    7: "mirrored and rotated 90° counter-clockwise",
    8: "rotated 90° counter-clockwise",
}


@dataclass(frozen=True)
class ImageFacts:
    """What an image really is, read from its bytes (header first, pixels if needed).

    ``bit_depth`` is bits per channel; ``transparent_pixels`` counts pixels whose alpha
    is below 255 (None when the image has no alpha at all); ``first_transparent`` is
    the (x, y) of the first such pixel in reading order.
    """

    format: str
    width: int
    height: int
    mode: str
    bit_depth: int | None
    color: str
    size_bytes: int
    transparent_pixels: int | None = None
    first_transparent: tuple[int, int] | None = None
    orientation: int = 1
    frames: int = 1


# --------------------------------------------------------------------------- sniffing


_OBJECT_REPR = re.compile(r"\s*<[\w.]+ object at 0x[0-9a-fA-F]+>")


def _pillow_reason(exc: BaseException) -> str:
    """Pillow's reason, without the repr of the in-memory file it was handed
    (``cannot identify image file <_io.BytesIO object at 0x7f...>``): an address that
    differs on every call says nothing to a person, and made the same file's problem
    read differently from one door to the next."""
    return _OBJECT_REPR.sub("", str(exc)).strip() or type(exc).__name__


def sniff_format(data: bytes) -> str | None:
    """The real container format from the first bytes: ``png``, ``jpeg``, or another
    lowercase name (``gif``, ``webp``, ``bmp``, ``tiff``, ``heic``...), None if unknown.

    Magic numbers, not Pillow, so the answer is instant and works on truncated files.
    """
    if data.startswith(MAGIC["png"]):
        return "png"
    if data.startswith(MAGIC["jpeg"]):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:2] == b"BM":
        return "bmp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
            return "heic"
        if brand in (b"avif", b"avis"):
            return "avif"
    return None


def _png_header(data: bytes) -> tuple[int, int, int, int]:
    """(width, height, bit depth, colour type) straight from the PNG IHDR chunk.

    Needed because Pillow opens a 16-bit RGB PNG as 8-bit ``RGB`` mode, so its mode
    alone cannot tell that the file breaks the 8-bit rule.
    """
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise ValueError("PNG without an IHDR header")
    width, height, depth, color = struct.unpack(">IIBB", data[16:26])
    return width, height, depth, color


def _jpeg_header(data: bytes) -> tuple[int, int, int, int] | None:
    """(width, height, precision, components) from the first JPEG SOF marker.

    Walks the marker segments without decoding anything; None when no frame header
    is found (a truncated or broken file, which Pillow will then report).
    """
    pos = 2
    n = len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            pos += 1
            continue
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if pos + 10 > n:
                return None
            precision = data[pos + 4]
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            components = data[pos + 9]
            return width, height, precision, components
        if marker == 0xDA:  # start of scan before any frame header
            return None
        pos += 2 + length
    return None


def _open(data: bytes) -> Image.Image:
    """Open bytes with Pillow, lazily, with decompression-bomb warnings silenced.

    The warning would turn into an error under ``filterwarnings = error``; the real
    guard is our own pixel cap (and Pillow's DecompressionBombError beyond it).
    """
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(data))


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(_EXIF_ORIENTATION_TAG, 1)
    except Exception:  # a broken EXIF block must not hide the real checks
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _alpha_facts(image: Image.Image) -> tuple[int | None, tuple[int, int] | None]:
    """Count pixels with alpha below 255, and find the first one.

    Images without any alpha (and without a tRNS colour key) return (None, None).
    """
    import numpy as np

    has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or ("transparency" in image.info)
    if not has_alpha:
        return None, None
    rgba = image.convert("RGBA")
    alpha = np.asarray(rgba.getchannel("A"))
    mask = alpha < 255
    count = int(mask.sum())
    if count == 0:
        return 0, None
    index = int(mask.argmax())
    y, x = divmod(index, alpha.shape[1])
    return count, (x, y)


def inspect_image_bytes(
    data: bytes, *, field: str = "image", rules: FrameRules | None = None
) -> ImageFacts:
    """Read what an image really is: format, size, mode, bit depth, transparency.

    Only the header is parsed for size and depth; pixels are decoded only to count
    transparent ones, and only when the image is of the accepted size (1280x720), so a
    huge image is never decoded here. Raises :class:`ImageError` when the bytes are not
    an image at all.
    """
    from PIL import Image, UnidentifiedImageError

    fmt = sniff_format(data)
    try:
        image = _open(data)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ImageError(
            Problem(field, _unreadable(data, fmt, exc), value=None),
            hint=f"Use a PNG or JPEG file{_of_size(rules or NOVA_FRAME_RULES)}.",
        ) from exc
    fmt = fmt or (image.format or "unknown").lower()
    width, height = image.size
    bit_depth: int | None = 8
    color = image.mode
    if fmt == "png":
        try:
            width, height, bit_depth, color_type = _png_header(data)
            color = _PNG_COLOR_TYPES.get(color_type, f"colour type {color_type}")
        except (ValueError, struct.error):
            bit_depth = None
    elif fmt == "jpeg":
        header = _jpeg_header(data)
        if header is not None:
            width, height, bit_depth, components = header
            color = {1: "grayscale", 3: "RGB", 4: "CMYK"}.get(
                components, f"{components} components"
            )
            if image.mode == "CMYK":
                color = "CMYK"
    else:
        bit_depth = None
    transparent: int | None = None
    first: tuple[int, int] | None = None
    if width * height <= _DECODE_PIXELS:
        # The header can be whole while the pixels are cut off (a download stopped
        # half-way): only decoding tells, and the service would refuse it after the call.
        try:
            image.load()
        except (OSError, ValueError, SyntaxError) as exc:
            raise ImageError(
                Problem(
                    field,
                    f"is damaged: its {fmt.upper()} pixel data is cut off or "
                    f"corrupt ({_pillow_reason(exc)})",
                ),
                hint="Re-export the image from an image editor as PNG.",
            ) from exc
    if (width, height) == (WIDTH, HEIGHT):
        try:
            transparent, first = _alpha_facts(image)
        except (OSError, ValueError) as exc:
            raise ImageError(
                Problem(field, f"is damaged and cannot be decoded ({exc})"),
                hint="Re-export the image from an image editor as PNG.",
            ) from exc
    return ImageFacts(
        format=fmt,
        width=width,
        height=height,
        mode=image.mode,
        bit_depth=bit_depth,
        color=color,
        size_bytes=len(data),
        transparent_pixels=transparent,
        first_transparent=first,
        orientation=_orientation(image),
        frames=int(getattr(image, "n_frames", 1) or 1),
    )


#: Images up to this many pixels are decoded whole when read (a 1280x720 PNG in
#: ~10 ms); larger ones are refused for their size anyway, without decoding them.
_DECODE_PIXELS = 4096 * 4096


def _unreadable(data: bytes, fmt: str | None, exc: BaseException) -> str:
    """Why bytes are not an image, in words a person can act on."""
    if fmt in ("png", "jpeg"):
        return f"starts like a {fmt.upper()} file but cannot be read ({_pillow_reason(exc)})"
    if fmt is not None:
        return f"is a {fmt.upper()} file, not a PNG or JPEG, and cannot be read here"
    start = data[:12]
    return (
        f"is not an image: its first bytes are {start!r}, where a PNG starts with "
        "b'\\x89PNG' and a JPEG with b'\\xff\\xd8\\xff'"
    )


def _of_size(rules: FrameRules) -> str:
    """`` of 1280x720 pixels`` for a model that demands a size, else nothing."""
    return f" of {rules.size[0]}x{rules.size[1]} pixels" if rules.size else ""
