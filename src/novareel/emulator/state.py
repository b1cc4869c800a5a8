"""Jobs and their lifecycle, in plain objects that know nothing of HTTP or S3.

A job is InProgress until BOTH its due time (submit + latency / speed) has passed AND
its preview render has finished and its outputs are in S3 (the backend finalises
the job no earlier than its due time); then it is Completed or Failed.
Status is computed lazily from the clock on every read, which keeps GetAsyncInvoke
cheap: no timers, no polling thread.
"""

from __future__ import annotations

import bisect
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
    #: The ``modelInput`` exactly as received (parsed JSON), for the control endpoint:
    #: tests compare it with what the user asked for.
    model_input: object = None
    #: The defects drawn into its video by a ``defect`` fault, each
    #: ``{"defect": "black"|"frozen"|"flash", "at": s, "length": s}``: what a synthetic
    #: review (and the control endpoint) can report as really in the file.
    injected_defects: list[dict[str, Any]] = field(default_factory=list)

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


#: A job's place in submit order: (submit time, invocation id). Ids are unique, so the
#: order is total and a key found once can anchor a page token.
OrderKey = tuple[float, str]
#: Sorts after every invocation id (12 lowercase alphanumerics), for inclusive bounds.
_ID_MAX = "~"
STATES = ("InProgress", "Completed", "Failed")


@dataclass(frozen=True)
class Page:
    """One page of jobs in the requested order, and the key after which the next starts."""

    jobs: list[Job]
    next_anchor: OrderKey | None


class JobStore:
    """Thread-safe registry of jobs, indexed so no request scans every stored job.

    Indexes, all kept under one lock: id -> job, (region, client request token) -> id,
    every job in submit order, the jobs of each state in submit order (``bisect``-
    maintained lists of :data:`OrderKey`), the same two orders per region, and a count
    of InProgress jobs per (model, region). A job's state only changes in
    :meth:`mark_rendered` (status is InProgress until the render is recorded, see
    :class:`Job`), so the indexes move exactly there. A submit then costs O(log n) and
    a ListAsyncInvokes page O(page size + log n).

    Jobs live in a region, as on AWS, where each region is a separate service: a
    region's listing, its idempotency tokens and its quota counts see only its own
    jobs. ``region=None`` (the control endpoint, unit tests) means every region.

    ``examined`` counts the jobs the store looked at to answer requests (page items and
    any scan); tests use it to pin that this stays bounded as the store grows.
    """

    def __init__(self, clock: Clock = time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._tokens: dict[tuple[str, str], str] = {}
        # Orders keyed by region; None holds every region's jobs.
        self._order: dict[str | None, list[OrderKey]] = {None: []}
        self._by_state: dict[tuple[str | None, str], list[OrderKey]] = {
            (None, state): [] for state in STATES
        }
        self._in_progress: dict[tuple[str, str], int] = {}
        self.examined = 0

    def _orders(self, region: str | None) -> list[OrderKey]:
        return self._order.setdefault(region, [])

    def _states(self, region: str | None, state: str) -> list[OrderKey]:
        return self._by_state.setdefault((region, state), [])

    def add(self, job: Job) -> None:
        key = (job.submit_time, job.invocation_id)
        state = job.status(0.0)
        with self._lock:
            self._jobs[job.invocation_id] = job
            self._tokens[(job.region, job.client_request_token)] = job.invocation_id
            for region in (None, job.region):
                _insert(self._orders(region), key)
                _insert(self._states(region, state), key)
            if job.render_done_time is None:
                slot = (job.model_id, job.region)
                self._in_progress[slot] = self._in_progress.get(slot, 0) + 1

    def get(self, invocation_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(invocation_id)

    def by_token(self, token: str, region: str) -> Job | None:
        """The job ``region`` accepted with this client request token, if any."""
        with self._lock:
            job_id = self._tokens.get((region, token))
            return self._jobs.get(job_id) if job_id else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)

    def all(self) -> list[Job]:
        """Every job in submit order (the control endpoint's full listing; O(n) by design)."""
        with self._lock:
            order = self._order[None]
            self.examined += len(order)
            return [self._jobs[job_id] for _, job_id in order]

    def in_progress(self, model_id: str, region: str | None = None) -> int:
        """How many jobs of ``model_id`` in ``region`` (None: all regions) count against
        its concurrency quota now (O(number of regions))."""
        with self._lock:
            return sum(
                count
                for (model, where), count in self._in_progress.items()
                if model == model_id and region in (None, where)
            )

    def count(self, state: str, region: str | None = None) -> int:
        """How many jobs are in ``state`` now, in ``region`` or all regions (O(1))."""
        with self._lock:
            return len(self._by_state.get((region, state), ()))

    def page(
        self,
        *,
        after: float | None,
        before: float | None,
        status: str | None,
        descending: bool,
        anchor: OrderKey | None,
        limit: int,
        region: str | None = None,
    ) -> Page:
        """Up to ``limit`` jobs of ``region`` (None: every region) submitted in
        [after, before] (inclusive), in ``status``.

        ``anchor`` is the last key of the previous page: the page starts strictly after
        it in the requested order, so jobs submitted between pages neither repeat nor
        shift what follows (an offset would). Two binary searches find the range; only
        the page's own jobs are touched.
        """
        with self._lock:
            keys = (
                self._order.get(region, [])
                if status is None
                else self._by_state.get((region, status), [])
            )
            lo = 0 if after is None else bisect.bisect_left(keys, (after, ""))
            hi = len(keys) if before is None else bisect.bisect_right(keys, (before, _ID_MAX))
            if descending:
                if anchor is not None:
                    hi = min(hi, bisect.bisect_left(keys, anchor))
                start = max(lo, hi - limit)
                chosen = keys[start:hi][::-1]
                more = start > lo
            else:
                if anchor is not None:
                    lo = max(lo, bisect.bisect_right(keys, anchor))
                end = min(hi, lo + limit)
                chosen = keys[lo:end]
                more = end < hi
            self.examined += len(chosen)
            jobs = [self._jobs[job_id] for _, job_id in chosen]
        return Page(jobs, chosen[-1] if more and chosen else None)

    def mark_rendered(self, invocation_id: str, failure_message: str | None = None) -> bool:
        """Record that the render (and its S3 writes) finished; False if the job is gone."""
        with self._lock:
            job = self._jobs.get(invocation_id)
            if job is None:
                return False
            key = (job.submit_time, job.invocation_id)
            old = job.status(0.0)
            if job.render_done_time is None:
                slot = (job.model_id, job.region)
                count = self._in_progress.get(slot, 0) - 1
                if count > 0:
                    self._in_progress[slot] = count
                else:
                    self._in_progress.pop(slot, None)
            job.failure_message = failure_message
            job.render_done_time = self.clock()
            new = job.status(0.0)
            if new != old:
                for region in (None, job.region):
                    _remove(self._states(region, old), key)
                    _insert(self._states(region, new), key)
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
            self._order = {None: []}
            self._by_state = {(None, state): [] for state in STATES}
            self._in_progress.clear()


def _insert(keys: list[OrderKey], key: OrderKey) -> None:
    """Keep ``keys`` sorted; submit times grow, so this is almost always an append."""
    if not keys or keys[-1] < key:
        keys.append(key)
    else:
        bisect.insort(keys, key)


def _remove(keys: list[OrderKey], key: OrderKey) -> None:
    index = bisect.bisect_left(keys, key)
    if index < len(keys) and keys[index] == key:
        del keys[index]
