"""Starting frames: read, sniff, check and (on request) fit images for Nova Reel.

Nova Reel accepts a starting frame only when it is a PNG or JPEG of exactly 1280x720
pixels, 8 bits per channel RGB, with no transparent or translucent pixel, at most
25 MB, and sent with a ``format`` that matches the real content (``"png"`` or
``"jpeg"``, never ``"jpg"``). Anything else fails at the service *after* the call, so
this module checks every rule locally and says what is wrong and how to fix it.

Design choices, and why:

* **The bytes decide the format, never the extension.** Phones and chat apps rename
  files freely; a ``.jpg`` holding PNG data is accepted with ``format="png"`` and a
  notice, instead of being sent with the wrong ``format``.
* **Refuse by default, convert only when asked.** Converting changes the picture
  (cropping, bars, distortion), so it must be the user's decision: ``fit="crop"``,
  ``"pad"`` or ``"stretch"`` (``--fit`` on the command line). Every conversion is
  reported in :attr:`PreparedFrame.notes`.
* **Converted frames are PNG.** Re-encoding to JPEG would add a second generation of
  compression artefacts to the first frame of the video; a 1280x720 RGB PNG is at
  most ~2.8 MB, far under the 25 MB limit.
* **Palette PNGs are refused** (and converted losslessly by ``fit``): the contract
  asks for 8-bit-per-channel RGB, a palette image stores 8-bit *indices*, and whether
  the service decodes them is not documented. Refusing costs nothing; a rejected
  paid call costs a round trip and confusion.
* **Sizes are checked from the header before anything is decoded**, and the 25 MB
  limit from the file size before the file is even read, so a huge file or a
  decompression bomb never reaches the decoder unless ``fit`` is asked for.

Images already in S3 are passed by reference (``s3Location``) and never downloaded:
only the key's extension can be checked locally.

Pillow is imported inside the functions that need it, so importing this module (for
:data:`FitMode`, say) stays cheap.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from novareel.errors import ImageError, InvalidRequestError, Problem
from novareel.models.base import FrameRules, ImageFormat, StartingFrame
from novareel.models.nova_reel import FRAME_RULES as NOVA_FRAME_RULES

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "FIT_MODES",
    "HEIGHT",
    "MAX_FIT_SOURCE_BYTES",
    "MAX_IMAGE_BYTES",
    "WIDTH",
    "FitMode",
    "ImageFacts",
    "PreparedFrame",
    "check_image_bytes",
    "fit_image",
    "fit_problem",
    "inspect_image_bytes",
    "load_starting_frame",
    "prepare_starting_frame",
    "sniff_format",
]

FitMode = Literal["crop", "pad", "stretch"]
FIT_MODES: tuple[str, ...] = get_args(FitMode)


def fit_problem(value: object, field: str = "fit") -> Problem | None:
    """The one check of a fit mode (every caller asks this): None when ``value`` is
    None or one of :data:`FIT_MODES`, else the problem to report under ``field``."""
    if value is None or value in FIT_MODES:
        return None
    return Problem(
        field,
        f"unknown fit mode {value!r}; use {', '.join(FIT_MODES[:-1])} or {FIT_MODES[-1]}",
        value=value,
        limit=" | ".join(FIT_MODES),
    )


WIDTH = 1280
HEIGHT = 720
#: The service's limit on a starting frame. Decimal megabytes, the stricter reading:
#: a real 1280x720 frame is never near it, only padded or mislabelled files are.
MAX_IMAGE_BYTES = 25_000_000
#: With ``fit`` the source is re-encoded, so it may be bigger than the service limit
#: (a camera TIFF, a 50 MP phone PNG); this cap only keeps memory use sane.
MAX_FIT_SOURCE_BYTES = 256_000_000
#: Pixel cap when decoding a source for ``fit`` (about 200 MP; Pillow's own
#: decompression-bomb error sits just below this).
MAX_FIT_SOURCE_PIXELS = 200_000_000

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SIGNATURE = b"\xff\xd8\xff"
_BUCKET_OWNER = re.compile(r"^\d{12}$")
_S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][.\-a-z0-9]{1,61}[a-z0-9])/(?P<key>.+)$")
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
class PreparedFrame:
    """A checked (and maybe fitted) starting frame and what was done to get it.

    ``notes`` are for people: a renamed file's real format, an alpha channel that was
    dropped, how an image was cropped. ``converted`` is True when ``frame.data`` is a
    freshly encoded PNG rather than the file's own bytes.
    """

    frame: StartingFrame
    notes: list[str] = field(default_factory=list)
    converted: bool = False


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


def sniff_format(data: bytes) -> str | None:
    """The real container format from the first bytes: ``png``, ``jpeg``, or another
    lowercase name (``gif``, ``webp``, ``bmp``, ``tiff``, ``heic``...), None if unknown.

    Magic numbers, not Pillow, so the answer is instant and works on truncated files.
    """
    if data.startswith(_PNG_SIGNATURE):
        return "png"
    if data.startswith(_JPEG_SIGNATURE):
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
        described = f"{fmt.upper()} data" if fmt else "not an image Pillow can read"
        raise ImageError(
            Problem(field, f"cannot be read as an image ({described}: {exc})", value=None),
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


# --------------------------------------------------------------------------- checking


def _of_size(rules: FrameRules) -> str:
    """`` of 1280x720 pixels`` for a model that demands a size, else nothing."""
    return f" of {rules.size[0]}x{rules.size[1]} pixels" if rules.size else ""


def _size_problem(size: int, field: str, rules: FrameRules = NOVA_FRAME_RULES) -> Problem:
    return Problem(
        field,
        f"is {size / 1_000_000:.1f} MB; {rules.model_name} accepts images up to 25 MB",
        value=size,
        limit=f"<= {MAX_IMAGE_BYTES} bytes",
    )


def _shape_hint(width: int, height: int, target: tuple[int, int] = (WIDTH, HEIGHT)) -> str:
    """How to fix a wrong size, worded for the image's actual shape."""
    tw, th = target
    if width * th == height * tw:
        shape = "16:9" if (tw, th) == (WIDTH, HEIGHT) else f"{tw}x{th}'s shape"
        return (
            f"{width}x{height} is already {shape}: --fit crop (or pad, or stretch) only "
            f"resizes it to {tw}x{th}."
        )
    if (tw, th) != (WIDTH, HEIGHT):
        return (
            f"{width}x{height} is not {tw}x{th}'s shape: --fit crop cuts the edges, --fit "
            "pad adds black bars, --fit stretch distorts it."
        )
    if height > width:
        return (
            f"{width}x{height} is portrait: --fit pad keeps the whole picture with black "
            "bars, --fit crop cuts a 16:9 band from its centre."
        )
    return (
        f"{width}x{height} is not 16:9: --fit crop cuts the edges to 16:9, --fit pad "
        "adds black bars, --fit stretch distorts it."
    )


