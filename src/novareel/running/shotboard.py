"""Storyboards on a model without multi-shot: one job per shot, joined locally.

Luma Ray 2 has no MULTI_SHOT_MANUAL job. A storyboard (or several ``--shot``s) on it
runs as a small batch: one item per shot, sent within the account's quota by
:class:`~novareel.batch.BatchRunner`, so every promise of a batch holds for each shot
(deterministic client tokens, resumable after a crash, never paid twice, a shot
refused at submit sent again by the next run). :func:`run_storyboard` is the one
per-shot runner: the command line, the MCP server and Python callers call it and
only print what it returns.

One folder rule, the same for ``generate``, the MCP server and a batch's storyboard
items: each shot's video is fetched straight into the storyboard's folder (no
per-shot download folders), laid out like a Nova Reel multi-shot job::

    <out>/<date>-<label>-<run id>/shot_0001.mp4, ...   each shot's video
    <out>/<date>-<label>-<run id>/output.mp4           the shots joined (PyAV remux)
    <out>/<date>-<label>-<run id>/manifest.json        the shots' jobs and files

Identity: the run is named by a hash of what it sends (each shot's request, the
output location and the tags), so running the same command again resumes the same
shots instead of paying for them again, and changing a shot makes a new run.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from novareel.batch import (
    BatchEvent,
    BatchFile,
    BatchItem,
    BatchRunner,
    BatchSummary,
    ItemOutcome,
    content_hash,
)
from novareel.foundation.errors import DownloadError, JobFailedError
from novareel.foundation.naming import storyboard_folder_name
from novareel.foundation.s3uri import OutputLocation, S3Uri, parse_s3_uri
from novareel.foundation.status import JobStatus
from novareel.models import VideoRequest, get_model, shape_of, video_name

if TYPE_CHECKING:
    from novareel.jobs import VideoGenerator

__all__ = [
    "RERUN_HINT",
    "StoryboardResult",
    "StoryboardRun",
    "assemble_groups",
    "join_shots",
    "run_storyboard",
    "shot_batch",
    "storyboard_folder",
]

#: What to do about a storyboard that did not finish (true: see the module docstring).
RERUN_HINT = "Run the same command again: finished shots are kept and none is paid twice."


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
    notices: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "local_dir": self.local_dir,
            "video_path": self.video_path,
            "shot_files": list(self.shot_files),
            "duration_seconds": self.duration_seconds,
        }


@dataclass(frozen=True)
class StoryboardRun:
    """How a per-shot storyboard run ended: every shot's outcome, the joined video
    when all finished and were fetched, the price and the notices to show."""

    model_id: str
    summary: BatchSummary
    estimated_cost_usd: float
    notices: tuple[str, ...] = ()
    joined: StoryboardResult | None = None

    @property
    def ok(self) -> bool:
        return self.summary.ok

    @property
    def status(self) -> JobStatus:
        """Completed; InProgress when the run stopped at its timeout (the shots keep
        running: the same call picks them up); Failed otherwise."""
        if self.summary.ok:
            return JobStatus.COMPLETED
        return JobStatus.IN_PROGRESS if self.summary.timed_out else JobStatus.FAILED

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "status": self.status,
            "model_id": self.model_id,
            "shots": [o.to_dict() for o in self.summary.items],
            "estimated_cost_usd": self.estimated_cost_usd,
            "notices": list(self.notices),
        }
        if self.joined is not None:
            data.update(self.joined.to_dict())
        return data

    def error(self) -> JobFailedError | None:
        """The error a door raises for a run that did not finish (None when it did)."""
        if self.ok:
            return None
        bad = [o for o in self.summary.items if o.phase.value != "done"]
        return JobFailedError(
            f"{len(bad)} of {len(self.summary.items)} shots did not finish: "
            + "; ".join(f"{o.key} {o.phase.value} {o.message}".strip() for o in bad),
            result=self,
            hint=RERUN_HINT,
        )


def storyboard_folder(
    out_dir: str | os.PathLike[str], label: str, identity: str, *, when: datetime | None
) -> Path:
    """The one folder a storyboard's shots and joined video go to (one rule for every
    door): ``<out_dir>/<date>-<label>-<run id>/`` by :mod:`novareel.foundation.naming`, ``when``
    being the run's first day. A folder made before that rule (``storyboard-<id>``
    by ``generate`` and the MCP server, ``<label>`` by a batch) is kept."""
    root = Path(out_dir)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in label) or "storyboard"
    for legacy in (root / f"storyboard-{identity[:12]}", root / safe):
        if (legacy / "output.mp4").is_file() and (legacy / "shot_0001.mp4").is_file():
            return legacy
    return root / storyboard_folder_name(label, identity, when=when)


def _fetch_shot(api: VideoGenerator, job_id: int, dest: Path, *, check_video: bool) -> list[str]:
    """Fetch one finished shot's video straight to ``dest`` (skipped when it is there
    already at the size S3 has), recorded in the ledger as the job's file; the
    notices of its video check."""
    assert api.ledger is not None
    record = api.ledger.get(job_id)
    if str(dest) in record.local_files and dest.is_file():
        return []  # fetched by an earlier run
    if not record.output_uri or not record.invocation_id:
        raise DownloadError(f"shot job {job_id} has no output location in the ledger")
    folder = parse_s3_uri(record.output_uri).child(record.invocation_id).as_folder()
    name = video_name(record.model_id)
    found = [o for o in api.client.list_objects(folder) if o.key == folder.key + name]
    if not found:
        raise DownloadError(f"shot job {job_id} has no {name} under {folder}", hint=RERUN_HINT)
    obj = found[0]
    if not (dest.is_file() and dest.stat().st_size == obj.size):
        api.client.download_objects([(S3Uri(folder.bucket, obj.key), dest)])
    size = dest.stat().st_size if dest.is_file() else -1
    if size != obj.size:
        raise DownloadError(f"{dest} has {size} bytes, expected {obj.size}", hint=RERUN_HINT)
    api.ledger.record_files(job_id, [str(dest)])
    notices: list[str] = []
    if check_video:
        from novareel.jobs.fetching import check_output_video

        shape = shape_of(record.model_id, record.request, record.duration_seconds)
        notices += [f"shot {dest.stem}: {n}" for n in check_output_video(dest, shape)]
    if api.run_qa:  # `novareel qa` on the shot, its verdict stored with the shot's job
        from novareel.jobs.quality import verdict_after_download

        qa = verdict_after_download(dest, record, ledger=api.ledger, job_id=job_id)
        if qa is not None and qa["findings"]:
            notices.append(f"shot {dest.stem}: qa: {qa['summary']}")
    return notices


def join_shots(
    api: VideoGenerator,
    outcomes: Sequence[ItemOutcome],
    folder: str | os.PathLike[str],
    *,
    check_video: bool = True,
) -> StoryboardResult:
    """Fetch each finished shot to ``shot_000N.mp4`` in ``folder``, join them into
    ``output.mp4`` and write ``manifest.json`` (which job made which shot).

    Raises :class:`DownloadError` when a shot has no finished job (the run did not
    finish: running the command again completes it without paying twice).
    """
    target = Path(folder)
    missing = [o.key for o in outcomes if o.job_id is None or o.phase.value != "done"]
    if missing:
        raise DownloadError(
            f"shot(s) {', '.join(missing)} have not finished; nothing was joined",
            hint=RERUN_HINT,
        )
    target.mkdir(parents=True, exist_ok=True)
    shot_files: list[str] = []
    notices: list[str] = []
    for number, outcome in enumerate(outcomes, start=1):
        assert outcome.job_id is not None
        dest = target / f"shot_{number:04d}.mp4"
        notices.extend(_fetch_shot(api, outcome.job_id, dest, check_video=check_video))
        shot_files.append(str(dest))
    from novareel.media.video import concat_videos

    info = concat_videos(shot_files, target / "output.mp4")
    manifest = {
        "video": "output.mp4",
        "duration_seconds": info.duration_seconds,
        "shots": [
            {
                "number": number,
                "key": outcome.key,
                "job_id": outcome.job_id,
                "invocation_id": outcome.invocation_id,
                "file": Path(path).name,
            }
            for number, (outcome, path) in enumerate(zip(outcomes, shot_files, strict=True), 1)
        ],
    }
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return StoryboardResult(
        local_dir=str(target),
        video_path=str(target / "output.mp4"),
        shot_files=tuple(shot_files),
        duration_seconds=info.duration_seconds,
        notices=tuple(notices),
    )


def run_storyboard(
    api: VideoGenerator,
    requests: Sequence[VideoRequest],
    output: OutputLocation,
    *,
    tags: Mapping[str, str] | None = None,
    out_dir: str | os.PathLike[str] | None = ".",
    label: str | None = None,
    source: str = "generate",
    timeout: float | None = None,
    poll_interval: float | None = None,
    check_video: bool = True,
    notices: Sequence[str] = (),
    on_event: Callable[[BatchEvent], None] | None = None,
    confine: Callable[[Path], Path] | None = None,
) -> StoryboardRun:
    """Run a storyboard as one job per shot and join the shots: the one per-shot
    storyboard runner behind ``generate``, the MCP server and Python callers.

    The shots go through :class:`~novareel.batch.BatchRunner` (within the model's
    concurrency, exactly once, resumable); when all have finished and ``out_dir`` is
    given, they are fetched into :func:`storyboard_folder` and joined there
    (:func:`join_shots`). ``label`` names the folder (default ``storyboard``);
    ``source`` (e.g. the storyboard's path) is only shown. ``confine`` checks the
    folder before anything is written in it (the MCP server keeps it inside its
    root). ``notices`` (said before the run) are carried into the result's. Returns
    a :class:`StoryboardRun` whatever the outcome; its :meth:`~StoryboardRun.error`
    is what to raise for a run that did not finish.
    """
    batch = shot_batch(requests, output, tags=dict(tags or {}), source=source)
    model = get_model(requests[0].model_id)
    runner = BatchRunner(
        api,
        batch,
        out_dir=None if out_dir is None else Path(out_dir),
        max_concurrent=model.info.concurrency,
        timeout=timeout,
        poll_interval=poll_interval,
        on_event=on_event,
    )
    summary = runner.run()
    joined = None
    if summary.ok and out_dir is not None:
        assert api.ledger is not None
        when = api.ledger.get_batch(summary.batch_id).created_at
        folder = storyboard_folder(out_dir, label or "storyboard", batch.identity, when=when)
        if confine is not None:
            folder = confine(folder)
        joined = join_shots(api, summary.items, folder, check_video=check_video)
    said = tuple(dict.fromkeys((*notices, *summary.notices, *(joined.notices if joined else ()))))
    return StoryboardRun(
        model_id=model.model_id,
        summary=summary,
        estimated_cost_usd=round(sum(r.estimated_cost_usd for r in requests), 2),
        notices=said,
        joined=joined,
    )


def assemble_groups(
    api: VideoGenerator,
    batch: BatchFile,
    summary: BatchSummary,
    out_dir: str | os.PathLike[str],
    *,
    when: datetime | None = None,
    check_video: bool = True,
) -> dict[str, StoryboardResult | str]:
    """Join every per-shot storyboard of a batch whose shots all finished, by the
    same folder rule as :func:`run_storyboard` (``when`` being the batch's first run).

    Returns group key -> the result, or the reason it was not joined (a shot failed or
    is not finished yet).
    """
    by_key = {o.key: o for o in summary.items}
    joined: dict[str, StoryboardResult | str] = {}
    for group, items in batch.groups.items():
        outcomes = [by_key[item.key] for item in items if item.key in by_key]
        not_done = [o.key for o in outcomes if o.phase.value != "done"]
        if not_done or len(outcomes) != len(items):
            joined[group] = f"not joined: {', '.join(not_done) or 'shots'} not done"
            continue
        folder = storyboard_folder(out_dir, group, batch.identity, when=when)
        joined[group] = join_shots(api, outcomes, folder, check_video=check_video)
    return joined
