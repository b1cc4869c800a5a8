"""The ledger keeps each finished job's generation time in real-service seconds (m008)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tests.helpers import record_timed_job
from tests.ledger.conftest import ARN_PREFIX
from tests.pg import SQLITE_ONLY

from novareel.ledger import Ledger
from novareel.ledger.migrations import MIGRATIONS, migrate

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
LOCAL = "http://127.0.0.1:5899"


def test_a_local_job_is_scaled_back_by_the_emulator_speed(ledger: Ledger) -> None:
    """0.15 s of wall time at speed 500 is 75 s on the real service."""
    record = record_timed_job(ledger, 0.15, endpoint=LOCAL, time_scale=500.0)
    assert record.generation_seconds is not None
    assert abs(record.generation_seconds - 75.0) < 1e-6
    assert record.time_scale == 500.0
    assert ledger.get(record.id).generation_seconds == record.generation_seconds


def test_an_aws_job_keeps_its_own_seconds(ledger: Ledger) -> None:
    record = record_timed_job(ledger, 131.0)
    assert record.generation_seconds == 131.0
    assert record.time_scale == 1.0


def test_service_submit_time_wins_over_the_recorded_one(ledger: Ledger) -> None:
    job = ledger.add_intent(
        client_token="tok-1", model_id="m", task_type="TEXT_VIDEO", request={},
        output_uri=None, duration_seconds=6, seed=None, estimated_cost_usd=None,
    )  # fmt: skip
    # The row's submit time is this machine's clock, 5 s late; the service's is T0.
    ledger.mark_submitted(
        job.id, invocation_arn=ARN_PREFIX + "aaaaaaaaaaaa", submit_time=T0 + timedelta(seconds=5)
    )
    done = ledger.record_status(
        job.id, "Completed", end_time=T0 + timedelta(seconds=90), submit_time=T0
    )
    assert done.generation_seconds == 90.0
    # Without the service's submit time, the recorded one is used.
    other = ledger.add_intent(
        client_token="tok-2", model_id="m", task_type="TEXT_VIDEO", request={},
        output_uri=None, duration_seconds=6, seed=None, estimated_cost_usd=None,
    )  # fmt: skip
    ledger.mark_submitted(other.id, invocation_arn=ARN_PREFIX + "bbbbbbbbbbbb", submit_time=T0)
    done = ledger.record_status(other.id, "Completed", end_time=T0 + timedelta(seconds=80))
    assert done.generation_seconds == 80.0


def test_nothing_is_learned_without_the_service_end_time_or_from_failures(
    ledger: Ledger,
) -> None:
    seen_only = ledger.add_intent(
        client_token="tok-3", model_id="m", task_type="TEXT_VIDEO", request={},
        output_uri=None, duration_seconds=6, seed=None, estimated_cost_usd=None,
    )  # fmt: skip
    ledger.mark_submitted(seen_only.id, invocation_arn=ARN_PREFIX + "cccccccccccc", submit_time=T0)
    # A poll's own clock is not the service's end time: not learned.
    done = ledger.record_status(seen_only.id, "Completed", at=T0 + timedelta(seconds=70))
    assert done.end_time is not None
    assert done.generation_seconds is None
    failed = ledger.add_intent(
        client_token="tok-4", model_id="m", task_type="TEXT_VIDEO", request={},
        output_uri=None, duration_seconds=6, seed=None, estimated_cost_usd=None,
    )  # fmt: skip
    ledger.mark_submitted(failed.id, invocation_arn=ARN_PREFIX + "dddddddddddd", submit_time=T0)
    out = ledger.record_status(failed.id, "Failed", end_time=T0 + timedelta(seconds=20))
    assert out.generation_seconds is None


def test_adopted_jobs_are_not_learned_from(ledger: Ledger) -> None:
    record, created = ledger.adopt(
        invocation_arn=ARN_PREFIX + "eeeeeeeeeeee", model_id="m", status="Completed",
        submit_time=T0, end_time=T0 + timedelta(seconds=60), output_uri=None,
        client_token=None, failure_message=None,
    )  # fmt: skip
    assert created
    assert record.generation_seconds is None
    assert ledger.generation_times("m", None, None, limit=20) == []


def test_the_first_recorded_time_stays(ledger: Ledger) -> None:
    record = record_timed_job(ledger, 50.0, ended_at=T0)
    again = ledger.record_status(
        record.id, "Completed", end_time=T0, submit_time=T0 - timedelta(seconds=999)
    )
    assert again.generation_seconds == 50.0


def test_generation_times_filter_by_model_length_and_endpoint_newest_first(
    ledger: Ledger,
) -> None:
    for i, seconds in enumerate((70.0, 80.0, 90.0)):
        record_timed_job(ledger, seconds, ended_at=T0 + timedelta(minutes=i))
    record_timed_job(ledger, 999.0, duration=12, ended_at=T0)
    record_timed_job(ledger, 888.0, model_id="luma.ray-v2:0", duration=6, ended_at=T0)
    record_timed_job(ledger, 0.1, endpoint=LOCAL, time_scale=500.0, ended_at=T0)
    nova = "amazon.nova-reel-v1:1"
    assert ledger.generation_times(nova, 6, None, limit=20) == [90.0, 80.0, 70.0]
    assert ledger.generation_times(nova, 6, None, limit=2) == [90.0, 80.0]
    assert ledger.generation_times(nova, 12, None, limit=20) == [999.0]
    assert ledger.generation_times("luma.ray-v2:0", 6, None, limit=20) == [888.0]
    assert [round(s, 6) for s in ledger.generation_times(nova, 6, LOCAL, limit=20)] == [50.0]


@SQLITE_ONLY  # SQLite's EXPLAIN QUERY PLAN
def test_the_query_reads_the_index_without_sorting(ledger: Ledger) -> None:
    plan = " ".join(
        str(row[3])
        for row in ledger.conn.execute(
            "EXPLAIN QUERY PLAN SELECT generation_seconds FROM jobs"
            " WHERE model_id = ? AND duration_seconds IS ? AND endpoint IS ?"
            " AND generation_seconds IS NOT NULL ORDER BY end_time DESC LIMIT ?",
            ("m", 6, None, 20),
        )
    )
    assert "jobs_generation_times" in plan
    assert "TEMP B-TREE" not in plan


def test_a_ledger_of_the_previous_schema_upgrades_with_its_rows_untimed(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    migrate(conn, MIGRATIONS[:-1])
    conn.execute(
        "INSERT INTO jobs (client_token, model_id, task_type, status, duration_seconds,"
        " created_at, submit_time, end_time, updated_at) VALUES ('old', 'm', 'TEXT_VIDEO',"
        " 'Completed', 6, '2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z',"
        " '2025-01-01T00:01:10.000000Z', '2025-01-01T00:01:10.000000Z')"
    )
    conn.commit()
    conn.close()
    with Ledger(path) as upgraded:
        (old,) = upgraded.list_jobs()
        assert old.generation_seconds is None
        assert upgraded.generation_times("m", 6, None, limit=20) == []
