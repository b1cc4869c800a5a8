"""Fitting: turning any picture into one a model accepts, only when asked.

Converting changes the picture (cropping, bars, distortion), so it happens only with
``fit="crop"``, ``"pad"`` or ``"stretch"`` (``--fit``), and every change is described
in a note. Converted frames are encoded as PNG (no second generation of JPEG
artefacts on the video's first frame).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Literal, get_args

from novareel.foundation.errors import InvalidRequestError, Problem
from novareel.media.images.reading import _ORIENTATION_WORDS, HEIGHT, WIDTH, _orientation

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "FIT_MODES",
    "MAX_FIT_SOURCE_BYTES",
    "MAX_FIT_SOURCE_PIXELS",
    "FitMode",
    "fit_image",
    "fit_problem",
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


#: With ``fit`` the source is re-encoded, so it may be bigger than the service limit
#: (a camera TIFF, a 50 MP phone PNG); this cap only keeps memory use sane.
MAX_FIT_SOURCE_BYTES = 256_000_000
#: Pixel cap when decoding a source for ``fit`` (about 200 MP; Pillow's own
#: decompression-bomb error sits just below this).
MAX_FIT_SOURCE_PIXELS = 200_000_000


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
