"""Where each item of a batch stands, between runs and during one: the runner's
per-item state, the learned concurrency limit, which failures are worth sending
again, and what the ledger already knows of a batch file (``--dry-run``).

Kept apart from :mod:`.runner` so that the state machine there reads as transitions
only; nothing here waits or sends.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from novareel.batch.file import BatchFile, BatchItem
from novareel.batch.identity import content_hash
from novareel.batch.outcomes import ItemPhase
from novareel.foundation.arns import invocation_id_from_arn
from novareel.foundation.errors import NovaReelError
from novareel.foundation.results import Failure, video_among
from novareel.models import find_model, get_model, video_name

if TYPE_CHECKING:
    from novareel.ledger import JobRecord, Ledger

__all__ = [
    "MAX_DOWNLOAD_ERRORS",
    "MAX_SUBMIT_ERRORS",
    "RETRYABLE_FAILURES",
    "ConcurrencyLimit",
    "ledger_view",
]

#: failureTypes worth sending again unchanged, per model family (the service failed,
#: not the request): Nova Reel's INTERNAL_SERVER_EXCEPTION and RATE_LIMIT_EXCEEDED.
RETRYABLE_FAILURES: frozenset[str] = get_model(None).family.retryable_failures

#: Transient submit errors (5xx, network) tolerated per item before it is given up.
MAX_SUBMIT_ERRORS = 10
#: Download attempts per item before it is reported failed (a rerun fetches it again).
MAX_DOWNLOAD_ERRORS = 3


class ConcurrencyLimit:
    """How many jobs to keep in flight: additive increase, multiplicative decrease.

    The account's real quota is not published reliably (3 or 10, per model), and other
    processes may use part of it; so the limit is *learned*: halved (never below 1) on
    every quota or throttling answer, and raised by one after ``limit`` successful
    submits in a row, never above ``maximum``.
    """

    def __init__(self, maximum: int) -> None:
        if maximum < 1:
            raise ValueError("the concurrency limit must be at least 1")
        self.maximum = maximum
        self.limit = maximum
        self._successes = 0
        self.decreases = 0

    def on_success(self) -> None:
        self._successes += 1
        if self._successes >= self.limit and self.limit < self.maximum:
            self.limit += 1
            self._successes = 0

    def on_pushback(self) -> None:
        self.limit = max(1, self.limit // 2)
        self._successes = 0
        self.decreases += 1


@dataclass
class ItemState:
    item: BatchItem
    phase: ItemPhase = ItemPhase.PENDING
    attempt: int = 1
    token: str | None = None
    retry_of: int | None = None
    job_id: int | None = None
    invocation_arn: str | None = None
    submitted_at: datetime | None = None
    failure: Failure | None = None
    message: str = ""
    local_dir: str | None = None
    local_files: tuple[str, ...] = ()
    submit_errors: int = 0
    download_errors: int = 0
    not_before: float = 0.0
    #: position in ``BatchRunner.states``; -1 while the runner decides where it starts
    index: int = -1

    @property
    def invocation_id(self) -> str | None:
        return invocation_id_from_arn(self.invocation_arn)


def retryable(failure: Failure | None, model_id: str) -> bool:
    """Whether a failure is worth sending unchanged again, by the model family's rules."""
    model = find_model(model_id)
    retryable = model.family.retryable_failures if model is not None else RETRYABLE_FAILURES
    return failure is not None and failure.type in retryable


def downloaded(record: JobRecord) -> bool:
    """Whether the job's files are here: its video among them (:func:`video_among`, the
    rule every reader of a job's files uses) and every one of them still on disk."""
    video = video_among(record.local_files, video_name(record.model_id))
    return video is not None and all(Path(f).is_file() for f in record.local_files)


def ledger_view(ledger: Ledger, batch: BatchFile) -> dict[str, str]:
    """What the ledger already knows of each item (``--dry-run``): key -> status.

    Read-only: a batch never run is not created here.
    """
    found: dict[str, str] = {}
    with contextlib.suppress(NovaReelError):
        for record in ledger.list_batches():
            if record.identity != batch.identity:
                continue
            for item in batch.items:
                latest = ledger.latest_attempt(record.id, item.key)
                if latest is None:
                    continue
                recorded = content_hash(latest.request, latest.output_uri or "", latest.tags)
                found[item.key] = "changed" if recorded != item.content_hash else latest.status
    return found
