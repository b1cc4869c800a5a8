"""Batches: one identity per file, one row per (item, attempt), retries linked."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable

import pytest

from novareel.foundation.errors import LedgerError
from novareel.ledger import JobRecord, Ledger

AddJob = Callable[..., JobRecord]


def _identity(path: str) -> str:
    return hashlib.sha256(path.encode()).hexdigest()


def test_get_or_create_batch_returns_the_same_batch_on_rerun(ledger: Ledger) -> None:
    first = ledger.get_or_create_batch(
        identity=_identity("/work/shots.yaml"),
        file_path="/work/shots.yaml",
        defaults={"model_id": "amazon.nova-reel-v1:1", "seed": 7},
    )
    again = ledger.get_or_create_batch(
        identity=_identity("/work/shots.yaml"), file_path="/work/shots.yaml", defaults={}
    )
    assert again == first
    assert first.defaults == {"model_id": "amazon.nova-reel-v1:1", "seed": 7}
    other = ledger.get_or_create_batch(
        identity=_identity("/work/other.yaml"), file_path="/work/other.yaml", defaults={}
    )
    assert other.id != first.id
    assert [b.id for b in ledger.list_batches()] == [other.id, first.id]
    assert ledger.get_batch(first.id) == first


def test_same_item_and_attempt_cannot_be_recorded_twice(add: AddJob, ledger: Ledger) -> None:
    batch = ledger.get_or_create_batch(identity="b1", file_path="/b.yaml", defaults={})
    add("tok-a", batch_id=batch.id, batch_item="intro")
    with pytest.raises(LedgerError, match="already"):
        add("tok-b", batch_id=batch.id, batch_item="intro")
    # Same token again is a resume, not a duplicate.
    assert add("tok-a", batch_id=batch.id, batch_item="intro").client_token == "tok-a"
    assert len(ledger.batch_jobs(batch.id)) == 1


def test_the_database_itself_enforces_item_uniqueness(add: AddJob, ledger: Ledger) -> None:
    batch = ledger.get_or_create_batch(identity="b1", file_path="/b.yaml", defaults={})
    add("tok-a", batch_id=batch.id, batch_item="0")
    # sqlite3's IntegrityError on both backends: the adapter maps psycopg's onto the
    # DB-API classes the ledger catches.
    with pytest.raises(sqlite3.IntegrityError, match=r"(?i)unique"):
        ledger.conn.execute(
            "INSERT INTO jobs (client_token, model_id, task_type, status, created_at,"
            " updated_at, batch_id, batch_item, attempt)"
            " VALUES ('tok-z', 'm', 'TEXT_VIDEO', 'Submitting', 'x', 'x', ?, '0', 1)",
            (batch.id,),
        )


def test_retries_are_new_linked_attempts(add: AddJob, ledger: Ledger) -> None:
    batch = ledger.get_or_create_batch(identity="b1", file_path="/b.yaml", defaults={})
    first = add("tok-1", batch_id=batch.id, batch_item="intro")
    ledger.record_status(first.id, "Failed", failure_type="INTERNAL_SERVER_EXCEPTION")
    retry = add("tok-2", batch_id=batch.id, batch_item="intro", attempt=2, retry_of=first.id)
    add("tok-3", batch_id=batch.id, batch_item="outro")
    latest = ledger.latest_attempt(batch.id, "intro")
    assert latest is not None
    assert (latest.id, latest.attempt, latest.retry_of) == (retry.id, 2, first.id)
    assert ledger.latest_attempt(batch.id, "missing") is None
    assert [(j.batch_item, j.attempt) for j in ledger.batch_jobs(batch.id)] == [
        ("intro", 1),
        ("intro", 2),
        ("outro", 1),
    ]
    assert {j.id for j in ledger.list_jobs(batch_id=batch.id)} == {
        j.id for j in ledger.batch_jobs(batch.id)
    }


def test_links_must_point_at_existing_rows(add: AddJob) -> None:
    with pytest.raises(LedgerError):
        add("tok-1", retry_of=12345)
    with pytest.raises(LedgerError):
        add("tok-2", batch_id=999, batch_item="x")


def test_jobs_outside_batches_never_collide(add: AddJob, ledger: Ledger) -> None:
    add("tok-1")
    add("tok-2")
    assert len(ledger.list_jobs()) == 2
