"""Checking an image's facts against a model's :class:`FrameRules`.

Every broken rule becomes a :class:`Problem`, each with a hint saying how to fix it
(usually which ``--fit`` mode does it), and all of them are reported at once.
"""

from __future__ import annotations

from novareel.foundation.errors import ImageError, Problem
from novareel.media.images.reading import (
    HEIGHT,
    WIDTH,
    ImageFacts,
    inspect_image_bytes,
)
from novareel.models.base import FrameRules, ImageFormat
from novareel.models.nova_reel import FRAME_RULES as NOVA_FRAME_RULES

__all__ = ["check_image_bytes"]


def _size_problem(size: int, field: str, rules: FrameRules = NOVA_FRAME_RULES) -> Problem:
    return Problem(
        field,
        f"is {size / 1_000_000:.1f} MB; {rules.model_name} accepts images up to "
        f"{rules.max_bytes / 1_000_000:g} MB",
        value=size,
        limit=f"<= {rules.max_bytes} bytes",
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

    The size limit (Nova Reel's 25 MB) is checked before decoding. All broken rules
    are reported at once in one :class:`ImageError` whose hint says how to fix them.
    """
    if len(data) > NOVA_FRAME_RULES.max_bytes:
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
