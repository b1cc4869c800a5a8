"""``Ledger.reserve``: the identical-request lookup, the budget check and the new row
in one write transaction, backed by the UNIQUE ``dedupe_key`` of m010."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from novareel.foundation.errors import BudgetExceededError, LedgerError
from novareel.ledger import Ledger
from novareel.ledger.db import connect
from novareel.ledger.migrations import MIGRATIONS, migrate

FP = "f" * 64
ARN = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/"


def _intent(token: str, **extra: Any) -> dict[str, Any]:
    return {
        "client_token": token,
        "model_id": "amazon.nova-reel-v1:1",
        "task_type": "TEXT_VIDEO",
        "request": {"taskType": "TEXT_VIDEO", "textToVideoParams": {"text": "a kite"}},
        "output_uri": "s3://b/v/",
        "duration_seconds": 6,
        "seed": 42,
        "estimated_cost_usd": 0.48,
        "fingerprint": FP,
        **extra,
    }


def _since() -> datetime:
    return datetime.now(timezone.utc) - timedelta(hours=24)


def test_an_identical_live_job_is_returned_and_nothing_is_written(ledger: Ledger) -> None:
    first = ledger.reserve(**_intent("t1"), identical_since=_since())
    assert first.created and not first.identical
    second = ledger.reserve(**_intent("t2"), identical_since=_since())
    assert second.identical and not second.created
    assert second.record.id == first.record.id
    assert [j.client_token for j in ledger.list_jobs()] == ["t1"]


def test_a_refusing_check_writes_nothing_and_runs_inside_the_transaction(
    ledger: Ledger,
) -> None:
    seen: list[bool] = []

    def refuse() -> None:
        seen.append(ledger.conn.in_transaction)
        raise BudgetExceededError("over", limit="daily", asked_usd=1, limit_usd=1, spent_usd=1)

    with pytest.raises(BudgetExceededError):
        ledger.reserve(**_intent("t1"), identical_since=_since(), check=refuse)
    assert seen == [True]
    assert ledger.list_jobs() == []
    assert not ledger.conn.in_transaction


def test_the_check_reads_reserved_rows_of_other_writers(tmp_path: Path) -> None:
    """A Submitting row (no ARN yet) of another connection counts in budget spend."""
    path = tmp_path / "shared.db"
    with Ledger(path) as one, Ledger(path) as two:
        one.reserve(**_intent("t1", fingerprint=None))
        day = datetime.now(timezone.utc) - timedelta(hours=1)
        rows = two.spend(since=day, reserved=True)
        assert sum(r.usd for r in rows) == pytest.approx(0.48)
        assert two.spend(since=day) == []  # `novareel spend` shows accepted jobs only
        two.mark_rejected(1, message="refused", failure_type="ValidationException")
        assert one.spend(since=day, reserved=True) == []  # a refusal releases it


def test_again_moves_the_key_to_the_new_row(ledger: Ledger) -> None:
    first = ledger.reserve(**_intent("t1"), identical_since=_since())
    again = ledger.reserve(**_intent("t2"))  # no lookup: pays on purpose
    assert again.created
    keys = dict(ledger.conn.execute("SELECT client_token, dedupe_key FROM jobs").fetchall())
    assert keys == {"t1": None, "t2": FP}
    # The newest holder is what the next identical request attaches to.
    third = ledger.reserve(**_intent("t3"), identical_since=_since())
    assert third.identical and third.record.id == again.record.id != first.record.id


def test_the_unique_index_refuses_a_second_live_holder(ledger: Ledger) -> None:
    ledger.reserve(**_intent("t1"))
    with pytest.raises(sqlite3.IntegrityError, match="dedupe_key"):
        ledger.conn.execute(
            "INSERT INTO jobs (client_token, model_id, task_type, status, created_at,"
            " updated_at, fingerprint, dedupe_key) VALUES ('t9', 'm', 'TEXT_VIDEO',"
            " 'Submitting', 'x', 'x', ?, ?)",
            (FP, FP),
        )


def test_a_failed_holder_gives_way_to_a_new_job(ledger: Ledger) -> None:
    first = ledger.reserve(**_intent("t1"), identical_since=_since())
    ledger.mark_submitted(first.record.id, invocation_arn=ARN + "a" * 12, submit_time=None)
    ledger.record_status(first.record.id, "Failed", failure_message="boom")
    second = ledger.reserve(**_intent("t2"), identical_since=_since())
    assert second.created and second.record.id != first.record.id


def test_threads_on_separate_connections_reserve_one_job(tmp_path: Path) -> None:
    """Twelve connections race for one request: one row, everyone gets that row."""
    path = tmp_path / "race.db"
    Ledger(path).close()
    barrier = threading.Barrier(12)
    ids: list[int] = []

    def race(n: int) -> None:
        with Ledger(path) as mine:
            barrier.wait()
            ids.append(mine.reserve(**_intent(f"t{n}"), identical_since=_since()).record.id)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1 and len(ids) == 12
    with Ledger(path) as check:
        assert len(check.list_jobs()) == 1


def test_m010_migrates_a_ledger_with_duplicate_live_fingerprints(tmp_path: Path) -> None:
    """Before m010 two identical commands could both record a row: the ledger still
    migrates, and the newest row of each fingerprint holds the key."""
    path = tmp_path / "old.db"
    conn = connect(path)
    migrate(conn, [m for m in MIGRATIONS if m.name < "m010"])
    for n in (1, 2, 3):
        conn.execute(
            "INSERT INTO jobs (id, client_token, model_id, task_type, status, created_at,"
            " updated_at, fingerprint) VALUES (?, ?, 'amazon.nova-reel-v1:1', 'TEXT_VIDEO',"
            " 'InProgress', '2026-12-01T00:00:00.000000Z', '2026-12-01T00:00:00.000000Z', ?)",
            (n, f"old-{n}", FP if n < 3 else "other"),
        )
    conn.close()
    with Ledger(path) as ledger:
        keys = dict(ledger.conn.execute("SELECT id, dedupe_key FROM jobs").fetchall())
        assert keys == {1: None, 2: FP, 3: "other"}


def test_add_intent_still_returns_the_row_of_a_known_token(ledger: Ledger) -> None:
    first = ledger.add_intent(**_intent("t1"))
    assert ledger.add_intent(**_intent("t1")).id == first.id
    with pytest.raises(LedgerError):
        ledger.add_intent(**_intent(""))
