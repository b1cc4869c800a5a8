"""Injected faults: API errors, failing jobs, cut downloads and defective videos.

Kept separate from the job state so tests can steer failure paths ("the next 2 submits
are throttled", "the job whose prompt says FAIL-HERE fails at shot 3", "the next
download is cut halfway") without the backend knowing about test concerns.
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass
from typing import Any

from novareel.emulator.errors import DEFAULT_MESSAGES, ERROR_STATUS, ApiError

#: Operations a fault can target; "*" matches all of them.
OPERATIONS = (
    "StartAsyncInvoke",
    "GetAsyncInvoke",
    "ListAsyncInvokes",
    "InvokeModel",
    "ListFoundationModels",
    "GetFoundationModel",
    "GetFoundationModelAvailability",
    "GetCallerIdentity",
    "GetObject",
    "HeadObject",
    "PutObject",
    "ListObjectsV2",
    "ListObjects",
    "DeleteObject",
    "DeleteObjects",
    "CreateBucket",
    "HeadBucket",
    "CreateMultipartUpload",
    "UploadPart",
    "CompleteMultipartUpload",
    "AbortMultipartUpload",
)
FAILURE_TYPES = {
    "INTERNAL_SERVER_EXCEPTION": "Something went wrong on the server side.",
    "RAI_VIOLATION_OUTPUT_VIDEO_DEFLECTION": (
        "The generated content has been blocked by our content filters."
    ),
    "RATE_LIMIT_EXCEEDED": "The rate limit was exceeded while generating the video.",
    "ABORTED": "The job was aborted.",
}


@dataclass
class ApiFault:
    """Make calls of ``operation`` fail with ``code``.

    ``count`` is how many calls the rule covers (``None``: until reset); each covered
    call fails with ``probability`` (drawn from a seeded RNG, so runs are repeatable).
    """

    operation: str
    code: str
    count: int | None = 1
    probability: float = 1.0
    message: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)


@dataclass
class JobFault:
    """Make submitted jobs fail with ``failure_type`` at shot ``shot`` (1-based).

    Applies to the next ``count`` accepted jobs, or, with ``marker``, to jobs whose
    prompt contains it (``count`` then caps how many; ``None`` means unlimited).
    """

    failure_type: str = "INTERNAL_SERVER_EXCEPTION"
    shot: int = 1
    count: int | None = 1
    marker: str | None = None
    message: str | None = None


#: What a defect fault can do to a rendered video (see :mod:`novareel.emulator.render`).
DEFECTS = ("black", "frozen", "flash")


@dataclass
class DefectFault:
    """Make the videos of matching jobs defective from ``at`` for ``length`` seconds.

    ``black``: near-black frames; ``frozen``: the frame at ``at`` repeated, identical;
    ``flash``: every other frame very bright. Applies to jobs whose prompt contains
    ``marker`` (``count`` then caps how many; ``None`` means unlimited), or without a
    marker to the next ``count`` accepted jobs. The job still succeeds: the defect is
    in the pictures, for checks of what a video shows (``novareel qa``) to find.
    """

    defect: str
    at: float
    length: float
    marker: str | None = None
    count: int | None = 1


@dataclass(frozen=True)
class PlannedDefect:
    """One defect a job's render draws: ``defect`` over [``at``, ``at + length``) s."""

    defect: str
    at: float
    length: float

    def to_dict(self) -> dict[str, Any]:
        return {"defect": self.defect, "at": self.at, "length": self.length}


@dataclass(frozen=True)
class PlannedFailure:
    """What the render worker must do to a job: fail at this shot with this type."""

    failure_type: str
    shot: int
    message: str


def _take(fault: JobFault | DefectFault, prompt: str) -> bool:
    """Whether a job fault covers a new job with this prompt (its marker is in it, and
    its count is not used up); counts the use. Call under the injector's lock."""
    if fault.count is not None and fault.count <= 0:
        return False
    if fault.marker is not None and fault.marker not in prompt:
        return False
    if fault.count is not None:
        fault.count -= 1
    return True


