"""Spend summed in SQL, on both backends: what counts, grouped by day, model, batch
and endpoint, unpriced jobs counted (SQLite adds booleans; PostgreSQL is told to)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from tests.ledger.conftest import ARN_PREFIX

from novareel.foundation.errors import LedgerError
from novareel.ledger import JobRecord, Ledger

AddJob = Callable[..., JobRecord]
DAY1 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
DAY2 = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
LOCAL = "http://127.0.0.1:5899"


def _accepted(ledger: Ledger, add: AddJob, token: str, when: datetime, **fields: object) -> int:
    job = add(token, **fields)
    ledger.mark_submitted(job.id, invocation_arn=f"{ARN_PREFIX}{token:0>12}", submit_time=when)
    return job.id


def test_only_accepted_jobs_count_grouped_by_day_model_and_endpoint(
    ledger: Ledger, add: AddJob
) -> None:
    _accepted(ledger, add, "a", DAY1)
    _accepted(ledger, add, "b", DAY1, model_id="luma.ray-v2:0", estimated_cost_usd=1.5)
    failed = _accepted(ledger, add, "c", DAY2)
    ledger.record_status(failed, "Failed", failure_type="INTERNAL_SERVER_EXCEPTION")
    _accepted(ledger, add, "d", DAY2, endpoint=LOCAL)
    _accepted(ledger, add, "e", DAY2, estimated_cost_usd=None)
    add("never-answered")  # Submitting: not counted
    rejected = add("refused")
    ledger.mark_rejected(rejected.id, message="ValidationException")  # no job: not counted

    total = ledger.spend()
    assert [(r.endpoint, r.jobs, round(r.usd, 6), r.unpriced) for r in total] == [
        (None, 4, round(0.48 + 1.5 + 0.48, 6), 1),
        (LOCAL, 1, 0.48, 0),
    ]
    assert all(isinstance(r.usd, float) and isinstance(r.jobs, int) for r in total)
    by_day = ledger.spend(group_by=["day"])
    assert [(r.day, r.endpoint, r.jobs) for r in by_day] == [
        ("2026-03-01", None, 2),
        ("2026-03-02", None, 2),
        ("2026-03-02", LOCAL, 1),
    ]
    by_model = ledger.spend(group_by=["model"], since=DAY2)
    assert [(r.model_id, r.endpoint, r.jobs, r.unpriced) for r in by_model] == [
        ("amazon.nova-reel-v1:1", None, 2, 1),
        ("amazon.nova-reel-v1:1", LOCAL, 1, 0),
    ]
    assert [r.jobs for r in ledger.spend(until=DAY2)] == [2]


def test_spend_by_batch(ledger: Ledger, add: AddJob) -> None:
    batch = ledger.get_or_create_batch(identity="b", file_path="/b.yaml", defaults={})
    _accepted(ledger, add, "in-batch", DAY1, batch_id=batch.id, batch_item="0")
    _accepted(ledger, add, "alone", DAY1)
    rows = ledger.spend(group_by=["batch"])
    assert [(r.batch_id, r.jobs) for r in rows] == [(batch.id, 1), (None, 1)] or [
        (r.batch_id, r.jobs) for r in rows
    ] == [(None, 1), (batch.id, 1)]


def test_an_unknown_grouping_is_refused(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="cannot group spend by 'week'"):
        ledger.spend(group_by=["week"])
