"""The emulator's model layer: submit, get and list jobs; render them in the background.

Knows nothing of HTTP (handlers in ``bedrock.py`` parse and serialise) and reaches S3
only through :class:`~novareel.emulator.s3.S3Storage`. Every public method either returns
plain data or raises :class:`~novareel.emulator.errors.ApiError`.

Choices where the real service is uncertain (see ``docs/emulator.md``):

* A reused ``clientRequestToken`` with an identical request returns the first job's ARN
  (no new job); with a different request it raises ConflictException.
* Jobs live in the region that accepted them (each region is its own service, as on
  AWS): a region lists and gets only its own jobs, and its clientRequestTokens, submit
  rate and concurrency quotas are its own.
* A well-formed but unknown invocation ARN on Get raises ValidationException; so does an
  ARN of another region (its region is read from the ARN itself, not looked up).
* Too many submits per second (a token bucket per region) and too many concurrent jobs
  of a model in a region raise ThrottlingException, what users see on AWS; with
  ``quota_error`` the full quota raises ServiceQuotaExceededException instead. A model
  missing from ``quotas`` gets its family's default quota.
* ListAsyncInvokes' ``nextToken`` names the page's last job by (submitTime, id) and is
  bound to the region, filters and sort order that issued it: reused with others it
  raises ValidationException.

What a job renders and writes to S3 is the model family's business (its
:class:`~novareel.emulator.models.base.JobPlan`); the backend only schedules it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from novareel.emulator.config import ACCOUNT_ID, LATENCY_KEYS, EmulatorConfig
from novareel.emulator.errors import ApiError, validation
from novareel.emulator.faults import (
    FAILURE_TYPES,
    FaultInjector,
    PlannedFailure,
    Stats,
    TokenBucket,
)
from novareel.emulator.latency import scaled
from novareel.emulator.models import MODELS
from novareel.emulator.models.base import BLOCKED_OUTPUT_MESSAGE, Files, JobPlan
from novareel.emulator.pool import RenderPool
from novareel.emulator.s3 import S3Storage
from novareel.emulator.state import Clock, Job, JobStore, new_invocation_id
from novareel.emulator.understanding import Understanding
from novareel.emulator.validation import ValidRequest, validate_start_request

log = logging.getLogger("novareel.emulator")

STATUSES = ("InProgress", "Completed", "Failed")
#: What a submit beyond the region's StartAsyncInvoke rate gets (ThrottlingException).
RATE_MESSAGE = "Too many requests, please wait before trying again."
_ARN_PREFIX = "arn:aws"


def iso(ts: float) -> str:
    """ISO-8601 UTC with milliseconds, the way Bedrock's JSON timestamps look."""
    dt = datetime.fromtimestamp(ts, tz=timezone.utc)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(value: str, name: str) -> float:
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise validation(f"{name} must be an ISO-8601 timestamp") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def parse_arn(arn: str) -> str:
    """Return the invocation id of a well-formed invocation ARN, else ValidationException."""
    parts = arn.split(":")
    ok = (
        len(parts) == 6
        and (parts[1] == "aws" or parts[1].startswith("aws-"))
        and parts[0] == "arn"
        and parts[2] == "bedrock"
        and parts[4].isdigit()
        and len(parts[4]) == 12
        and parts[5].startswith("async-invoke/")
    )
    job_id = parts[5][len("async-invoke/") :] if ok else ""
    if not (len(job_id) == 12 and job_id.isalnum() and job_id == job_id.lower()):
        raise validation(f"invocationArn {arn!r} is not a valid async invocation ARN")
    return job_id


def quota_message(code: str, quota: int, req: ValidRequest) -> str:
    """The message of a submit refused because ``quota`` jobs of the model are running."""
    if code == "ThrottlingException":
        # AWS's text for ThrottlingException names the account quotas; the emulator
        # adds which one, so a user can tell it from a rate limit.
        return (
            "Your request was denied due to exceeding the account quotas for Amazon "
            f"Bedrock: {quota} concurrent async invocations of {req.model_id} are in "
            "progress in this region. Wait for a job to finish and try again."
        )
    return (
        f"You have reached the limit of {quota} concurrent jobs for {req.model_id}. "
        "Wait for a job to finish and try again."
    )


