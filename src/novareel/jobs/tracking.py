"""Following a job after the submit: status, wait, failures explained, lost jobs."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from novareel.client import (
    InvocationStatus,
    job_folder,
)
from novareel.foundation.errors import (
    AwsError,
    JobFailedError,
    LedgerError,
    NotFoundError,
    ServiceValidationError,
    WaitTimeoutError,
)
from novareel.foundation.results import Failure, JobResult, advice_for
from novareel.foundation.status import FINISHED_STATUSES, JobStatus
from novareel.foundation.waiting import PollSchedule, WaitProgress, poll_until
from novareel.jobs.session import Session, _utcnow
from novareel.models import (
    find_model,
)

if TYPE_CHECKING:
    from novareel.ledger import JobRecord

log = logging.getLogger("novareel")


def parse_status_file(data: dict[str, Any]) -> Failure | None:
    """The failure described by ``video-generation-status.json``, if any.

    The shot number is the first shot whose status is not SUCCESS (1-based); a failed
    full video with no failed shot reports no shot.
    """
    shots = data.get("shots") or []
    for index, shot in enumerate(shots, start=1):
        if isinstance(shot, dict) and str(shot.get("status", "")).upper() == "FAILURE":
            ftype = shot.get("failureType")
            message = shot.get("failureMessage")
            return Failure(ftype, message, index, advice_for(ftype, message))
    full = data.get("fullVideo") or {}
    if isinstance(full, dict) and str(full.get("status", "")).upper() == "FAILURE":
        ftype = full.get("failureType")
        message = full.get("failureMessage")
        return Failure(ftype, message, None, advice_for(ftype, message))
    return None


def job_failed_error(result: JobResult) -> JobFailedError:
    """The JobFailedError for a Failed result: summary as message, advice as hint."""
    failure = result.failure or Failure(None, None)
    return JobFailedError(failure.summary(), result=result, hint=failure.advice or None)


class _ForgottenButFinished(Exception):
    """A local job the emulator no longer knows, whose end the ledger recorded."""

    def __init__(self, record: JobRecord) -> None:
        super().__init__(record.id)
        self.record = record


class Tracking(Session):
    """:meth:`status`, :meth:`wait`, :meth:`list`, and a failure explained."""

    def status(self, ref: str) -> JobResult:
        """Ask the service once; update the ledger; explain a failure."""
        arn, record = self.resolve(ref)
        try:
            status = self._get(arn, record)
        except _ForgottenButFinished as forgotten:
            return self._as_recorded(forgotten.record)
        return self._observe(status, record)

    def _as_recorded(self, record: JobRecord) -> JobResult:
        """A finished local job, answered from the ledger: an emulator keeps its jobs in
        memory, so once restarted it no longer knows one that completed (and was
        downloaded) an hour ago. How that job ended is not lost with it; only an
        unfinished job is."""
        self._answered_from_ledger.add(record.id)
        notice = (
            f"the emulator at {record.endpoint} no longer knows job {record.id} (it keeps "
            f"jobs in memory and has restarted); this is how the ledger recorded its end"
        )
        return self._result_from_record(record, notices=[notice])

    def _get(self, arn: str, record: JobRecord | None) -> InvocationStatus:
        """GetAsyncInvoke, turning "not found" for a job that ran on a local emulator
        into what it means: the emulator that held it is gone (marked in the ledger)."""
        try:
            return self.client.get_async_invoke(arn)
        except (NotFoundError, ServiceValidationError) as exc:
            # GetAsyncInvoke answers an unknown ARN with ValidationException (or
            # ResourceNotFound): for a job of a local emulator, it means the emulator
            # that held it (in memory) is gone.
            if record is None or not record.ran_locally:
                raise
            if record.status in FINISHED_STATUSES:
                raise _ForgottenButFinished(record) from exc
            if record.emulator_owned:
                raise self._lost(record) from exc
            # A standalone emulator may be reachable again later (another URL, a
            # restored state): say what probably happened, but record nothing.
            exc.hint = (
                f"Job {record.id} ran on the local emulator at {record.endpoint}; emulator "
                "jobs live only in memory, so a restarted emulator no longer knows it. "
                f"Submit it again with `novareel jobs retry {record.id} --local`."
            )
            raise

    def mark_lost(self, ref: str) -> JobFailedError:
        """Record that a local job's emulator is gone (Ctrl-C in a command whose own
        emulator stops with it); returns the error that explains it, to print or raise."""
        _, record = self.resolve(ref)
        if record is None:
            raise LedgerError(f"{ref!r} is not in the ledger")
        return self._lost(record)

    def _lost(self, record: JobRecord) -> JobFailedError:
        """Mark a job whose emulator died with its command as Failed (LocalEmulatorGone)."""
        from novareel.ledger.models import LOCAL_EMULATOR_GONE

        message = (
            f"job {record.id} is gone: it ran on the emulator started inside the command "
            "that submitted it, and that emulator stopped when the command ended"
        )
        advice = (
            "Run `novareel emulator` in another terminal and keep it running: --local "
            "commands then use it, and jobs outlive each command. Submit this one again "
            f"with `novareel jobs retry {record.id} --local`."
        )
        if self.ledger is not None:
            record = self.ledger.record_status(
                record.id,
                JobStatus.FAILED,
                failure_type=LOCAL_EMULATOR_GONE,
                failure_message=message,
            )
        self._job_ended(record.client_token, seen_end=True)
        result = self._result_from_record(record, notices=[])
        if result.failure is not None:
            result = result.with_(failure=Failure(LOCAL_EMULATOR_GONE, message, None, advice))
        return JobFailedError(message, result=result, hint=advice)

    def _observe(self, status: InvocationStatus, record: JobRecord | None) -> JobResult:
        ended = (
            record is not None
            and status.status in FINISHED_STATUSES
            and record.status not in FINISHED_STATUSES
        )
        failure = None
        if status.status == JobStatus.FAILED:
            failure = self._explain_failure(status)
        if record is not None and self.ledger is not None:
            record = self.ledger.record_status(
                record.id,
                status.status,
                end_time=status.end_time,
                failure_type=failure.type if failure else None,
                failure_message=failure.message if failure else None,
                failure_shot=failure.shot if failure else None,
                submit_time=status.submit_time,
                time_scale=self.time_scale,
            )
            if record.generation_seconds is not None:
                self._expectations.clear()  # a new timed job: learn from it next time
        if ended and record is not None:
            self._job_ended(record.client_token, seen_end=True)  # its quota slot is free
        return self._result(status, record, failure)

    def _explain_failure(self, status: InvocationStatus) -> Failure:
        """Read the job's status file to say which shot failed, why, and what to do.

        Which status files exist is the model family's knowledge (Nova Reel writes
        ``video-generation-status.json``; Luma Ray 2 is not known to write any, so
        its failure message alone explains it).
        """
        folder = job_folder(status)
        model = find_model(status.model_id)
        status_files = model.family.status_files if model is not None else ()
        if folder is not None:
            for name in status_files:
                try:
                    raw = self.client.read_object(folder.child(name))
                except AwsError:
                    continue
                try:
                    parsed = parse_status_file(json.loads(raw))
                except (ValueError, TypeError):
                    continue
                if parsed is not None:
                    if not parsed.message and status.failure_message:
                        return Failure(
                            parsed.type, status.failure_message, parsed.shot, parsed.advice
                        )
                    return parsed
        message = status.failure_message
        return Failure(None, message, None, advice_for(None, message))

    def wait(
        self,
        ref: str,
        *,
        timeout: float | None = 30 * 60,
        poll_interval: float | None = None,
        on_progress: Callable[[WaitProgress], None] | None = None,
        raise_on_failure: bool = False,
    ) -> JobResult:
        """Poll until the job ends or ``timeout`` passes (the job keeps running then).

        ``poll_interval`` forces a fixed interval (pwshBedrock's JobCheckInterval);
        otherwise the schedule follows the job's expected generation time.
        """
        arn, record = self.resolve(ref)
        expected = self.expectation_for(record)
        schedule = PollSchedule.for_job(
            expected.seconds,
            time_scale=self.time_scale,
            fixed_interval=poll_interval,
            source=expected.source,
        )
        offset = 0.0
        if record is not None and record.submit_time is not None:
            offset = max(0.0, (_utcnow() - record.submit_time).total_seconds())
        latest: list[InvocationStatus] = []

        def check() -> str:
            latest.append(self._get(arn, record))
            del latest[:-1]
            return latest[-1].status

        try:
            _, _, timed_out = poll_until(
                check,
                schedule=schedule,
                timeout=timeout,
                on_progress=on_progress,
                elapsed_offset=offset,
            )
        except _ForgottenButFinished as forgotten:
            result = self._as_recorded(forgotten.record)
            if raise_on_failure and result.status == JobStatus.FAILED:
                raise job_failed_error(result) from None
            return result
        result = self._observe(latest[-1], record)
        if timed_out:
            ident = result.ledger_id or result.invocation_arn
            raise WaitTimeoutError(
                f"stopped waiting after {timeout:g} s; job {result.invocation_id} is still "
                f"{result.status} and keeps running",
                result=result,
                hint=f"Resume with `novareel wait {ident}` (then `novareel download {ident}`).",
            )
        if raise_on_failure and result.status == JobStatus.FAILED:
            raise job_failed_error(result)
        return result

    def list(
        self,
        *,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        max_items: int | None = None,
        sort_order: str = "Descending",
    ) -> list[JobResult]:
        """Jobs as the service lists them (ListAsyncInvokes), joined with the ledger."""
        results = []
        for item in self.client.list_async_invokes(
            status=status,
            submitted_after=since,
            submitted_before=until,
            sort_order=sort_order,
            max_items=max_items,
        ):
            record = self.ledger.find(item.invocation_arn) if self.ledger is not None else None
            results.append(self._result(item, record, None))
        return results
