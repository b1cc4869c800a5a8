"""Images already in S3: passed by reference (``s3Location``), never downloaded.

Only what the URI itself says can be checked locally: that it is an ``s3://`` URI of
an object in a validly named bucket (parsed by :mod:`novareel.foundation.s3uri`, the one parser),
that the key's extension names a format the model takes, and that a bucket owner is
an account id. Size, mode and transparency are the service's to check.
"""

from __future__ import annotations

from pathlib import Path

from novareel.foundation.errors import ImageError, InvalidRequestError, Problem
from novareel.foundation.s3uri import S3Uri, is_account_id, parse_s3_uri
from novareel.models.base import ImageFormat, StartingFrame

__all__ = ["S3_FRAME_NOTE", "s3_starting_frame"]

#: The notice every S3 starting frame carries: nothing but its name was checked here.
S3_FRAME_NOTE = (
    "S3 image passed by reference: its size, mode and transparency are checked by "
    "the service, not locally"
)
_EXTENSION_FORMATS: dict[str, ImageFormat] = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg"}


def s3_starting_frame(uri: str, bucket_owner: str | None, field: str) -> StartingFrame:
    """The frame for an ``s3://bucket/key.png`` reference; raise :class:`ImageError`
    with every problem found (the URI, the extension, the bucket owner) at once."""
    problems: list[Problem] = []
    parsed: S3Uri | None = None
    try:
        parsed = parse_s3_uri(uri, field=field)
    except InvalidRequestError as exc:
        problems.extend(exc.problems)
    key = parsed.key if parsed is not None and parsed.key else uri
    if parsed is not None and not parsed.key:
        problems.append(
            Problem(
                field,
                f"{uri!r} is not an s3://bucket/key URI of an object",
                value=uri,
                limit="s3://bucket/key.png",
            )
        )
    fmt = _EXTENSION_FORMATS.get(Path(key).suffix.lower())
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
    if bucket_owner is not None and not is_account_id(bucket_owner):
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
    return StartingFrame(format=fmt, s3_uri=uri, bucket_owner=bucket_owner, source=uri)
