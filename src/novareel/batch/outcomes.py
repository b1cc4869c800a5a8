"""What a run reports: each item's phase, its events, its outcome, the summary.

:class:`ItemPhase` names where an item is in the runner's state machine;
:class:`BatchEvent` is one change of one item (for progress displays),
:class:`ItemOutcome` how an item ended, and :class:`BatchSummary` the whole run
(what the CLI prints, and its ``--json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from novareel.foundation.results import Failure, video_among

__all__ = ["BatchEvent", "BatchSummary", "ItemOutcome", "ItemPhase"]


class ItemPhase(str, Enum):
    """Where an item is in its life; ``DONE``, ``FAILED`` and ``CHANGED`` are final."""

    PENDING = "pending"
    SUBMITTING = "submitting"
    IN_FLIGHT = "in flight"
    DOWNLOADING = "downloading"
    DONE = "done"
    FAILED = "failed"
    CHANGED = "changed"

    def __str__(self) -> str:
        return self.value

    @property
    def final(self) -> bool:
        return self in (ItemPhase.DONE, ItemPhase.FAILED, ItemPhase.CHANGED)


@dataclass(frozen=True)
class BatchEvent:
    """One change of one item, for progress displays (``on_event``)."""

    number: int
    key: str
    phase: ItemPhase
    attempt: int
    job_id: int | None
    invocation_id: str | None
    message: str = ""


@dataclass(frozen=True)
class ItemOutcome:
    """How one item ended (or where it stands, if the run stopped before the end)."""

    number: int
    key: str
    phase: ItemPhase
    attempts: int
    job_id: int | None
    invocation_id: str | None
    task_type: str
    estimated_cost_usd: float
    local_dir: str | None = None
    local_files: tuple[str, ...] = ()
    failure: Failure | None = None
    message: str = ""
    #: what a person should read about the item before paying (a converted image,
    #: prompt advice, a fixed output URI), as its BatchItem said it
    notices: tuple[str, ...] = ()
    #: the `novareel qa` verdict of the item's video, from the ledger (None: not checked)
    qa: dict[str, Any] | None = None

    @property
    def video_path(self) -> str | None:
        return video_among(self.local_files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "key": self.key,
            "status": self.phase.value,
            "attempts": self.attempts,
            "job_id": self.job_id,
            "invocation_id": self.invocation_id,
            "task_type": self.task_type,
            "estimated_cost_usd": self.estimated_cost_usd,
            "local_dir": self.local_dir,
            "video_path": self.video_path,
            "failure": self.failure.to_dict() if self.failure else None,
            "message": self.message,
            "notices": list(self.notices),
            "qa": self.qa,
        }


@dataclass(frozen=True)
class BatchSummary:
    """The end of a run: every item's outcome, and what was spent."""

    batch_id: int
    file: str
    items: tuple[ItemOutcome, ...]
    cost_usd: float
    submitted_cost_usd: float
    concurrency_limit: int
    timed_out: bool = False
    notices: tuple[str, ...] = field(default=())
    #: why the run stopped submitting before the end (a budget's refusal, as a dict)
    budget_stop: dict[str, Any] | None = None

    def _count(self, phase: ItemPhase) -> int:
        return sum(1 for i in self.items if i.phase is phase)

    @property
    def done(self) -> int:
        return self._count(ItemPhase.DONE)

    @property
    def failed(self) -> int:
        return self._count(ItemPhase.FAILED)

    @property
    def changed(self) -> int:
        return self._count(ItemPhase.CHANGED)

    @property
    def unfinished(self) -> int:
        return sum(1 for i in self.items if not i.phase.final)

    @property
    def ok(self) -> bool:
        """True when every item is done (the CLI exits 0)."""
        return all(i.phase is ItemPhase.DONE for i in self.items)

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "file": self.file,
            "total": len(self.items),
            "done": self.done,
            "failed": self.failed,
            "changed": self.changed,
            "unfinished": self.unfinished,
            "cost_usd": self.cost_usd,
            "submitted_cost_usd": self.submitted_cost_usd,
            "concurrency_limit": self.concurrency_limit,
            "timed_out": self.timed_out,
            "budget_stop": self.budget_stop,
            "notices": list(self.notices),
            "items": [i.to_dict() for i in self.items],
        }