def _oriented_size(facts: ImageFacts) -> tuple[int, int]:
    """The size viewers show: width and height swap for EXIF orientations 5-8."""
    if facts.orientation in (5, 6, 7, 8):
        return facts.height, facts.width
    return facts.width, facts.height


def _problems(
    facts: ImageFacts,
    field: str,
    rules: FrameRules = NOVA_FRAME_RULES,
    size: tuple[int, int] | None = (WIDTH, HEIGHT),
) -> tuple[list[Problem], list[str]]:
    """Every rule the image breaks (as problems) and how to fix each (as hints).

    ``size`` is the pixel size the image must have (None: any size is accepted).
    """
    problems: list[Problem] = []
    hints: list[str] = []
    name = rules.model_name
    target = size or rules.target_size or (WIDTH, HEIGHT)
    target_text = f"{target[0]}x{target[1]}"
    if facts.format not in ("png", "jpeg"):
        problems.append(
            Problem(
                field,
                f"is {facts.format.upper()}; {name} accepts only PNG or JPEG",
                value=facts.format,
                limit="png | jpeg",
            )
        )
        hints.append(f"--fit crop|pad|stretch converts it to a {target_text} PNG.")
    if facts.size_bytes > rules.max_bytes:
        problems.append(_size_problem(facts.size_bytes, field, rules))
    if size is not None and (facts.width, facts.height) != size:
        problems.append(
            Problem(
                field,
                f"is {facts.width}x{facts.height} pixels; {name} needs exactly {target_text}"
                if rules.size
                else f"is {facts.width}x{facts.height} pixels; --fit makes it {target_text}",
                value=f"{facts.width}x{facts.height}",
                limit=target_text,
            )
        )
        shown = _oriented_size(facts)
        if shown != (facts.width, facts.height):
            problems[
                -1
            ].message += (
                f" (viewers show it as {shown[0]}x{shown[1]} because of its EXIF orientation)"
            )
            hints.append("--fit applies the EXIF rotation before fitting.")
        hints.append(_shape_hint(*shown, target))
    if facts.format in ("png", "jpeg"):
        if facts.bit_depth is not None and facts.bit_depth != 8:
            problems.append(
                Problem(
                    field,
                    f"has {facts.bit_depth} bits per channel; {name} needs 8-bit RGB",
                    value=facts.bit_depth,
                    limit="8 bits per channel",
                )
            )
            hints.append("--fit converts it to 8-bit RGB (or re-export as 8-bit).")
        if facts.color not in ("RGB", "RGBA"):
            why = {
                "palette": " (a palette PNG stores colour indices, not RGB values)",
                "CMYK": " (print colours; the model needs screen RGB)",
            }.get(facts.color, "")
            problems.append(
                Problem(
                    field,
                    f"is {facts.color}{why}; {name} needs RGB",
                    value=facts.color,
                    limit="RGB, 8 bits per channel",
                )
            )
            hints.append(
                "--fit crop|pad|stretch converts it to RGB (lossless for palette and "
                "grayscale images)."
            )
    if facts.transparent_pixels:
        x, y = facts.first_transparent or (0, 0)
        total = facts.width * facts.height
        problems.append(
            Problem(
                field,
                f"has {facts.transparent_pixels} transparent or translucent pixel"
                f"{'s' if facts.transparent_pixels != 1 else ''} of {total} (first at "
                f"x={x}, y={y}); {name} refuses any pixel with alpha below 255",
                value=facts.transparent_pixels,
                limit="every pixel fully opaque",
            )
        )
        hints.append(
            "--fit pad (or crop/stretch) flattens the image onto black; or flatten it "
            "yourself in an image editor (remove the alpha channel)."
        )
    if facts.frames > 1:
        problems.append(
            Problem(
                field,
                f"is animated ({facts.frames} frames); a starting frame is one still image",
                value=facts.frames,
                limit="1 frame",
            )
        )
        hints.append("--fit keeps only the first frame.")
    return problems, hints


