"""How long a new job should take: learned from the user's own jobs, else the prior.

Each model family holds a fixed prior for its generation time (Nova Reel's seed-lab
points, Luma Ray 2's guess), but real jobs run 1x to 2x any fixed table, and the
waiter and the batch scheduler poll densely exactly around the expected end. So once
a few jobs of the same model and video length have finished on the same endpoint,
novareel expects what *they* took: the median of the latest :data:`LEARN_FROM_LAST`
(robust to the odd job that queued for minutes), as soon as :data:`LEARN_AFTER` exist.

The ledger records each finished job's ``generation_seconds`` (end minus submit as the
service reported them, times the emulator's speed for a local job, so always in
real-service seconds; see :meth:`novareel.ledger.Ledger.record_status`). Endpoints are
kept apart: AWS (``endpoint`` None) and a local emulator are different worlds, and one
never teaches the other.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from novareel.foundation.errors import LedgerError
from novareel.models import VideoShape, expected_generation_seconds, find_model

if TYPE_CHECKING:
    from novareel.ledger import Ledger

log = logging.getLogger("novareel")

#: How many of the latest timed jobs of a kind are looked at (recent jobs say more
#: about today's service than old ones).
LEARN_FROM_LAST = 20
#: How many timed jobs of a kind it takes before they replace the prior: fewer say
#: too little (one job that queued would double every later expectation).
LEARN_AFTER = 3


@dataclass(frozen=True)
class Expectation:
    """A job's expected generation time on the real service, and where it came from."""

    #: Seconds on the real service (divide by the emulator's speed for wall time).
    seconds: float
    #: Said to the user: ``"learned from 7 jobs (median)"`` or
    #: ``"built-in prior (seed lab 2025)"``.
    source: str
    #: How many of the user's jobs the figure rests on (0: the prior).
    samples: int
    #: The model's built-in prior, for comparison.
    prior_seconds: float

    @property
    def learned(self) -> bool:
        """True when the figure comes from the user's own jobs."""
        return self.samples > 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, as ``generate --dry-run --json`` reports it."""
        return {
            "expected_generation_seconds": round(self.seconds, 1),
            "expected_source": self.source,
        }


def robust_estimate(times: Sequence[float]) -> float:
    """The median: one job that waited in a queue does not move it."""
    return float(statistics.median(times))


def prior_source(model_id: str | None) -> str:
    """Where the prior of ``model_id`` comes from, in words."""
    model = find_model(model_id)
    if model is None:
        return "built-in prior (slowest model's, model unknown)"
    return f"built-in prior ({model.family.generation_prior_source})"


def prior(model_id: str | None, shape: VideoShape) -> Expectation:
    """The model family's fixed prior (nothing learned)."""
    seconds = expected_generation_seconds(model_id, shape)
    return Expectation(seconds, prior_source(model_id), 0, seconds)


def video_length(shape: VideoShape) -> int:
    """The ledger's key for a video's length (its ``duration_seconds``)."""
    return round(shape.seconds)


def expect(
    ledger: Ledger | None,
    model_id: str | None,
    shape: VideoShape,
    *,
    endpoint: str | None,
    last: int = LEARN_FROM_LAST,
    after: int = LEARN_AFTER,
) -> Expectation:
    """How long a new job of this model and video length should take on ``endpoint``
    (None: AWS's own), in real-service seconds.

    The median of the latest ``last`` timed jobs of the same model, length and
    endpoint once ``after`` of them exist; the prior before that, without a ledger, or
    when the ledger cannot be read (an expectation never stops a wait).
    """
    base = prior(model_id, shape)
    if ledger is None or model_id is None:
        return base
    try:
        times = ledger.generation_times(model_id, video_length(shape), endpoint, limit=last)
    except LedgerError as exc:
        log.info("expectations: cannot read the ledger (%s); using the prior", exc)
        return base
    if len(times) < max(after, 1):
        return base
    return Expectation(
        robust_estimate(times),
        f"learned from {len(times)} jobs (median)",
        len(times),
        base.seconds,
    )


__all__ = [
    "LEARN_AFTER",
    "LEARN_FROM_LAST",
    "Expectation",
    "expect",
    "prior",
    "prior_source",
    "robust_estimate",
    "video_length",
]
