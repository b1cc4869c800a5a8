"""Ledger.iter_jobs reads a page at a time; Ledger.write_batch is one transaction;
``jobs sync`` writes in batches and stays idempotent when stopped midway."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from itertools import islice
from types import SimpleNamespace
from typing import Any

import pytest

from novareel.client import InvocationStatus
from novareel.foundation.errors import LedgerError
from novareel.ledger import JobRecord, Ledger
from novareel.running.replay import SYNC_BATCH, sync_jobs

ARN_PREFIX = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/"

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def fill(ledger: Ledger, count: int, *, same_time: bool = False) -> None:
    """``count`` jobs written through the ledger's own transaction, by SQL (fast).

    Every third job is never submitted (listed by its creation time), every job has
    a tag and every fifth a file, so hydration has something to read; ``same_time``
    gives them all one time, so only the id orders them.
    """
    rows = []
    for i in range(count):
        at = T0 if same_time else T0 + timedelta(seconds=i)
        iso = at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        submitted = i % 3 != 0
        rows.append(
            (
                f"tok-{i}",
                f"{ARN_PREFIX}{i:012d}" if submitted else None,
                f"{i:012d}" if submitted else None,
                "Completed" if submitted else "Submitting",
                json.dumps({"textToVideoParams": {"text": f"job {i}"}}),
                iso,
                iso if submitted else None,
            )
        )
    with ledger.write_batch() as db:
        db.conn.executemany(
            "INSERT INTO jobs (client_token, invocation_arn, invocation_id, model_id,"
            " task_type, status, request_json, created_at, submit_time, updated_at)"
            " VALUES (?, ?, ?, 'amazon.nova-reel-v1:1', 'TEXT_VIDEO', ?, ?, ?, ?, ?6)",
            rows,
        )
        db.conn.execute("INSERT INTO job_tags SELECT id, 'project', 'p' || id FROM jobs")
        db.conn.execute(
            "INSERT INTO job_files (job_id, path, added_at)"
            " SELECT id, 'out/' || id || '.mp4', created_at FROM jobs WHERE id % 5 = 0"
        )


class Queries:
    """Counts the SQL statements a connection runs (``set_trace_callback``)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.statements: list[str] = []
        conn.set_trace_callback(self.statements.append)

    def count(self, needle: str) -> int:
        return sum(needle in s for s in self.statements)


def test_iter_jobs_reads_the_first_rows_without_reading_the_rest(ledger: Ledger) -> None:
    fill(ledger, 5000)
    queries = Queries(ledger.conn)
    jobs = ledger.iter_jobs(chunk=500)
    first = list(islice(jobs, 10))
    assert [j.id for j in first] == list(range(5000, 4990, -1))
    # one page of jobs, its tags and its files: not 5,000 rows, not 10 pages
    assert queries.count("FROM jobs") == 1
    assert queries.count("FROM job_tags") == 1
    assert queries.count("FROM job_files") == 1
    assert first[0].tags == {"project": "p5000"} and first[0].local_files == ["out/5000.mp4"]
    list(islice(jobs, 490))  # the rest of the first page: no new query
    assert queries.count("FROM jobs") == 1
    next(jobs)  # row 501 needs the second page
    assert queries.count("FROM jobs") == 2


def test_iter_jobs_is_list_jobs_page_by_page(ledger: Ledger, add: Callable[..., JobRecord]) -> None:
    fill(ledger, 300)
    batch = ledger.get_or_create_batch(identity="b", file_path="b.yaml", defaults={})
    for n in range(7):
        add(f"batch-{n}", batch_id=batch.id, batch_item=str(n))
    since = T0 + timedelta(seconds=100)
    cases: list[dict[str, Any]] = [
        {},
        {"limit": 177},
        {"limit": 0},
        {"status": "Completed"},
        {"status": ["Submitting", "Completed"], "limit": 133},
        {"since": since},
        {"since": since, "until": since + timedelta(seconds=100)},
        {"batch_id": batch.id},
    ]
    for filters in cases:
        for chunk in (7, 64, 500):
            streamed = [j.to_dict() for j in ledger.iter_jobs(chunk=chunk, **filters)]
            assert streamed == [j.to_dict() for j in ledger.list_jobs(**filters)], filters


