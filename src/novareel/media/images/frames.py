"""Starting frames: a path or ``s3://`` URI turned into a :class:`StartingFrame`.

Local files are size-checked before they are read, then inspected, checked against
the model's :class:`FrameRules` and, with ``fit``, converted; ``s3://`` images are
passed by reference (see :mod:`novareel.media.images.s3`).
"""

from __future__ import annotations

import hashlib
import os
import stat
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

from novareel.foundation.errors import ImageError, InvalidRequestError, Problem
from novareel.foundation.textfiles import file_kind, read_input_bytes
from novareel.media.images.checking import _problems, _raise, _size_problem
from novareel.media.images.fitting import (
    MAX_FIT_SOURCE_BYTES,
    MAX_FIT_SOURCE_PIXELS,
    FitMode,
    _encode_png,
    fit_image,
    fit_problem,
)
from novareel.media.images.reading import (
    _ORIENTATION_WORDS,
    HEIGHT,
    WIDTH,
    ImageFacts,
    _open,
    inspect_image_bytes,
    sniff_format,
)
from novareel.media.images.s3 import S3_FRAME_NOTE, s3_starting_frame
from novareel.models.base import FrameRules, ImageFormat, StartingFrame
from novareel.models.nova_reel import FRAME_RULES as NOVA_FRAME_RULES

__all__ = ["PreparedFrame", "load_starting_frame", "prepare_starting_frame"]


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


def _frame(fmt: ImageFormat, data: bytes, source: str, fit: FitMode | None = None) -> StartingFrame:
    return StartingFrame(
        format=fmt, data=data, source=source, sha256=hashlib.sha256(data).hexdigest(), fit=fit
    )


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
        frame = s3_starting_frame(text, bucket_owner, field)
        return PreparedFrame(frame=frame, notes=[S3_FRAME_NOTE])
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
        info = path.stat()
        size = info.st_size
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
    if not stat.S_ISREG(info.st_mode):  # a FIFO would block the read forever
        raise ImageError(
            Problem(
                field,
                f"{text} is {file_kind(info.st_mode)}, not an image file; refused without "
                "reading it (reading it could block forever)",
                value=text,
                limit="a regular PNG or JPEG file",
            )
        )
    limit = MAX_FIT_SOURCE_BYTES if fit else rules.max_bytes
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
    # non-blocking and checked again once open: a pipe swapped in after the stat
    data = read_input_bytes(path, field, max_bytes=limit, error=ImageError, value=text)

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
