"""Jobs and their lifecycle, in plain objects that know nothing of HTTP or S3.

A job is InProgress until BOTH its due time (submit + latency / speed) has passed AND
its preview render has finished and its outputs are in S3 (the backend finalises
the job no earlier than its due time); then it is Completed or Failed.
Status is computed lazily from the clock on every read, which keeps GetAsyncInvoke
cheap: no timers, no polling thread.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]

_ID_ALPHABET = string.ascii_lowercase + string.digits


def new_invocation_id() -> str:
    """12 lowercase alphanumerics, like the real service's invocation ids."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))


@dataclass
class Job:
    """One async invocation. Mutable fields are only changed under the store's lock."""

    invocation_id: str
    arn: str
    model_id: str
    region: str
    task_type: str
    output_uri: str  # the invocation's own folder, s3://bucket/prefix/<id> (no slash)
    submit_time: float
    due_time: float
    client_request_token: str
    fingerprint: str
    video_seconds: int
    render_done_time: float | None = None
    failure_message: str | None = None
    tags: tuple[tuple[str, str], ...] = field(default=())
    kms_key_id: str | None = None
    bucket_owner: str | None = None

    def status(self, now: float) -> str:
        end = self.end_time(now)
        if end is None:
            return "InProgress"
        return "Failed" if self.failure_message is not None else "Completed"

    def end_time(self, now: float) -> float | None:
        """When the job finished, or ``None`` while it is still InProgress."""
        if self.render_done_time is None:
            return None
        # Finalisation happens at or after the due time; max() guards clock skew.
        return max(self.due_time, self.render_done_time)


class JobStore:
    """Thread-safe registry of jobs, indexed by id and by client request token."""

    def __init__(self, clock: Clock = time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._tokens: dict[str, str] = {}

    def add(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.invocation_id] = job
            self._tokens[job.client_request_token] = job.invocation_id

    def get(self, invocation_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(invocation_id)

    def by_token(self, token: str) -> Job | None:
        with self._lock:
            job_id = self._tokens.get(token)
            return self._jobs.get(job_id) if job_id else None

    def all(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def in_progress(self, model_id: str) -> int:
        """How many jobs of ``model_id`` count against its concurrency quota now."""
        now = self.clock()
        with self._lock:
            return sum(
                1
                for j in self._jobs.values()
                if j.model_id == model_id and j.status(now) == "InProgress"
            )

    def mark_rendered(self, invocation_id: str, failure_message: str | None = None) -> bool:
        """Record that the render (and its S3 writes) finished; False if the job is gone."""
        with self._lock:
            job = self._jobs.get(invocation_id)
            if job is None:
                return False
            job.failure_message = failure_message
            job.render_done_time = self.clock()
            return True

    def finish_now(self, invocation_id: str) -> Job | None:
        """Let a job complete as soon as its render is done (control endpoint)."""
        with self._lock:
            job = self._jobs.get(invocation_id)
            if job is not None:
                job.due_time = min(job.due_time, self.clock())
            return job

    def clear(self) -> None:
        with self._lock:
            self._jobs.clear()
            self._tokens.clear()