class FaultInjector:
    """Thread-safe registry of active faults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._api: list[ApiFault] = []
        self._jobs: list[JobFault] = []
        self._cuts = 0
        self._defects: list[DefectFault] = []

    def reset(self) -> None:
        with self._lock:
            self._api.clear()
            self._jobs.clear()
            self._cuts = 0
            self._defects.clear()

    def add_api_fault(self, fault: ApiFault) -> None:
        if fault.operation != "*" and fault.operation not in OPERATIONS:
            raise ValueError(f"unknown operation {fault.operation!r}")
        if fault.code not in ERROR_STATUS:
            raise ValueError(f"unknown error code {fault.code!r}")
        if not 0.0 <= fault.probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        with self._lock:
            self._api.append(fault)

    def add_job_fault(self, fault: JobFault) -> None:
        if fault.failure_type not in FAILURE_TYPES:
            raise ValueError(f"unknown failureType {fault.failure_type!r}")
        if fault.shot < 1:
            raise ValueError("shot must be >= 1")
        with self._lock:
            self._jobs.append(fault)

    def add_defect_fault(self, fault: DefectFault) -> None:
        if fault.defect not in DEFECTS:
            raise ValueError(f"unknown defect {fault.defect!r}: one of {', '.join(DEFECTS)}")
        if not (math.isfinite(fault.at) and fault.at >= 0):
            raise ValueError(f"at {fault.at!r} must be a number of seconds >= 0")
        if not (math.isfinite(fault.length) and fault.length > 0):
            raise ValueError(f"length {fault.length!r} must be a number of seconds > 0")
        with self._lock:
            self._defects.append(fault)

    def plan_defects(self, prompt: str, video_seconds: float) -> tuple[PlannedDefect, ...]:
        """Consume the defect faults that apply to a newly accepted job.

        Spans are clipped to the video; a defect starting after its end is not drawn and
        so not planned (the job's ``injected_defects`` lists only what is in the file).
        """
        planned: list[PlannedDefect] = []
        with self._lock:
            for fault in self._defects:
                if not _take(fault, prompt):
                    continue
                if fault.at >= video_seconds:
                    continue
                length = min(fault.length, video_seconds - fault.at)
                planned.append(PlannedDefect(fault.defect, fault.at, length))
        return tuple(planned)

    def add_download_cuts(self, count: int) -> None:
        with self._lock:
            self._cuts += count

    def check(self, operation: str) -> None:
        """Raise the injected :class:`ApiError` if a rule covers this call."""
        if not self._api:  # cheap fast path for the hot GetAsyncInvoke loop
            return
        with self._lock:
            for fault in self._api:
                if fault.operation not in ("*", operation):
                    continue
                if fault.count is not None:
                    if fault.count <= 0:
                        continue
                    fault.count -= 1
                if fault.probability >= 1.0 or fault._rng.random() < fault.probability:
                    code = fault.code
                    raise ApiError(
                        code,
                        fault.message or DEFAULT_MESSAGES[code],
                        default_message=fault.message is None,
                    )
            self._api = [f for f in self._api if f.count is None or f.count > 0]

    def plan_job(self, prompt: str, n_shots: int) -> PlannedFailure | None:
        """Consume the job fault (if any) that applies to a newly accepted job."""
        with self._lock:
            for fault in self._jobs:
                if not _take(fault, prompt):
                    continue
                return PlannedFailure(
                    fault.failure_type,
                    min(fault.shot, n_shots),
                    fault.message or FAILURE_TYPES[fault.failure_type],
                )
        return None

    def take_download_cut(self) -> bool:
        with self._lock:
            if self._cuts > 0:
                self._cuts -= 1
                return True
            return False

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "api": [
                    {
                        "operation": f.operation,
                        "code": f.code,
                        "count": f.count,
                        "probability": f.probability,
                    }
                    for f in self._api
                ],
                "jobs": [
                    {
                        "failureType": f.failure_type,
                        "shot": f.shot,
                        "count": f.count,
                        "marker": f.marker,
                    }
                    for f in self._jobs
                ],
                "downloadCuts": self._cuts,
                "defects": [
                    {
                        "defect": f.defect,
                        "at": f.at,
                        "length": f.length,
                        "marker": f.marker,
                        "count": f.count,
                    }
                    for f in self._defects
                ],
            }


class Stats:
    """Counters that let tests prove what happened on the wire."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests: dict[str, int] = {}
            self.accepted = 0
            self.replays = 0
            self.rejections: dict[str, int] = {}
            #: the most jobs ever in progress at once, per "model@region" (the quota's
            #: unit): what tests of clients sharing one quota assert against
            self.max_in_flight: dict[str, int] = {}

    def request(self, operation: str) -> None:
        with self._lock:
            self.requests[operation] = self.requests.get(operation, 0) + 1

    def rejection(self, code: str) -> None:
        with self._lock:
            self.rejections[code] = self.rejections.get(code, 0) + 1

    def accept(self) -> None:
        with self._lock:
            self.accepted += 1

    def in_flight(self, slot: str, count: int) -> None:
        """Note ``count`` jobs in progress in ``slot`` ("model@region") just now."""
        with self._lock:
            if count > self.max_in_flight.get(slot, 0):
                self.max_in_flight[slot] = count

    def replay(self) -> None:
        with self._lock:
            self.replays += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(self.requests),
                "totalRequests": sum(self.requests.values()),
                "acceptedSubmissions": self.accepted,
                "idempotentReplays": self.replays,
                "rejections": dict(self.rejections),
                "maxInFlight": dict(self.max_in_flight),
            }


class TokenBucket:
    """Submit rate limiter: ``rate`` tokens per second, at most ``burst`` stored."""

    def __init__(self, rate: float, burst: int) -> None:
        self._lock = threading.Lock()
        self.configure(rate, burst)

    def configure(self, rate: float, burst: int) -> None:
        import time

        with self._lock:
            self.rate = rate
            self.burst = max(1, burst)
            self._tokens = float(self.burst)
            self._stamp = time.monotonic()

    def take(self) -> bool:
        """True if a call may proceed now (always True when the rate is 0)."""
        if self.rate <= 0:
            return True
        import time

        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False
