"""Spend from the ledger (accepted AWS jobs only) and the standing budget's check."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from novareel.foundation.errors import BudgetExceededError, LedgerError
from novareel.ledger import Ledger
from novareel.limits.budget import (
    Budget,
    budget_status,
    check_standing_budget,
    period_bounds,
    spend_totals,
)
from tests.budget.helpers import LOCAL, seed

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=timezone.utc)
AWS = "https://bedrock-runtime.us-east-1.amazonaws.com"


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    with Ledger.open_default() as opened:
        yield opened


def test_spend_counts_only_jobs_the_service_accepted_on_aws(ledger: Ledger) -> None:
    seed(ledger, 1.00, status="Completed", at=NOW)
    seed(ledger, 2.00, status="Failed", at=NOW)  # a started job is paid, however it ends
    seed(ledger, 4.00, status="InProgress", at=NOW, endpoint=AWS)
    seed(ledger, 8.00, status="Submitting")  # no answer yet: not counted
    seed(ledger, 16.00, status="Rejected")  # refused: no job exists
    seed(ledger, 32.00, status="Completed", at=NOW, endpoint=LOCAL)  # the emulator: free
    totals = spend_totals(ledger.spend())
    assert (totals.aws_jobs, totals.aws_usd) == (3, 7.00)
    assert (totals.local_jobs, totals.local_usd) == (1, 32.00)
    assert totals.counted_usd() == 7.00
    assert totals.counted_usd(count_local=True) == 39.00


def test_spend_is_timed_by_submit_time_with_since_inclusive_until_exclusive(
    ledger: Ledger,
) -> None:
    day = timedelta(days=1)
    seed(ledger, 1.0, at=NOW - day)
    seed(ledger, 2.0, at=NOW)
    seed(ledger, 4.0, at=NOW + day)
    assert spend_totals(ledger.spend(since=NOW, until=NOW + day)).aws_usd == 2.0
    assert spend_totals(ledger.spend(since=NOW)).aws_usd == 6.0
    assert spend_totals(ledger.spend(until=NOW)).aws_usd == 1.0


def test_a_job_without_submit_time_counts_at_its_creation(ledger: Ledger) -> None:
    # Adopted by `jobs sync` without a submit time: no estimate either (unpriced).
    record, _ = ledger.adopt(
        invocation_arn="arn:aws:bedrock:us-east-1:123456789012:async-invoke/adopted00001",
        model_id="amazon.nova-reel-v1:1",
        status="Completed",
        submit_time=None,
        end_time=None,
        output_uri=None,
        client_token=None,
        failure_message=None,
    )
    assert record.submit_time is None
    rows = ledger.spend(since=record.created_at - timedelta(seconds=1), group_by=("day",))
    assert [(r.day, r.jobs, r.usd, r.unpriced) for r in rows] == [
        (record.created_at.strftime("%Y-%m-%d"), 1, 0.0, 1)
    ]


def test_spend_groups_by_day_model_and_batch_and_keeps_endpoints_apart(ledger: Ledger) -> None:
    batch = ledger.get_or_create_batch(identity="b1", file_path="/tmp/b.yaml", defaults={})
    seed(ledger, 0.48, at=NOW)
    seed(ledger, 0.48, at=NOW, batch_id=batch.id, batch_item="a")
    seed(ledger, 13.5, at=NOW - timedelta(days=1), model_id="luma.ray-v2:0")
    seed(ledger, 0.48, at=NOW, endpoint=LOCAL)
    by_day = ledger.spend(group_by=("day",))
    assert {(r.day, r.ran_locally): (r.jobs, r.usd) for r in by_day} == {
        ("2026-03-14", False): (1, 13.5),
        ("2026-03-15", False): (2, 0.96),
        ("2026-03-15", True): (1, 0.48),
    }
    by_model = {r.model_id: r.usd for r in ledger.spend(group_by=("model",)) if not r.ran_locally}
    assert by_model == {"amazon.nova-reel-v1:1": 0.96, "luma.ray-v2:0": 13.5}
    by_batch = {r.batch_id: r.jobs for r in ledger.spend(group_by=("batch",)) if not r.ran_locally}
    assert by_batch == {None: 2, batch.id: 1}
    with pytest.raises(LedgerError, match="cannot group spend by 'week'"):
        ledger.spend(group_by=("week",))


def test_period_bounds_are_utc_days_and_months() -> None:
    assert period_bounds("daily", NOW) == (
        "2026-03-15",
        datetime(2026, 3, 15, tzinfo=timezone.utc),
        datetime(2026, 3, 16, tzinfo=timezone.utc),
    )
    label, start, end = period_bounds("monthly", datetime(2026, 12, 31, 23, tzinfo=timezone.utc))
    assert (label, start.day, end) == ("2026-12", 1, datetime(2027, 1, 1, tzinfo=timezone.utc))


def test_budget_status_reports_spent_and_remaining_per_period(ledger: Ledger) -> None:
    seed(ledger, 3.0, at=NOW)
    seed(ledger, 5.0, at=NOW - timedelta(days=3))
    seed(ledger, 100.0, at=NOW - timedelta(days=40))  # last month
    budget = Budget(
        daily_usd=10.0, monthly_usd=50.0, sources={"daily_usd": "X", "monthly_usd": "Y"}
    )
    daily, monthly = budget_status(ledger, budget=budget, now=NOW)
    assert (daily.period, daily.spent_usd, daily.remaining_usd) == ("2026-03-15", 3.0, 7.0)
    assert (monthly.period, monthly.spent_usd, monthly.remaining_usd) == ("2026-03", 8.0, 42.0)
    assert daily.to_dict()["resets_at"] == "2026-03-16T00:00:00Z"


def test_the_daily_budget_refuses_what_would_cross_it_and_says_how_to_raise_it(
    ledger: Ledger,
) -> None:
    seed(ledger, 15.0, at=NOW)
    budget = Budget(daily_usd=20.0, sources={"daily_usd": "NOVAREEL_BUDGET_DAILY_USD"})
    check_standing_budget(ledger, 5.0, endpoint=None, budget=budget, now=NOW)  # exactly fits
    with pytest.raises(BudgetExceededError) as caught:
        check_standing_budget(ledger, 13.5, endpoint=None, budget=budget, now=NOW)
    err = caught.value
    assert (err.limit, err.asked_usd, err.limit_usd, err.spent_usd, err.remaining_usd) == (
        "daily",
        13.5,
        20.0,
        15.0,
        5.0,
    )
    assert err.period == "2026-03-15"
    assert "$13.50" in err.message and "$5.00 of the $20.00 daily budget" in err.message
    assert "nothing was sent" in err.message
    assert err.hint is not None
    assert "NOVAREEL_BUDGET_DAILY_USD=<USD>" in err.hint and "2026-03-16 00:00 UTC" in err.hint
    assert err.exit_code == 2


def test_the_monthly_budget_counts_the_whole_month(ledger: Ledger) -> None:
    seed(ledger, 190.0, at=NOW - timedelta(days=10))
    budget = Budget(daily_usd=100.0, monthly_usd=200.0)
    with pytest.raises(BudgetExceededError) as caught:
        check_standing_budget(ledger, 13.5, endpoint=AWS, budget=budget, now=NOW)
    assert caught.value.limit == "monthly" and caught.value.period == "2026-03"
    # Next month starts afresh.
    check_standing_budget(
        ledger, 13.5, endpoint=AWS, budget=budget, now=datetime(2026, 4, 1, tzinfo=timezone.utc)
    )


def test_a_local_job_is_never_refused_unless_rehearsing(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    from novareel.client import endpoint_identity

    # LOCAL answered as novareel's emulator (its identity header): nothing is asked
    monkeypatch.setattr(endpoint_identity, "_answers", {LOCAL: {"service": "novareel-emulator"}})
    seed(ledger, 50.0, at=NOW)  # the day's AWS budget is long gone
    budget = Budget(daily_usd=1.0)
    check_standing_budget(ledger, 13.5, endpoint=LOCAL, budget=budget, now=NOW)
    rehearsal = Budget(daily_usd=1.0, count_local=True)
    with pytest.raises(BudgetExceededError):
        check_standing_budget(ledger, 0.48, endpoint=LOCAL, budget=rehearsal, now=NOW)


def test_local_spend_counts_only_when_rehearsing(ledger: Ledger) -> None:
    seed(ledger, 0.96, at=NOW, endpoint=LOCAL)
    check_standing_budget(ledger, 0.48, endpoint=None, budget=Budget(daily_usd=1.0), now=NOW)
    with pytest.raises(BudgetExceededError):
        check_standing_budget(
            ledger, 0.48, endpoint=None, budget=Budget(daily_usd=1.0, count_local=True), now=NOW
        )


def test_no_ledger_checks_the_job_alone() -> None:
    check_standing_budget(None, 0.48, endpoint=None, budget=Budget(daily_usd=1.0), now=NOW)
    with pytest.raises(BudgetExceededError):
        check_standing_budget(None, 13.5, endpoint=None, budget=Budget(daily_usd=1.0), now=NOW)
