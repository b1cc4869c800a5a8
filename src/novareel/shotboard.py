"""Storyboards on a model without multi-shot: one job per shot, joined locally.

Luma Ray 2 has no MULTI_SHOT_MANUAL job. A storyboard (or several ``--shot``s) on it
runs as a small batch: one item per shot, sent within the account's quota by
:class:`~novareel.batch.BatchRunner`, so every promise of a batch holds for each shot
(deterministic client tokens, resumable after a crash, never paid twice). When every
shot is downloaded, :func:`assemble` lays them out like a Nova Reel multi-shot job::

    <out>/<name>/shot_0001.mp4, shot_0002.mp4, ...   each shot's video
    <out>/<name>/output.mp4                          the shots joined (PyAV remux)

Identity: the run is named by a hash of what it sends (each shot's request, the
output location and the tags), so running the same command again resumes the same
shots instead of paying for them again, and changing a shot makes a new run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from novareel.batch import BatchFile, BatchItem, BatchSummary, ItemOutcome, content_hash
from novareel.errors import DownloadError
from novareel.models import VideoRequest
from novareel.naming import storyboard_folder_name
from novareel.s3uri import OutputLocation

__all__ = ["StoryboardResult", "assemble", "assemble_groups", "shot_batch"]


def shot_batch(
    requests: Sequence[VideoRequest],
    output: OutputLocation,
    *,
    tags: dict[str, str] | None = None,
    source: str = "generate",
) -> BatchFile:
    """The batch of one item per shot (keys ``shot-1``, ``shot-2``, ...).

    ``source`` (e.g. the storyboard's path) is only shown; the identity is the hash
    of the content, so the same storyboard with the same settings resumes.
    """
    tags = dict(tags or {})
    hashes = [content_hash(r.describe(), str(output.uri), tags) for r in requests]
    identity = hashlib.sha256(("shots\n" + "\n".join(hashes)).encode()).hexdigest()
    items = tuple(
        BatchItem(
            number=n,
            key=f"shot-{n}",
            request=request,
            output=output,
            tags=tags,
            content_hash=digest,
            group="storyboard",
            shot=n,
        )
        for n, (request, digest) in enumerate(zip(requests, hashes, strict=True), start=1)
    )
    return BatchFile(
        path=Path(f"{source}#storyboard-{identity[:12]}"),
        identity=identity,
        defaults={},
        items=items,
    )


@dataclass(frozen=True)
class StoryboardResult:
    """A joined storyboard: its folder, the whole video and each shot's file."""

    local_dir: str
    video_path: str
    shot_files: tuple[str, ...]
    duration_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "local_dir": self.local_dir,
            "video_path": self.video_path,
            "shot_files": list(self.shot_files),
            "duration_seconds": self.duration_seconds,
        }


def assemble(outcomes: Sequence[ItemOutcome], folder: str | os.PathLike[str]) -> StoryboardResult:
    """Copy each shot's video to ``shot_000N.mp4`` in ``folder`` and join them.

    Raises :class:`DownloadError` when a shot has no downloaded video (the run did
    not finish: running the command again completes it without paying twice).
    """
    target = Path(folder)
    missing = [o.key for o in outcomes if not o.video_path]
    if missing:
        raise DownloadError(
            f"shot(s) {', '.join(missing)} have no downloaded video yet; nothing was joined",
            hint="Run the same command again: finished shots are kept and none is paid twice.",
        )
    target.mkdir(parents=True, exist_ok=True)
    shot_files = []
    for number, outcome in enumerate(outcomes, start=1):
        dest = target / f"shot_{number:04d}.mp4"
        source = Path(str(outcome.video_path))
        if not (dest.is_file() and dest.stat().st_size == source.stat().st_size):
            shutil.copyfile(source, dest)
        shot_files.append(str(dest))
    from novareel.video import concat_videos

    info = concat_videos(shot_files, target / "output.mp4")
    return StoryboardResult(
        local_dir=str(target),
        video_path=str(target / "output.mp4"),
        shot_files=tuple(shot_files),
        duration_seconds=info.duration_seconds,
    )


def assemble_groups(
    batch: BatchFile,
    summary: BatchSummary,
    out_dir: str | os.PathLike[str],
    *,
    when: datetime | None = None,
) -> dict[str, StoryboardResult | str]:
    """Join every per-shot storyboard of a batch whose shots all finished.

    Returns group key -> the result, or the reason it was not joined (a shot failed or
    is not downloaded yet). The folder is named by :mod:`novareel.naming`
    (``<out_dir>/<date>-<group key>-<batch identity>/``, ``when`` being the batch's
    first run); a folder ``<out_dir>/<group key>/`` made before that rule is kept.
    """
    by_key = {o.key: o for o in summary.items}
    joined: dict[str, StoryboardResult | str] = {}
    for group, items in batch.groups.items():
        outcomes = [by_key[item.key] for item in items if item.key in by_key]
        not_done = [o.key for o in outcomes if o.phase.value != "done"]
        if not_done or len(outcomes) != len(items):
            joined[group] = f"not joined: {', '.join(not_done) or 'shots'} not done"
            continue
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in group) or "storyboard"
        legacy = Path(out_dir) / safe
        folder = (
            legacy
            if legacy.is_dir()
            else Path(out_dir) / storyboard_folder_name(group, batch.identity, when=when)
        )
        joined[group] = assemble(outcomes, folder)
    return joined
