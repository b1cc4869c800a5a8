"""What a recorded request says, read generically (no model's field names), for the
gallery's cards."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Keys whose string values are what the user wrote (a prompt or a shot's text).
_TEXT_KEYS = frozenset({"text", "prompt"})
# Request keys shown elsewhere on the card (from the ledger row), or not worth showing.
_SKIP_KEYS = frozenset({"taskType", "seed", "durationSeconds", "duration"})
_IMAGE_DETAIL_KEYS = frozenset({"sha256", "size", "format", "fit", "bucket_owner"})


@dataclass
class _Described:
    """What a recorded request says, read generically (no model's field names)."""

    prompts: list[str] = field(default_factory=list)
    shots: list[tuple[str, str | None]] = field(default_factory=list)
    settings: list[tuple[str, str]] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=list)


def _words(key: str) -> str:
    """``durationSeconds`` / ``aspect_ratio`` -> ``duration seconds`` / ``aspect ratio``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key).replace("_", " ")
    return spaced.lower()


def _image_source(value: dict[str, Any]) -> str | None:
    """The path or S3 URI of a recorded image ({"format", "path"|"s3_uri", ...})."""
    if "format" not in value:
        return None
    source = value.get("path") or value.get("s3_uri")
    return str(source) if source else None


def _first_text(value: Any) -> str | None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _TEXT_KEYS and isinstance(item, str):
                return item
        for item in value.values():
            found = _first_text(item)
            if found is not None:
                return found
    return None


def _first_image(value: Any) -> str | None:
    if isinstance(value, dict):
        source = _image_source(value)
        if source is not None:
            return source
        for item in value.values():
            found = _first_image(item)
            if found is not None:
                return found
    elif isinstance(value, list):
        for item in value:
            found = _first_image(item)
            if found is not None:
                return found
    return None


def describe_request(request: dict[str, Any]) -> _Described:
    """Prompts, shots, settings and images of a recorded request, for any model.

    Model-neutral on purpose: strings under ``text``/``prompt`` are what the user
    wrote, a list under ``shots`` is a storyboard, a dict with ``format`` and a
    ``path``/``s3_uri`` is an image, and the remaining scalars are settings.
    """
    out = _Described()

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            source = _image_source(value)
            if source is not None:
                out.images.append((_words(key), source))
                return
            for k, item in value.items():
                k = str(k)
                if k == "shots" and isinstance(item, list):
                    for shot in item:
                        text = _first_text(shot) if isinstance(shot, dict) else None
                        image = _first_image(shot)
                        out.shots.append((text if text is not None else str(shot), image))
                    continue
                walk(item, k)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{key} {index + 1}" if len(value) > 1 else key)
        elif key in _TEXT_KEYS and isinstance(value, str):
            out.prompts.append(value)
        elif key not in _SKIP_KEYS and key not in _IMAGE_DETAIL_KEYS and value is not None:
            shown = str(value).lower() if isinstance(value, bool) else str(value)
            out.settings.append((_words(key), shown))

    walk(request, "request")
    return out
