"""Replay and reconcile: rebuild a recorded request, retry a job, sync with the service.

The ledger stores each request in its ``describe()`` form: the model input with every
image replaced by ``{"format", "path", "sha256", "size", "fit"?}`` (or its S3
location), never image bytes. :func:`rebuild_request` turns that back into a
:class:`~novareel.models.VideoRequest`, reading local images again from their path with
the recorded ``fit`` and **refusing** when the bytes no longer match the recorded
sha256: a retry must send the request that failed, not whatever the file holds today.

:func:`retry_job` sends a Failed or Rejected job again as a *new* job (new token,
``attempt + 1``, ``retry_of`` pointing at the old one), and refuses Completed and
InProgress jobs (that would pay for a video that exists or is being made). A job left
``Submitting`` by a crash is resent with its *own* token, which heals it without paying
twice.

:func:`sync_jobs` reconciles the ledger with ListAsyncInvokes: jobs submitted elsewhere
(console, another machine, a lost ledger) are adopted, and rows a crash left behind
are brought up to date.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING, Any

from novareel.foundation.errors import ImageError, InvalidRequestError, LedgerError, Problem
from novareel.foundation.results import JobResult
from novareel.foundation.s3uri import output_location
from novareel.foundation.status import JobStatus
from novareel.models import FrameRules, RecordedRequest, StartingFrame, VideoRequest, get_model

if TYPE_CHECKING:
    from novareel.client import InvocationStatus
    from novareel.foundation.waiting import WaitProgress
    from novareel.jobs import DownloadProgress, VideoGenerator
    from novareel.ledger import JobRecord

__all__ = ["SYNC_BATCH", "SyncReport", "rebuild_request", "retry", "retry_job", "sync_jobs"]

#: ``jobs sync`` writes this many jobs per ledger transaction.
SYNC_BATCH = 200

#: Statuses a retry makes sense for: the job ended without a video.
RETRYABLE_STATUSES = (JobStatus.FAILED, JobStatus.REJECTED)


def _frame(info: Any, field_name: str, job_id: int | None, rules: FrameRules) -> StartingFrame:
    """A StartingFrame from its recorded description; local bytes must be unchanged."""
    if not isinstance(info, dict) or info.get("format") not in ("png", "jpeg"):
        raise InvalidRequestError(
            Problem(field_name, "the recorded image has no usable format", value=info)
        )
    fmt = info["format"]
    if info.get("s3_uri"):
        return StartingFrame(
            format=fmt,
            s3_uri=str(info["s3_uri"]),
            bucket_owner=info.get("bucket_owner"),
            source=str(info["s3_uri"]),
        )
    path = info.get("path")
    if not path:
        raise InvalidRequestError(
            Problem(field_name, "the recorded image has neither a path nor an s3:// URI")
        )
    fit = info.get("fit")
    from novareel.media.images import load_starting_frame

    try:
        frame = load_starting_frame(path, fit=fit, field=field_name, rules=rules)
    except ImageError as exc:
        raise ImageError(
            exc.problems,
            hint=f"The image of job {job_id} cannot be read as it was; restore {path} "
            "or submit a new job with `novareel generate`.",
        ) from exc
    if info.get("sha256") and frame.sha256 != info["sha256"]:
        raise ImageError(
            Problem(
                field_name,
                f"{path} has changed since job {job_id} was submitted (sha256 "
                f"{str(frame.sha256)[:12]}... instead of {str(info['sha256'])[:12]}...)",
                value=path,
            ),
            hint="Restore the original image, or submit the new one as a new job with "
            "`novareel generate`: a retry sends exactly the request that failed.",
        )
    return dataclasses.replace(frame, fit=fit) if fit else frame


def rebuild_request(record: JobRecord) -> VideoRequest:
    """The :class:`VideoRequest` a ledger record describes, validated.

    The record's model decides how its request is read back (each family owns its
    ``modelInput`` shape). Raises :class:`InvalidRequestError` (or
    :class:`ImageError`) when it cannot be rebuilt exactly: an adopted job with no
    recorded request, a model novareel does not know, a missing image, or an image
    whose bytes changed.
    """
    body = record.request or {}
    if not body:
        raise InvalidRequestError(
            Problem(
                "job",
                f"job {record.id} has no recorded request (task type "
                f"{record.task_type!r}); it was probably adopted from the service by "
                "`novareel jobs sync`",
                value=record.id,
            ),
            hint="Submit it again with `novareel generate` and the original options.",
        )
    model = get_model(record.model_id)
    recorded = RecordedRequest(
        record.model_id, record.task_type, body, record.duration_seconds, record.seed
    )
    return model.family.rebuild(
        recorded, load_frame=lambda info, name, rules: _frame(info, name, record.id, rules)
    )


def retry_job(
    api: VideoGenerator,
    ref: str | int,
    *,
    wait_for_slot: float = 0.0,
    client_token: str | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> JobResult:
    """Submit a Failed or Rejected job again, as a new job linked to it.

    ``on_notice`` hears, before anything is sent, what the new job is and what it
    costs (a retry is a new paid job: its price is said first, as ``generate`` says
    it), then the submit's own notices.

    The new job gets a new client token, ``attempt + 1`` and ``retry_of``; within a
    batch it keeps its batch and item, so the batch sees it as its next attempt. A job
    left ``Submitting`` by a crash is resent with its own token instead (the service
    returns the job if it had started it). Completed and InProgress jobs are refused,
    and so is a job that was already retried (retry the newest attempt instead), so
    that running the command twice never pays twice.
    """
    ledger = api.ledger
    if ledger is None:
        raise LedgerError("retrying a job needs the job ledger")
    record = ledger.get(ref)
    if record.status in (JobStatus.COMPLETED, JobStatus.IN_PROGRESS):
        only = " or ".join(RETRYABLE_STATUSES)
        raise InvalidRequestError(
            Problem(
                "job",
                f"job {record.id} is {record.status}; only {only} jobs are retried",
                value=record.id,
            ),
            hint=(
                f"Download it with `novareel download {record.id}`."
                if record.status == JobStatus.COMPLETED
                else f"Wait for it with `novareel wait {record.id}`."
            ),
        )
    request = rebuild_request(record)
    if not record.output_uri:
        raise InvalidRequestError(
            Problem("output_uri", f"job {record.id} has no recorded output location")
        )
    output = output_location(
        record.output_uri,
        bucket_owner=record.output_bucket_owner,
        kms_key_id=record.output_kms_key_id,
    )
    if on_notice is not None:
        from novareel.foundation.results import format_cost

        price = format_cost(request.estimated_cost_usd, local=api.on_emulator)
        on_notice(f"retrying job {record.id}: one {request.model_id} job, {price}")

    def send(token: str, attempt: int, retry_of: int | None) -> JobResult:
        """Submit the recorded job again, with its tags, batch item, name and folder."""
        return api.submit(
            request,
            output,
            client_token=token,
            tags=record.tags or None,
            wait_for_slot=wait_for_slot,
            batch_id=record.batch_id,
            batch_item=record.batch_item,
            attempt=attempt,
            retry_of=retry_of,
            name=record.name,
            out_dir=record.out_dir,
            on_notice=on_notice,
        )

    if record.status == JobStatus.SUBMITTING or record.not_sent:
        # Never sent, or maybe sent without an answer: its own token, so never twice.
        return send(record.client_token, record.attempt, record.retry_of)
    later = ledger.retries_of(record.id)
    if later:
        raise InvalidRequestError(
            Problem(
                "job",
                f"job {record.id} was already retried as job {later[-1]}",
                value=record.id,
            ),
            hint=f"Check it with `novareel jobs show {later[-1]}`; retry that one if it failed.",
        )
    attempt = record.attempt + 1
    if record.batch_id is not None and record.batch_item is not None:
        latest = ledger.latest_attempt(record.batch_id, record.batch_item)
        if latest is not None:
            attempt = max(attempt, latest.attempt + 1)
    from novareel.jobs import new_client_token

    return send(client_token or new_client_token(), attempt, record.id)


@dataclass(frozen=True)
class SyncReport:
    """What ``jobs sync`` did: jobs seen, adopted (new rows), updated, unchanged."""

    seen: int
    adopted: list[int]
    updated: list[int]
    unchanged: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "seen": self.seen,
            "adopted": len(self.adopted),
            "updated": len(self.updated),
            "unchanged": self.unchanged,
            "adopted_ids": list(self.adopted),
            "updated_ids": list(self.updated),
        }


def retry(
    api: VideoGenerator,
    ref: str | int,
    *,
    wait: bool = True,
    out_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    timeout: float = 30 * 60,
    on_submitted: Callable[[JobResult], None] | None = None,
    on_progress: Callable[[WaitProgress], None] | None = None,
    on_download: Callable[[DownloadProgress], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> JobResult:
    """``novareel jobs retry`` in one call: :func:`retry_job`, then (``wait``) the
    same :meth:`~novareel.jobs.VideoGenerator.finish` as ``generate`` (``out_dir`` None:
    the failed job's own folder, else here). ``on_notice`` hears the price and the
    submit's notices before anything is sent; ``on_submitted`` the new job before
    the wait."""
    submitted = retry_job(api, ref, wait_for_slot=timeout if wait else 0.0, on_notice=on_notice)
    if on_submitted is not None:
        on_submitted(submitted)
    if not wait:
        return submitted
    assert submitted.ledger_id is not None  # a retry needs the ledger
    return api.finish(
        str(submitted.ledger_id),
        out_dir,
        download=download,
        timeout=timeout,
        on_progress=on_progress,
        on_download=on_download,
    )


def _snapshot(record: JobRecord | None) -> tuple[Any, ...] | None:
    if record is None:
        return None
    return (record.status, record.invocation_arn, record.end_time, record.failure_message)


def sync_jobs(
    api: VideoGenerator,
    *,
    since: datetime | None = None,
    summaries: Iterable[InvocationStatus] | None = None,
) -> SyncReport:
    """Reconcile the ledger with ListAsyncInvokes (``since``: submitted at/after).

    Each job the service lists is matched by ARN, then by client token (which heals a
    row a crash left ``Submitting``), and brought up to date; a job unknown to the
    ledger is adopted as a new row. ``summaries`` replaces the service call (tests).
    """
    ledger = api.ledger
    if ledger is None:
        raise LedgerError("syncing needs the job ledger")
    items = (
        summaries
        if summaries is not None
        else api.client.list_async_invokes(submitted_after=since, sort_order="Ascending")
    )
    seen = 0
    adopted: list[int] = []
    updated: list[int] = []
    # One write transaction per SYNC_BATCH jobs, not one per job. The next group is
    # read from the service before the transaction opens, so no network call is made
    # while the ledger is locked. A sync stopped midway keeps the groups written;
    # running it again adopts nothing twice (jobs are matched by ARN, then token).
    iterator = iter(items)
    while group := list(islice(iterator, SYNC_BATCH)):
        with ledger.write_batch():
            for item in group:
                seen += 1
                before = ledger.find(item.invocation_arn)
                if before is None and item.client_token:
                    before = ledger.find(item.client_token)
                record, created = ledger.adopt(
                    invocation_arn=item.invocation_arn,
                    model_id=item.model_id or "unknown",
                    status=item.status,
                    submit_time=item.submit_time,
                    end_time=item.end_time,
                    output_uri=item.output_uri,
                    client_token=item.client_token,
                    failure_message=item.failure_message,
                )
                if created:
                    adopted.append(record.id)
                elif _snapshot(before) != _snapshot(record):
                    updated.append(record.id)
    return SyncReport(
        seen=seen, adopted=adopted, updated=updated, unchanged=seen - len(adopted) - len(updated)
    )
