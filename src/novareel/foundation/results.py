"""The one result type every path returns, and how a failure is explained.

Whether a job was just submitted, looked up, waited for, downloaded or found
Failed, the caller gets a :class:`JobResult` with the same fields, and ``--json``
prints exactly ``JobResult.to_dict()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import PurePath
from typing import Any

from novareel.foundation.arns import invocation_id_from_arn
from novareel.foundation.status import FINISHED_STATUSES

#: What to do about each failureType Nova Reel writes into its status file.
FAILURE_ADVICE: dict[str, str] = {
    "RAI_VIOLATION_OUTPUT_VIDEO_DEFLECTION": (
        "The content filter blocked the generated video. Rephrase the prompt (or change "
        "the starting frame or seed) and submit a new job; resubmitting it unchanged "
        "will most likely be blocked again."
    ),
    "INTERNAL_SERVER_EXCEPTION": (
        "A failure on the service's side. Resubmit the same request "
        "(`novareel jobs retry <id>`); long jobs sometimes fail on one shot and succeed "
        "on the next attempt."
    ),
    "RATE_LIMIT_EXCEEDED": (
        "The service was over capacity. Resubmit later, or run fewer jobs at once "
        "(`novareel batch` keeps within the account's quota)."
    ),
    "ABORTED": "The job was aborted before it finished. Resubmit it if you still want it.",
}

_BLOCKED_MARKERS = ("content filter", "blocked")


def advice_for(failure_type: str | None, message: str | None) -> str:
    """Advice for a failure, from its type or, when the type is unknown, its message."""
    if failure_type and failure_type in FAILURE_ADVICE:
        return FAILURE_ADVICE[failure_type]
    text = (message or "").lower()
    if any(marker in text for marker in _BLOCKED_MARKERS):
        return FAILURE_ADVICE["RAI_VIOLATION_OUTPUT_VIDEO_DEFLECTION"]
    return (
        "Read the failure message; if it names no input problem, resubmit the job "
        "(`novareel jobs retry <id>`)."
    )


@dataclass(frozen=True)
class Failure:
    """Why a job failed: the failureType, the message, the shot (1-based) and advice."""

    type: str | None
    message: str | None
    shot: int | None = None
    advice: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # its JSON is exactly its fields

    def summary(self) -> str:
        where = f" at shot {self.shot}" if self.shot else ""
        kind = f" ({self.type})" if self.type else ""
        return f"job failed{where}{kind}: {self.message or 'no message'}"


def format_cost(
    cost_usd: float | None,
    *,
    local: bool = False,
    refused: bool = False,
    never_sent: bool = False,
    compact: bool = False,
    on_aws: bool = False,
) -> str:
    """A job's price for people, the one wording every door uses (generate, status,
    ``jobs``, ``jobs show``, the gallery).

    ``~$0.48`` on AWS; for a job on a local emulator ``$0 here (≈ $0.48 on AWS)``: it
    cost nothing, but the same job on AWS would. A submit the service refused
    (``refused``) cost nothing anywhere, whatever the estimate: ``$0 (refused at
    submit, nothing charged)``; one that never left this machine (``never_sent``),
    ``$0 (never sent)``. ``compact`` is the form for a table cell at 80 columns
    (``$0 (AWS ~$0.48)``, ``$0 (refused)``), which never needs more than one line.
    ``on_aws`` says where an AWS price is paid (``~$0.48 on AWS``): for a line that
    does not otherwise say where the jobs run (a price before a submit, a batch's
    total), so an emulator run is never read as a bill.
    """
    if never_sent:
        return "$0 (never sent)" if not compact else "$0 (not sent)"
    if refused:
        return "$0 (refused)" if compact else "$0 (refused at submit, nothing charged)"
    if cost_usd is None:
        return "$0 here" if local else ""
    if local:
        return f"$0 (AWS ~${cost_usd:,.2f})" if compact else f"$0 here (≈ ${cost_usd:,.2f} on AWS)"
    return f"~${cost_usd:,.2f} on AWS" if on_aws else f"~${cost_usd:,.2f}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


#: What a downloaded file named otherwise is taken for a video by.
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".webm")


def video_among(files: Sequence[str], name: str = "output.mp4") -> str | None:
    """The video among a job's downloaded files, if any: the one called ``name`` (the
    family's ``video_name``), else the first other video file (a per-shot
    storyboard's shot is fetched as ``shot_000N.mp4`` into the storyboard's folder)."""
    named = (path for path in files if PurePath(path).name == name)
    others = (path for path in files if PurePath(path).suffix.lower() in VIDEO_SUFFIXES)
    return next(named, None) or next(others, None)


@dataclass(frozen=True)
class JobResult:
    """Everything known about one job, on every path (submit, status, wait, download).

    ``status`` is a :class:`~novareel.foundation.status.JobStatus` (the service's ``InProgress``,
    ``Completed``, ``Failed``, or novareel's ``Submitting`` and ``Rejected``), or
    ``DryRun`` for a request that was only checked (nothing sent).
    """

    status: str
    task_type: str
    model_id: str
    duration_seconds: int | None
    seed: int | None
    estimated_cost_usd: float | None
    invocation_arn: str | None = None
    output_uri: str | None = None
    client_token: str | None = None
    submit_time: datetime | None = None
    end_time: datetime | None = None
    last_modified_time: datetime | None = None
    local_dir: str | None = None
    local_files: tuple[str, ...] = ()
    failure: Failure | None = None
    ledger_id: int | None = None
    notices: tuple[str, ...] = field(default=())
    request: dict[str, Any] | None = None
    #: True when the job went to a local emulator (free; see ``format_cost``)
    ran_locally: bool = False
    #: The `novareel qa` verdict of the downloaded video (``QaReport.to_dict()``), or
    #: None when it was not checked (not downloaded, ``--no-qa``)
    qa: dict[str, Any] | None = None

    @property
    def invocation_id(self) -> str | None:
        """The 12-character id at the end of the invocation ARN."""
        return invocation_id_from_arn(self.invocation_arn)

    @property
    def video_path(self) -> str | None:
        """The downloaded ``output.mp4``, if it is here."""
        return video_among(self.local_files)

    @property
    def done(self) -> bool:
        """True once the service has finished the job (Completed or Failed)."""
        return self.status in FINISHED_STATUSES

    def with_(self, **changes: Any) -> JobResult:
        """A copy with some fields changed (results are immutable)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """snake_case JSON-ready form: what ``--json`` prints for a job."""
        data: dict[str, Any] = {
            "ledger_id": self.ledger_id,
            "invocation_arn": self.invocation_arn,
            "invocation_id": self.invocation_id,
            "status": self.status,
            "task_type": self.task_type,
            "model_id": self.model_id,
            "duration_seconds": self.duration_seconds,
            "seed": self.seed,
            "estimated_cost_usd": self.estimated_cost_usd,
            "output_uri": self.output_uri,
            "client_token": self.client_token,
            "submit_time": _iso(self.submit_time),
            "end_time": _iso(self.end_time),
            "local_dir": self.local_dir,
            "local_files": list(self.local_files),
            "failure": self.failure.to_dict() if self.failure else None,
            "notices": list(self.notices),
            "ran_locally": self.ran_locally,
            "qa": self.qa,
        }
        if self.request is not None:
            data["request"] = self.request
        return data


__all__ = ["FAILURE_ADVICE", "Failure", "JobResult", "advice_for", "format_cost", "video_among"]
