"""`novareel qa` for a job: what its recorded request asked for, checked on its video.

The signal checks live in :mod:`novareel.media.qa` and know nothing of jobs; this module
turns a job (its model, recorded request and length) into :class:`QaExpectations`
(size, frame rate and length from the model family's shape; the loop and the start/end
images from the recorded request) and stores the verdict in the ledger (m014).
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from novareel.models import shape_of

if TYPE_CHECKING:
    from novareel.ledger import Ledger
    from novareel.media.qa import QaExpectations, QaReport

log = logging.getLogger(__name__)


def _image_bytes(described: Any) -> bytes | None:
    """The local image a recorded request names (``describe()`` form: path + sha256).

    None for an S3 image (not fetched for a check) or a file that is gone or changed
    since (its sha256 no longer the one sent): comparing with another picture would
    report a defect that is not the video's. A fitted image (``fit``) was converted
    before sending, so its file differs from what was sent by design and is used as is.
    """
    if not isinstance(described, dict):
        return None
    path = described.get("path")
    if not isinstance(path, str) or not os.path.isfile(path):
        return None
    data = Path(path).read_bytes()
    if not described.get("fit") and described.get("sha256") not in (
        None,
        hashlib.sha256(data).hexdigest(),
    ):
        return None
    return data


def _images(body: dict[str, Any]) -> tuple[Any, Any]:
    """The start and end images of a recorded request: Nova Reel's TEXT_VIDEO image,
    Luma Ray 2's keyframes frame0/frame1 (multi-shot images are per shot, not checked)."""
    params = body.get("textToVideoParams")
    if isinstance(params, dict) and isinstance(params.get("images"), list) and params["images"]:
        return params["images"][0], None
    keyframes = body.get("keyframes")
    if isinstance(keyframes, dict):

        def source(key: str) -> Any:
            item = keyframes.get(key)
            return item.get("source") if isinstance(item, dict) else None

        return source("frame0"), source("frame1")
    return None, None


def expectations_for(
    model_id: str | None, body: dict[str, Any] | None, duration: int | None
) -> QaExpectations:
    """What a job's video should be, from its recorded request."""
    from novareel.media.qa import QaExpectations

    body = body or {}
    shape = shape_of(model_id, body, duration)
    start, end = _images(body)
    return QaExpectations(
        width=shape.width,
        height=shape.height,
        fps=shape.fps,
        seconds=shape.seconds or None,
        loop=body.get("loop") is True,
        start_image=_image_bytes(start),
        end_image=_image_bytes(end),
    )


def check_recorded_video(
    path: str | os.PathLike[str],
    model_id: str | None,
    request: dict[str, Any] | None,
    duration: int | None,
) -> QaReport:
    """Run every check a job's recorded request calls for on its downloaded video."""
    from novareel.media.qa import check_file

    return check_file(path, expectations_for(model_id, request, duration))


class RecordedJob(Protocol):
    """What the checks need of a job: a :class:`~novareel.foundation.results.JobResult` or a
    :class:`~novareel.ledger.JobRecord`."""

    @property
    def model_id(self) -> str | None: ...
    @property
    def request(self) -> dict[str, Any] | None: ...
    @property
    def duration_seconds(self) -> int | None: ...


def verdict_after_download(
    video: Path, job: RecordedJob, *, ledger: Ledger | None, job_id: int | None
) -> dict[str, Any] | None:
    """The verdict of a just-downloaded video, stored in the ledger (None: no video).

    A video that cannot be decoded is already a notice of the download's own check;
    the verdict is then absent rather than a second error."""
    from novareel.foundation.errors import NovaReelError

    if not video.is_file():
        return None
    try:
        verdict = check_recorded_video(
            video, job.model_id, job.request, job.duration_seconds
        ).to_dict()
    except NovaReelError as exc:
        log.warning("qa of %s skipped: %s", video, exc)
        return None
    if ledger is not None and job_id is not None:
        ledger.record_qa(job_id, verdict)
    return verdict