def test_iter_jobs_pages_through_rows_of_the_same_time_by_id(ledger: Ledger) -> None:
    fill(ledger, 1000, same_time=True)
    ids = [j.id for j in ledger.iter_jobs(chunk=64)]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 1000


def test_iter_jobs_refuses_an_empty_page(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="chunk"):
        next(ledger.iter_jobs(chunk=0))


def test_write_batch_is_one_transaction_all_or_nothing(
    ledger: Ledger, add: Callable[..., JobRecord]
) -> None:
    queries = Queries(ledger.conn)
    with ledger.write_batch():
        for n in range(20):
            add(f"many-{n}")
    assert queries.count("BEGIN") == 1 and queries.count("COMMIT") == 1
    with pytest.raises(RuntimeError), ledger.write_batch():
        add("lost-1")
        add("lost-2")
        raise RuntimeError("stopped")
    assert len(ledger.list_jobs()) == 20
    assert ledger.find("lost-1") is None


def summaries(count: int) -> list[InvocationStatus]:
    return [
        InvocationStatus(
            invocation_arn=f"{ARN_PREFIX}{i:012d}",
            status="Completed" if i % 2 else "InProgress",
            model_arn="arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-reel-v1:1",
            submit_time=T0 + timedelta(seconds=i),
            end_time=T0 + timedelta(seconds=i + 90) if i % 2 else None,
            output_uri=f"s3://bucket/{i}/",
            client_token=f"sync-{i}",
        )
        for i in range(count)
    ]


def state(ledger: Ledger) -> list[tuple[Any, ...]]:
    """What a sync leaves, without the times of this machine's clock."""
    rows = ledger.conn.execute(
        "SELECT id, client_token, invocation_arn, status, submit_time, end_time, output_uri"
        " FROM jobs ORDER BY id"
    )
    events = ledger.conn.execute("SELECT job_id, status, at, detail FROM status_events ORDER BY id")
    return [tuple(r) for r in rows] + [tuple(e) for e in events]


def test_sync_writes_a_transaction_per_batch_and_stays_idempotent(
    ledger: Ledger, tmp_path: Any
) -> None:
    api = SimpleNamespace(ledger=ledger)
    listed = summaries(2 * SYNC_BATCH + 50)
    queries = Queries(ledger.conn)
    report = sync_jobs(api, summaries=listed)  # type: ignore[arg-type]
    assert len(report.adopted) == len(listed)
    assert queries.count("BEGIN IMMEDIATE") == 3  # 200 + 200 + 50, not 450
    after_one = state(ledger)
    again = sync_jobs(api, summaries=listed)  # type: ignore[arg-type]
    assert again.adopted == [] and again.updated == [] and again.unchanged == len(listed)
    assert state(ledger) == after_one

    # The same sync, stopped in the middle of its second batch, then run again.
    with Ledger(tmp_path / "other.db") as other:
        other_api = SimpleNamespace(ledger=other)
        real_adopt = other.adopt
        calls = 0

        def adopt_then_die(**kwargs: Any) -> tuple[JobRecord, bool]:
            nonlocal calls
            calls += 1
            if calls == SYNC_BATCH + 30:
                raise KeyboardInterrupt
            return real_adopt(**kwargs)

        other.adopt = adopt_then_die  # type: ignore[method-assign]
        with pytest.raises(KeyboardInterrupt):
            sync_jobs(other_api, summaries=listed)  # type: ignore[arg-type]
        # the first batch is kept whole, the interrupted one is rolled back whole
        assert len(other.list_jobs()) == SYNC_BATCH
        other.adopt = real_adopt  # type: ignore[method-assign]
        rerun = sync_jobs(other_api, summaries=listed)  # type: ignore[arg-type]
        assert len(rerun.adopted) == len(listed) - SYNC_BATCH
        assert state(other) == after_one


def test_sync_reads_the_service_outside_the_transaction(ledger: Ledger) -> None:
    """The next page of ListAsyncInvokes is fetched while no write lock is held."""
    listed = summaries(SYNC_BATCH + 1)

    def paged() -> Iterator[InvocationStatus]:
        for item in listed:
            assert not ledger.conn.in_transaction
            yield item

    report = sync_jobs(SimpleNamespace(ledger=ledger), summaries=paged())  # type: ignore[arg-type]
    assert report.seen == SYNC_BATCH + 1
