"""Reviews in the ledger (m015), on both backends: reserved with the budget check in one
transaction, finished with the service's counts, counted by spend like jobs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from novareel.foundation.errors import BudgetExceededError
from novareel.ledger import JobRecord, Ledger

LITE = "amazon.nova-2-lite-v1:0"


def reserve(ledger: Ledger, job_id: int | None, estimate: float, **kw: object) -> int:
    return ledger.reserve_review(
        job_id=job_id,
        video="s3://b/v/abc/output.mp4",
        model_id=LITE,
        invoke_id="us." + LITE,
        endpoint=None,
        estimated_cost_usd=estimate,
        question=None,
        **kw,  # type: ignore[arg-type]
    )


def test_reviews_count_in_spend_reserved_then_at_their_cost(
    ledger: Ledger, add: Callable[..., JobRecord]
) -> None:
    job = add("job-1")
    first = reserve(ledger, job.id, 0.005)
    # Submitting: reserved at its estimate for budgets, not yet spent.
    assert LITE not in {r.model_id for r in ledger.spend(group_by=("model",))}
    reserved = {r.model_id: r for r in ledger.spend(group_by=("model",), reserved=True)}
    assert reserved[LITE].usd == pytest.approx(0.005)
    ledger.finish_review(
        first,
        status="Completed",
        cost_usd=0.0012,
        input_tokens=2000,
        output_tokens=240,
        answer="{}",
        result={"elements": [], "summary": "ok"},
    )
    refused = reserve(ledger, job.id, 0.005)
    ledger.finish_review(refused, status="Failed", error="AccessDeniedException")
    spent = {r.model_id: r for r in ledger.spend(group_by=("model",))}
    assert spent[LITE].usd == pytest.approx(0.0012) and spent[LITE].jobs == 1
    reviews = ledger.reviews_of(job.id)
    assert [r.status for r in reviews] == ["Failed", "Completed"]
    assert reviews[1].result == {"elements": [], "summary": "ok"}
    assert reviews[1].to_dict()["verdict"] == {"elements": [], "summary": "ok"}
    assert ledger.latest_reviews([job.id])[job.id].id == first


def test_a_refusing_check_writes_no_row(ledger: Ledger, add: Callable[..., JobRecord]) -> None:
    job = add("job-2")

    def refuse() -> None:
        raise BudgetExceededError(
            "over", limit="daily", asked_usd=0.005, limit_usd=0.0, spent_usd=0.0
        )

    with pytest.raises(BudgetExceededError):
        reserve(ledger, job.id, 0.005, check=refuse)
    assert ledger.reviews_of(job.id) == []
