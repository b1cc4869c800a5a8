"""Where a job's files land on disk: one naming rule for every command.

A folder named by an invocation id alone (``k2x5tqj90s7p/``) tells a person nothing a
week later. Every download (``generate``, ``wait``, ``download``, ``jobs retry``, a
batch, a storyboard join) names its folder with :func:`job_folder_name`::

    <out>/<YYYY-MM-DD>-<slug>-<invocation-id>/

The date is the submit date (local time), the slug comes from ``generate --name``,
else the batch item id, else the prompt (lowercase ASCII, hyphens, at most 40
characters), and the invocation id keeps names unique and lets a folder be matched
with ``novareel jobs`` and the S3 folder. A leaf module: plain values in, names out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from typing import Any

__all__ = [
    "MAX_SLUG",
    "job_folder_name",
    "job_label",
    "prompt_of",
    "shots_of",
    "slugify",
    "storyboard_folder_name",
]

#: The longest slug, so names stay readable in a terminal and a file browser.
MAX_SLUG = 40

_NON_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str | None, *, max_length: int = MAX_SLUG) -> str:
    """``"A golden sunset, over calm waves!"`` -> ``"a-golden-sunset-over-calm-waves"``.

    Accents are folded to ASCII (``café`` -> ``cafe``), everything else that is not a
    letter or digit becomes one hyphen, and a cut at ``max_length`` falls on a word
    boundary when one is near. An empty result is ``""`` (the caller drops the part).
    """
    if not text:
        return ""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NON_SLUG.sub("-", folded.lower()).strip("-")
    if len(slug) <= max_length:
        return slug
    cut = slug[:max_length]
    if slug[max_length] != "-" and "-" in cut[max_length // 2 :]:
        cut = cut[: cut.rindex("-")]
    return cut.strip("-")


def prompt_of(request: Mapping[str, Any] | None) -> str | None:
    """The prompt text of a recorded request (any model family's shape), if any.

    Nova Reel keeps it under ``textToVideoParams.text`` or
    ``multiShotAutomatedParams.text``; Luma Ray 2 under ``prompt``. A manual
    multi-shot request has no single prompt (see :func:`shots_of`).
    """
    if not request:
        return None
    direct = request.get("prompt")
    if isinstance(direct, str) and direct:
        return direct
    for key, value in request.items():
        if key.endswith("Params") and isinstance(value, Mapping):
            text = value.get("text")
            if isinstance(text, str) and text:
                return text
    return None


def shots_of(request: Mapping[str, Any] | None) -> list[str]:
    """The texts of a recorded request's shots (a manual multi-shot job), in order."""
    if not request:
        return []
    for key, value in request.items():
        if key.endswith("Params") and isinstance(value, Mapping):
            shots = value.get("shots")
            if isinstance(shots, list):
                return [str(s.get("text", "")) for s in shots if isinstance(s, Mapping)]
    return []


def job_label(
    *,
    name: str | None = None,
    batch_item: str | None = None,
    request: Mapping[str, Any] | None = None,
) -> str:
    """What a job's folder is named after: its ``--name``, its batch item id, its
    prompt, its first shot, in that order (``""`` when there is nothing to go on)."""
    for candidate in (name, batch_item, prompt_of(request), *shots_of(request)[:1]):
        slug = slugify(candidate)
        if slug:
            return slug
    return ""


def job_folder_name(invocation_id: str, *, label: str = "", when: datetime | None = None) -> str:
    """``2026-11-27-a-golden-sunset-k2x5tqj90s7p``: date, slug, invocation id.

    ``label`` is slugified again (so a raw ``--name`` is safe here); ``when`` is the
    submit time (shown in local time), left out when unknown.
    """
    parts = []
    if when is not None:
        parts.append(when.astimezone().strftime("%Y-%m-%d"))
    slug = slugify(label)
    if slug:
        parts.append(slug)
    parts.append(invocation_id)
    return "-".join(parts)


def storyboard_folder_name(label: str, identity: str, *, when: datetime | None = None) -> str:
    """The folder a storyboard's shots are joined into: same rule, with the first 12
    characters of the storyboard run's identity in place of an invocation id."""
    return job_folder_name(identity[:12], label=label or "storyboard", when=when)