def _raise(problems: list[Problem], hints: list[str]) -> None:
    unique = list(dict.fromkeys(hints))
    raise ImageError(problems, hint=" ".join(unique) if unique else None)


def check_image_bytes(data: bytes, *, field: str = "image") -> ImageFormat:
    """Check bytes against every starting-frame rule; return the real ``format``.

    The 25 MB limit is checked before decoding. All broken rules are reported at once
    in one :class:`ImageError` whose hint says how to fix them.
    """
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(
            _size_problem(len(data), field),
            hint="A 1280x720 frame is at most ~2.8 MB as PNG: re-export it, or use --fit "
            "to re-encode it.",
        )
    facts = inspect_image_bytes(data, field=field)
    problems, hints = _problems(facts, field)
    if problems:
        _raise(problems, hints)
    return "png" if facts.format == "png" else "jpeg"


# --------------------------------------------------------------------------- fitting


def _to_rgb(image: Image.Image, background: tuple[int, int, int]) -> tuple[Image.Image, str | None]:
    """Convert any mode to 8-bit RGB; say what happened when it was not trivial.

    16-bit grayscale is scaled down (Pillow's plain convert would clip it to white);
    alpha is composited onto ``background`` so transparent areas become a colour the
    model can see, rather than whatever RGB garbage hides under alpha 0.
    """
    from PIL import Image

    mode = image.mode
    if mode == "RGB" and "transparency" not in image.info:
        return image, None
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        import numpy as np

        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if mode.startswith("I;16") or array.max() > 255 else 255.0
        scaled = np.clip(array * (255.0 / peak) + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(scaled).convert("RGB"), f"converted {mode} to 8-bit RGB"
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        alpha = rgba.getchannel("A")
        low, _high = alpha.getextrema()
        if low == 255:
            note = f"dropped the alpha channel of a {mode} image (fully opaque)"
            return rgba.convert("RGB"), note
        import numpy as np

        count = int((np.asarray(alpha) < 255).sum())
        canvas = Image.new("RGB", rgba.size, background)
        canvas.paste(rgba, mask=alpha)
        return canvas, (f"flattened {count} transparent or translucent pixels onto rgb{background}")
    described = {
        "P": "palette",
        "L": "grayscale",
        "1": "1-bit",
        "CMYK": "CMYK",
        "YCbCr": "YCbCr",
        "LAB": "Lab",
        "HSV": "HSV",
    }.get(mode, mode)
    return image.convert("RGB"), f"converted {described} to RGB"


def fit_image(
    image: Image.Image,
    mode: FitMode,
    *,
    size: tuple[int, int] = (WIDTH, HEIGHT),
    background: tuple[int, int, int] = (0, 0, 0),
) -> tuple[Image.Image, list[str]]:
    """Make any Pillow image exactly ``size`` RGB; return it and what was done.

    EXIF orientation is applied first (a phone's portrait photo stored sideways comes
    out upright), then the mode is converted to RGB, then the geometry:

    * ``crop``: scale to cover the frame, cut the overflow equally from both sides;
    * ``pad``: scale to fit inside, centre on ``background`` (letterbox / pillarbox);
    * ``stretch``: resize to the frame, distorting the aspect ratio.

    Resampling uses Lanczos (sharp, no ringing worth noticing at these ratios) with a
    reducing gap so big photos shrink quickly.
    """
    from PIL import Image, ImageOps

    bad_fit = fit_problem(mode)
    if bad_fit is not None:
        raise InvalidRequestError(bad_fit)
    notes: list[str] = []
    orientation = _orientation(image)
    if orientation != 1:
        image = ImageOps.exif_transpose(image)
        notes.append(
            f"applied EXIF orientation {orientation} "
            f"({_ORIENTATION_WORDS.get(orientation, 'transformed')}): now "
            f"{image.width}x{image.height}"
        )
    if getattr(image, "n_frames", 1) > 1:
        notes.append(f"kept the first of {image.n_frames} frames")  # type: ignore[attr-defined]
    image, note = _to_rgb(image, background)
    if note:
        notes.append(note)
    target_w, target_h = size
    src_w, src_h = image.size
    if (src_w, src_h) == size:
        return image, notes
    lanczos = Image.Resampling.LANCZOS
    if mode == "stretch":
        out = image.resize(size, lanczos, reducing_gap=3.0)
        change = (target_w / target_h) / (src_w / src_h)
        distortion = (
            f"; shapes are {abs(change - 1) * 100:.0f}% {'wider' if change > 1 else 'narrower'}"
            if abs(change - 1) > 0.005
            else ""
        )
        notes.append(f"stretched {src_w}x{src_h} to {target_w}x{target_h}{distortion}")
        return out, notes
    if mode == "crop":
        scale = max(target_w / src_w, target_h / src_h)
        # min/max: floating point can make the crop a hair wider than the source
        # (211x119 -> 211.00000000000003), which Pillow refuses as a negative offset.
        crop_w, crop_h = min(target_w / scale, src_w), min(target_h / scale, src_h)
        left, top = max((src_w - crop_w) / 2, 0.0), max((src_h - crop_h) / 2, 0.0)
        box = (left, top, left + crop_w, top + crop_h)
        out = image.resize(size, lanczos, box=box, reducing_gap=3.0)
        cut = []
        if src_w - crop_w >= 1:
            cut.append(f"{(src_w - crop_w) / 2:.0f} px from left and right")
        if src_h - crop_h >= 1:
            cut.append(f"{(src_h - crop_h) / 2:.0f} px from top and bottom")
        what = f", cut {' and '.join(cut)}" if cut else ""
        shape = "16:9" if (target_w, target_h) == (WIDTH, HEIGHT) else "the video's shape"
        notes.append(
            f"cropped {src_w}x{src_h} to {shape} and resized to {target_w}x{target_h}{what}"
        )
        return out, notes
    # pad
    scale = min(target_w / src_w, target_h / src_h)
    inner_w = max(1, min(target_w, round(src_w * scale)))
    inner_h = max(1, min(target_h, round(src_h * scale)))
    resized = image.resize((inner_w, inner_h), lanczos, reducing_gap=3.0)
    canvas = Image.new("RGB", size, background)
    canvas.paste(resized, ((target_w - inner_w) // 2, (target_h - inner_h) // 2))
    bars = []
    if inner_w < target_w:
        bars.append(f"{target_w - inner_w} px of bars left and right")
    if inner_h < target_h:
        bars.append(f"{target_h - inner_h} px of bars top and bottom")
    what = f" with {' and '.join(bars)}" if bars else ""
    notes.append(
        f"padded {src_w}x{src_h} (scaled to {inner_w}x{inner_h}) to {target_w}x{target_h}{what}"
    )
    return canvas, notes


def _encode_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


# --------------------------------------------------------------------------- loading


def _frame(fmt: ImageFormat, data: bytes, source: str, fit: FitMode | None = None) -> StartingFrame:
    return StartingFrame(
        format=fmt, data=data, source=source, sha256=hashlib.sha256(data).hexdigest(), fit=fit
    )


def _prepare_s3(uri: str, bucket_owner: str | None, field: str) -> PreparedFrame:
    problems: list[Problem] = []
    match = _S3_URI.match(uri)
    if not match:
        problems.append(
            Problem(
                field,
                f"{uri!r} is not an s3://bucket/key URI of an object",
                value=uri,
                limit="s3://bucket/key.png",
            )
        )
    key = match.group("key") if match else uri
    suffix = Path(key).suffix.lower()
    fmt: ImageFormat | None = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg"}.get(suffix)  # type: ignore[assignment]
    hint = None
    if fmt is None:
        problems.append(
            Problem(
                field,
                f"S3 object {key!r} does not end in .png, .jpg or .jpeg, so its format "
                "cannot be known without downloading it",
                value=uri,
                limit=".png | .jpg | .jpeg",
            )
        )
        hint = (
            "Rename the object to its real extension, or download it and pass the local "
            "file (which is checked byte by byte)."
        )
    if bucket_owner is not None and not _BUCKET_OWNER.match(bucket_owner):
        problems.append(
            Problem(
                f"{field}.bucket_owner",
                "must be a 12-digit AWS account id",
                value=bucket_owner,
                limit="12 digits",
            )
        )
    if problems:
        raise ImageError(problems, hint=hint)
    assert fmt is not None
    notes = [
        "S3 image passed by reference: its size, mode and transparency are checked by "
        "the service, not locally"
    ]
    frame = StartingFrame(format=fmt, s3_uri=uri, bucket_owner=bucket_owner, source=uri)
    return PreparedFrame(frame=frame, notes=notes)


def prepare_starting_frame(
    source: str | os.PathLike[str],
    *,
    fit: FitMode | None = None,
    bucket_owner: str | None = None,
    field: str = "image",
    background: tuple[int, int, int] = (0, 0, 0),
    rules: FrameRules | None = None,
) -> PreparedFrame:
    """Turn a path or ``s3://`` URI into a :class:`StartingFrame` Nova Reel accepts.

    Local files are read, sniffed and checked; with ``fit`` an image that breaks a rule
    is converted (see :func:`fit_image`) and re-encoded as PNG, while one that already
    passes is sent untouched. ``s3://`` sources are never downloaded. Raises
    :class:`ImageError` with every problem and a hint; ``field`` names the image in
    messages (``shots[2].image`` in a storyboard). ``rules`` are the model's (Nova
    Reel's exact 1280x720 by default; Luma Ray 2 takes any size, and ``fit`` fits it to
    the video's own size).

    The frame carries the notes too, each named by ``field`` (``image: cropped ...``),
    so they travel with the request to whoever sends it.
    """
    prepared = _prepare(source, fit, bucket_owner, field, background, rules)
    said = tuple(f"{field}: {note}" for note in prepared.notes)
    return replace(prepared, frame=replace(prepared.frame, notes=said))


def _prepare(
    source: str | os.PathLike[str],
    fit: FitMode | None,
    bucket_owner: str | None,
    field: str,
    background: tuple[int, int, int],
    rules: FrameRules | None,
) -> PreparedFrame:
    """:func:`prepare_starting_frame` without the notes on the frame."""
    rules = rules or NOVA_FRAME_RULES
    text = os.fspath(source)
    if text.startswith("s3://"):
        if not rules.s3_sources:
            raise ImageError(
                Problem(
                    field,
                    f"{rules.model_name} takes images as bytes; an s3:// image has no "
                    "documented form",
                    value=text,
                    limit="a local PNG or JPEG file",
                ),
                hint="Download the image and pass the local file.",
            )
        return _prepare_s3(text, bucket_owner, field)
    size_rule = rules.size or (rules.fit_size if fit else None)
    if bucket_owner is not None:
        raise ImageError(
            Problem(
                f"{field}.bucket_owner",
                "only applies to images in S3 (s3:// sources)",
                value=bucket_owner,
            )
        )
    bad_fit = fit_problem(fit)
    if bad_fit is not None:
        raise InvalidRequestError(bad_fit)
    path = Path(text).expanduser()
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ImageError(
            Problem(
                field, f"file not found: {text}", value=text, limit="an existing PNG or JPEG file"
            )
        ) from None
    except OSError as exc:
        raise ImageError(
            Problem(field, f"{text} cannot be read ({exc.strerror})", value=text)
        ) from exc
    if path.is_dir():
        raise ImageError(Problem(field, f"{text} is a folder, not an image file", value=text))
    limit = MAX_FIT_SOURCE_BYTES if fit else MAX_IMAGE_BYTES
    if size > limit:
        if fit:
            raise ImageError(
                Problem(
                    field,
                    f"is {size / 1_000_000:.0f} MB, too big to convert safely",
                    value=size,
                    limit=f"<= {MAX_FIT_SOURCE_BYTES} bytes",
                ),
                hint="Shrink it in an image editor first.",
            )
        raise ImageError(
            _size_problem(size, field, rules),
            hint="A 1280x720 frame is at most ~2.8 MB as PNG: re-export it, or add "
            "--fit crop to re-encode it."
            if rules.size
            else "Re-export it smaller as PNG or JPEG, or add --fit crop to re-encode it.",
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageError(
            Problem(field, f"{text} cannot be read ({exc.strerror})", value=text)
        ) from exc

    notes: list[str] = []
    facts = inspect_image_bytes(data, field=field, rules=rules)
    problems, hints = _problems(facts, field, rules, size_rule)
    # With --fit, an EXIF rotation counts as something to fix: the user asked for the
    # picture they see, and the service most likely ignores the orientation tag.
    if not problems and not (fit and facts.orientation != 1):
        fmt: ImageFormat = "png" if facts.format == "png" else "jpeg"
        notes.extend(_acceptance_notes(path, facts, rules))
        if fit:
            notes.append(f"already a valid starting frame; --fit {fit} changed nothing")
        return PreparedFrame(frame=_frame(fmt, data, str(path)), notes=notes)
    if fit is None:
        _raise(problems, hints)
    if problems:
        notes.append("was not a valid starting frame: " + "; ".join(p.message for p in problems))
    assert fit is not None
    from PIL import Image

    if facts.width * facts.height > MAX_FIT_SOURCE_PIXELS:
        raise ImageError(
            Problem(
                field,
                f"is {facts.width}x{facts.height} ({facts.width * facts.height / 1e6:.0f} MP), "
                "too many pixels to convert safely",
                value=f"{facts.width}x{facts.height}",
                limit=f"<= {MAX_FIT_SOURCE_PIXELS} pixels",
            ),
            hint="Shrink it in an image editor first.",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = _open(data)
            image.load()
            fitted, fit_notes = fit_image(
                image, fit, size=size_rule or (WIDTH, HEIGHT), background=background
            )
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageError(
            Problem(field, f"could not be converted ({exc})", value=text),
            hint="Re-export the image as PNG from an image editor.",
        ) from exc
    encoded = _encode_png(fitted)
    if sniff_format(data) != _extension_format(path) and _extension_format(path):
        notes.append(f"{path.name} holds {facts.format.upper()} data despite its extension")
    notes.extend(fit_notes)
    width, height = fitted.size
    notes.append(f"re-encoded as PNG ({_human_size(len(encoded))}, {width}x{height} RGB, 8-bit)")
    return PreparedFrame(frame=_frame("png", encoded, str(path), fit), notes=notes, converted=True)


def _human_size(size: int) -> str:
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    return f"{max(1, round(size / 1000))} kB"


def _extension_format(path: Path) -> str | None:
    return {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg"}.get(path.suffix.lower())


def _acceptance_notes(
    path: Path, facts: ImageFacts, rules: FrameRules = NOVA_FRAME_RULES
) -> list[str]:
    """Notices about an image that is accepted as is but may surprise its owner."""
    notes: list[str] = []
    named = _extension_format(path)
    if named != facts.format:
        named_as = f"named {path.suffix or 'without an extension'}"
        notes.append(
            f"{path.name} is {named_as} but holds {facts.format.upper()} data; "
            f'sending it with format "{facts.format}"'
        )
    if facts.transparent_pixels == 0:
        notes.append(
            f"has an alpha channel but every pixel is fully opaque, which {rules.model_name} "
            "accepts; sent as is"
        )
    if facts.orientation != 1:
        notes.append(
            f"has EXIF orientation {facts.orientation} "
            f"({_ORIENTATION_WORDS.get(facts.orientation, 'transformed')}): viewers show "
            "it turned, but the model most likely sees the stored pixels; use --fit to "
            "apply the rotation"
        )
    return notes


def load_starting_frame(
    source: str | os.PathLike[str],
    *,
    fit: FitMode | None = None,
    bucket_owner: str | None = None,
    field: str = "image",
    rules: FrameRules | None = None,
) -> StartingFrame:
    """The :class:`StartingFrame` for a path or ``s3://`` URI (see
    :func:`prepare_starting_frame`, which also returns the notes)."""
    return prepare_starting_frame(
        source, fit=fit, bucket_owner=bucket_owner, field=field, rules=rules
    ).frame