def _fingerprint(body: dict[str, Any]) -> str:
    """What makes two requests "the same" for idempotency (token excluded)."""
    relevant = {k: body.get(k) for k in ("modelId", "modelInput", "outputDataConfig", "tags")}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()


class EmulatorBackend:
    """Jobs, limits, faults and the render pool of one emulator."""

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        clock: Clock = time.time,
        storage: S3Storage | None = None,
    ) -> None:
        self.defaults = (config or EmulatorConfig()).copy()
        self.config = self.defaults.copy()
        self.jobs = JobStore(clock)
        self.faults = FaultInjector()
        self.stats = Stats()
        self.storage = storage or S3Storage()
        self.storage.configure(self.config.s3_key_buffer_size)
        #: StartAsyncInvoke token buckets, one per region (made on a region's first submit)
        self._rates: dict[str, TokenBucket] = {}
        self._rates_lock = threading.Lock()
        #: Draws each accepted job's real-service duration (seeded; see latency.py).
        self.latency = self.config.latency_model()
        self._submit_lock = threading.Lock()
        self._pool_lock = threading.Lock()
        self._pool: RenderPool | None = None
        self._generation = 0
        self._wakeups: dict[str, threading.Event] = {}
        #: InvokeModel for Nova 2 Lite (video understanding), with its record of requests.
        self.understanding = Understanding(
            self.storage.get_object, self.storage.bucket_exists, self.jobs.all
        )

    # -- lifecycle -----------------------------------------------------------------
    @property
    def clock(self) -> Clock:
        return self.jobs.clock

    def _executor(self) -> RenderPool:
        with self._pool_lock:
            if self._pool is None:
                self._pool = RenderPool(self.config.render_workers)
            return self._pool

    def shutdown(self) -> None:
        """Stop the render pool (a config change starts a new one on the next job)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown()

    def _drop_waiting_finalisers(self) -> None:
        """Start a new generation and wake every finaliser waiting for its due time: it
        sees the new generation and drops out. Called with the submit lock held."""
        self._generation += 1
        with self._pool_lock:
            wakeups, self._wakeups = self._wakeups, {}
        for wakeup in wakeups.values():
            wakeup.set()

    def close(self) -> None:
        """The emulator stops: wake every finaliser still waiting for its due time, as
        :meth:`reset` does, then stop the pool. A pool thread sleeping until a job is
        due would otherwise hold the process open at exit (Python joins executor
        threads) for as long as the job's latency, after the command that owned the
        emulator has ended (the pool's threads are daemons for the same reason)."""
        with self._submit_lock:
            self._drop_waiting_finalisers()
        self.shutdown()

    def reset(self) -> None:
        """Forget jobs, buckets, faults and counters; restore the start-up config."""
        with self._submit_lock:
            self._drop_waiting_finalisers()
            self.jobs.clear()
            self.understanding.reset()
            self.faults.reset()
            self.stats.reset()
            self.update_config({}, replace=True)
            self.storage.reset()

    def update_config(self, changes: dict[str, Any], *, replace: bool = False) -> EmulatorConfig:
        new = self.defaults.copy() if replace else self.config.copy()
        new.update(changes)
        old_workers = self.config.render_workers
        old_latency = [getattr(self.config, key) for key in LATENCY_KEYS]
        self.config = new
        if replace or old_latency != [getattr(new, key) for key in LATENCY_KEYS]:
            # A new latency setting (or a reset) starts the seeded sequence over, so
            # the n-th job after it always gets the same duration.
            self.latency = new.latency_model()
        with self._rates_lock:
            for bucket in self._rates.values():
                bucket.configure(new.submit_rate, new.submit_burst)
        self.storage.configure(new.s3_key_buffer_size)
        if new.render_workers != old_workers:
            self.shutdown()  # the next job starts a pool of the new size
        return new

    # -- StartAsyncInvoke ----------------------------------------------------------
    def rate(self, region: str) -> TokenBucket:
        """The StartAsyncInvoke token bucket of ``region`` (the one account's)."""
        with self._rates_lock:
            bucket = self._rates.get(region)
            if bucket is None:
                bucket = TokenBucket(self.config.submit_rate, self.config.submit_burst)
                self._rates[region] = bucket
            return bucket

    def start_async_invoke(self, body: Any, region: str) -> str:
        if not self.rate(region).take():
            raise ApiError("ThrottlingException", RATE_MESSAGE)
        config = self.config
        req = validate_start_request(
            body,
            region=region,
            bucket_exists=self.storage.bucket_exists,
            fetch_object=self.storage.get_object,
            blocked_input_words=config.blocked_input_words,
            model_states=config.model_states,
        )
        token = req.client_request_token or str(uuid.uuid4())
        fingerprint = _fingerprint(body)
        with self._submit_lock:
            existing = self.jobs.by_token(token, region)
            if existing is not None:
                if existing.fingerprint != fingerprint:
                    raise ApiError(
                        "ConflictException",
                        "The clientRequestToken was already used with a different request.",
                    )
                self.stats.replay()
                return existing.arn
            quota = config.quotas.get(req.model_id, MODELS[req.model_id].default_quota)
            if self.jobs.in_progress(req.model_id, region) >= quota:
                raise ApiError(config.quota_error, quota_message(config.quota_error, quota, req))
            job = self._new_job(req, region, token, fingerprint)
            self.jobs.add(job)
            self.stats.accept()
            self.stats.in_flight(
                f"{req.model_id}@{region}", self.jobs.in_progress(req.model_id, region)
            )
            generation = self._generation
        failure = self._plan_failure(req.plan)
        if failure is None:
            defects = self.faults.plan_defects(req.plan.prompt, req.plan.video_seconds)
            job.injected_defects = [d.to_dict() for d in defects]
        for name, data in req.plan.submit_files(job):
            self._put(job, name, data)
        self._executor().submit(self._render_job, job, req.plan, failure, generation)
        return job.arn

    def _new_job(self, req: ValidRequest, region: str, token: str, fingerprint: str) -> Job:
        job_id = new_invocation_id()
        while self.jobs.get(job_id) is not None:
            job_id = new_invocation_id()
        # Milliseconds, exactly what the wire shows, so list filters agree with Get.
        now = round(self.clock(), 3)
        return Job(
            invocation_id=job_id,
            arn=f"arn:aws:bedrock:{region}:{ACCOUNT_ID}:async-invoke/{job_id}",
            model_id=req.model_id,
            region=region,
            task_type=req.task_type,
            output_uri=f"s3://{req.bucket}/{req.prefix}{job_id}",
            kms_key_id=req.kms_key_id,
            bucket_owner=req.bucket_owner,
            submit_time=now,
            due_time=now + scaled(self.latency.draw(req.plan), self.config.speed),
            client_request_token=token,
            fingerprint=fingerprint,
            video_seconds=req.video_seconds,
            tags=req.tags,
            model_input=req.model_input,
        )

    def _plan_failure(self, plan: JobPlan) -> PlannedFailure | None:
        for shot_index, text in enumerate(plan.texts):
            lowered = text.lower()
            if any(w and w.lower() in lowered for w in self.config.blocked_output_words):
                return PlannedFailure(
                    "RAI_VIOLATION_OUTPUT_VIDEO_DEFLECTION", shot_index + 1, BLOCKED_OUTPUT_MESSAGE
                )
        return self.faults.plan_job(plan.prompt, plan.parts)

    # -- rendering -----------------------------------------------------------------
    def _put(self, job: Job, name: str, data: bytes) -> None:
        bucket, _, prefix = job.output_uri[len("s3://") :].partition("/")
        self.storage.put_object(bucket, f"{prefix}/{name}", data)

    def _render_job(
        self, job: Job, plan: JobPlan, failure: PlannedFailure | None, generation: int
    ) -> None:
        """Worker: render the job in memory, then finalise at the job's due time.

        Nothing but the submit-time files (Nova's manifest) is visible in S3 while the
        job is InProgress: outputs are written together when it finishes, just before
        the job is marked finished (so Get never says Completed before they exist).
        """
        if generation != self._generation:
            return
        files: Files = []
        failure_message: str | None = None
        try:
            if failure is not None:
                failure_message = plan.failure_message(failure)
                files = plan.failed_files(job, failure)
            else:
                rendered = plan.render(
                    job,
                    lambda: generation != self._generation,
                    fast=self.config.render == "fast",
                )
                if rendered is None:
                    return
                files = rendered
        except Exception as exc:  # a render bug must not leave a job hanging forever
            log.exception("render of %s failed", job.invocation_id)
            failure_message = f"Something went wrong on the server side. ({type(exc).__name__})"
            files = []
        wakeup = threading.Event()
        with self._pool_lock:
            self._wakeups[job.invocation_id] = wakeup
        delay = job.due_time - self.clock()
        if delay <= 0:
            self._finalize(job, files, failure_message, generation)
        else:
            threading.Thread(
                target=self._finalize_later,
                args=(wakeup, delay, job, files, failure_message, generation),
                name=f"novareel-finish-{job.invocation_id}",
                daemon=True,
            ).start()

    def _finalize_later(
        self,
        wakeup: threading.Event,
        delay: float,
        job: Job,
        files: list[tuple[str, bytes]],
        failure_message: str | None,
        generation: int,
    ) -> None:
        wakeup.wait(delay)
        self._finalize(job, files, failure_message, generation)

    def _finalize(
        self,
        job: Job,
        files: list[tuple[str, bytes]],
        failure_message: str | None,
        generation: int,
    ) -> None:
        with self._pool_lock:
            self._wakeups.pop(job.invocation_id, None)
        if generation != self._generation:
            return
        try:
            for name, data in files:
                self._put(job, name, data)
        except Exception as exc:  # e.g. the bucket was deleted meanwhile
            log.warning("could not write outputs of %s: %s", job.invocation_id, exc)
            failure_message = "Something went wrong on the server side."
        self.jobs.mark_rendered(job.invocation_id, failure_message)

    # -- GetAsyncInvoke / ListAsyncInvokes -------------------------------------------
    @staticmethod
    def _output_config(job: Job) -> dict[str, Any]:
        """The job's own folder, with the KMS key and bucket owner it was given."""
        config: dict[str, Any] = {"s3Uri": job.output_uri}
        if job.kms_key_id:
            config["kmsKeyId"] = job.kms_key_id
        if job.bucket_owner:
            config["bucketOwner"] = job.bucket_owner
        return config

    def describe(self, job: Job, now: float) -> dict[str, Any]:
        end = job.end_time(now)
        status = job.status(now)
        out: dict[str, Any] = {
            "invocationArn": job.arn,
            "modelArn": f"arn:aws:bedrock:{job.region}::foundation-model/{job.model_id}",
            "clientRequestToken": job.client_request_token,
            "status": status,
            "submitTime": iso(job.submit_time),
            "lastModifiedTime": iso(end if end is not None else job.submit_time),
            "outputDataConfig": {"s3OutputDataConfig": self._output_config(job)},
        }
        if end is not None:
            out["endTime"] = iso(end)
            if job.failure_message is not None:
                out["failureMessage"] = job.failure_message
        return out

    def get_async_invoke(self, arn: str, region: str) -> dict[str, Any]:
        job_id = parse_arn(arn)
        arn_region = arn.split(":")[3]
        if arn_region != region:
            # Read from the ARN, not from the store: nothing about other regions' jobs
            # is revealed, as a regional service knows none of them.
            raise validation(
                f"invocationArn {arn!r} is in region {arn_region or '(none)'}, not {region}: "
                f"ask the bedrock-runtime endpoint of {arn_region or 'its region'}"
            )
        job = self.jobs.get(job_id)
        if job is None or job.arn != arn:
            raise validation(f"invocationArn {arn!r}: no async invocation with that ARN exists")
        return self.describe(job, self.clock())

    def list_async_invokes(self, params: dict[str, str], region: str) -> dict[str, Any]:
        after = (
            parse_iso(params["submitTimeAfter"], "submitTimeAfter")
            if "submitTimeAfter" in params
            else None
        )
        before = (
            parse_iso(params["submitTimeBefore"], "submitTimeBefore")
            if "submitTimeBefore" in params
            else None
        )
        status = params.get("statusEquals")
        if status is not None and status not in STATUSES:
            raise validation(f"statusEquals must be one of {', '.join(STATUSES)}")
        try:
            max_results = int(params.get("maxResults", "1000"))
        except ValueError as exc:
            raise validation("maxResults must be an integer") from exc
        if not 1 <= max_results <= 1000:
            raise validation("maxResults must be between 1 and 1000")
        if params.get("sortBy", "SubmissionTime") != "SubmissionTime":
            raise validation("sortBy must be SubmissionTime")
        order = params.get("sortOrder", "Descending")
        if order not in ("Ascending", "Descending"):
            raise validation("sortOrder must be Ascending or Descending")
        scope = _token_scope(after, before, status, order)
        anchor = (
            _decode_token(params["nextToken"], scope, region) if "nextToken" in params else None
        )

        page = self.jobs.page(
            after=after,
            before=before,
            status=status,
            descending=order == "Descending",
            anchor=anchor,
            limit=max_results,
            region=region,
        )
        now = self.clock()
        out: dict[str, Any] = {"asyncInvokeSummaries": [self.describe(j, now) for j in page.jobs]}
        if page.next_anchor is not None:
            out["nextToken"] = _encode_token(page.next_anchor, scope, region)
        return out

    # -- control -------------------------------------------------------------------
    def finish(self, job_id: str) -> dict[str, Any]:
        job = self.jobs.finish_now(job_id)
        if job is None:
            raise ApiError("ResourceNotFoundException", f"no job {job_id!r}")
        with self._pool_lock:
            wakeup = self._wakeups.get(job_id)
        if wakeup is not None:
            wakeup.set()
        return self.describe(job, self.clock())

    def jobs_summary(self) -> list[dict[str, Any]]:
        """Every job of every region, as Get describes it (the control endpoint)."""
        now = self.clock()
        return [self.describe(j, now) for j in self.jobs.all()]

    def job_detail(self, job_id: str) -> dict[str, Any]:
        """One job as Get describes it, plus what the emulator received: its model id,
        region and ``modelInput`` exactly as sent (the control endpoint; tests compare
        it with what the user asked for)."""
        job = self.jobs.get(job_id)
        if job is None:
            raise ApiError("ResourceNotFoundException", f"no job {job_id!r}")
        detail = self.describe(job, self.clock())
        detail.update(
            modelId=job.model_id,
            region=job.region,
            taskType=job.task_type,
            modelInput=job.model_input,
            injectedDefects=list(job.injected_defects),
        )
        return detail


def _token_scope(after: float | None, before: float | None, status: str | None, order: str) -> str:
    """A short digest of the filters and sort order a token was issued for."""
    text = json.dumps([after, before, status, "SubmissionTime", order])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _encode_token(anchor: tuple[float, str], scope: str, region: str) -> str:
    """Opaque: the last job's (submitTime, id) of the page, the region that issued it
    and the request's scope."""
    text = json.dumps({"v": 1, "t": anchor[0], "id": anchor[1], "s": scope, "r": region})
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode_token(token: str, scope: str, region: str) -> tuple[float, str]:
    """The anchor of a token this region issued for the same filters and order; else
    ValidationException."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        anchor_time, anchor_id, token_scope = data["t"], data["id"], data["s"]
        token_region = data["r"]
        if (
            data.get("v") != 1
            or isinstance(anchor_time, bool)
            or not isinstance(anchor_time, (int, float))
            or not isinstance(anchor_id, str)
            or not isinstance(token_scope, str)
            or not isinstance(token_region, str)
        ):
            raise ValueError(token)
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise validation("nextToken is not valid") from exc
    if token_region != region:
        raise validation(
            f"nextToken was issued by region {token_region}, not {region}: a listing's "
            "pages must all be asked of the region that issued its first page"
        )
    if token_scope != scope:
        raise validation(
            "nextToken was issued for a request with other filters or sort order; "
            "repeat the request's submitTimeAfter, submitTimeBefore, statusEquals, sortBy "
            "and sortOrder, or start again without a nextToken"
        )
    return float(anchor_time), anchor_id


__all__ = ["BLOCKED_OUTPUT_MESSAGE", "FAILURE_TYPES", "EmulatorBackend", "iso", "parse_arn"]
