"""``novareel review``: a finished video judged by Amazon Nova 2 Lite through InvokeModel.

:mod:`.prompt` builds the body (the seed's ``messages-v1`` shape) and parses the
answer; :mod:`.run` plans (price before any call), reserves in the ledger with the
budget check, calls once and records. See ``docs/qa.md``.
"""

from __future__ import annotations

from novareel.review.prompt import Verdict, parse_verdict
from novareel.review.run import (
    ReviewOutcome,
    ReviewPlan,
    plan_review,
    review_jobs,
    review_video,
    run_review,
)

__all__ = [
    "ReviewOutcome",
    "ReviewPlan",
    "Verdict",
    "parse_verdict",
    "plan_review",
    "review_jobs",
    "review_video",
    "run_review",
]
