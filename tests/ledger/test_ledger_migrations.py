"""Migrations: from an empty ledger, and from every schema an earlier release left,
on both backends (the same migrations, translated for PostgreSQL by the adapter)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from novareel.foundation.errors import LedgerError
from novareel.ledger import Ledger
from novareel.ledger.backend import PgConnection, connect_target, table_exists
from novareel.ledger.migrations import MIGRATIONS, Migration, applied_migrations, migrate
from novareel.ledger.schema import schema_snapshot

NAMES = [m.name for m in MIGRATIONS]
ARN = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/old000000001"


TABLES = ["_migrations", "jobs", "status_events", "batches", "job_files", "job_tags"]


def _snapshot(conn: sqlite3.Connection) -> dict[str, object]:
    """The schema as the database describes it: SQLite's PRAGMAs, or PostgreSQL's
    catalogue (columns, indexes, constraints of the ledger's schema)."""
    if not isinstance(conn, PgConnection):
        return schema_snapshot(conn)
    here = "current_schema()"
    columns = conn.execute(
        "SELECT table_name, column_name, data_type, is_nullable, column_default,"
        " is_identity, collation_name FROM information_schema.columns"
        f" WHERE table_schema = {here} ORDER BY table_name, ordinal_position"
    ).fetchall()
    indexes = conn.execute(
        "SELECT tablename, indexname, indexdef FROM pg_indexes"
        f" WHERE schemaname = {here} ORDER BY tablename, indexname"
    ).fetchall()
    constraints = conn.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
        f" WHERE connamespace = {here}::regnamespace ORDER BY 1, 2"
    ).fetchall()
    schema = str(conn.execute(f"SELECT {here}").fetchone()[0])
    return {
        "columns": [tuple(r) for r in columns],
        "indexes": [tuple(str(v).replace(f"{schema}.", "") for v in r) for r in indexes],
        "constraints": [tuple(r) for r in constraints],
    }


def _fresh_snapshot(where: Path | str) -> dict[str, object]:
    conn = connect_target(where)
    migrate(conn)
    snap = _snapshot(conn)
    conn.close()
    return snap


def test_migrations_are_named_in_order_and_there_are_several() -> None:
    assert len(NAMES) >= 2
    assert all(re.fullmatch(r"m\d{3}_[a-z0-9_]+", n) for n in NAMES)
    assert sorted(NAMES) == NAMES
    assert len(set(NAMES)) == len(NAMES)
    assert all(m.summary for m in MIGRATIONS)


def test_empty_file_is_migrated_fully_and_recorded(target: Path | str) -> None:
    with Ledger(target) as ledger:
        assert applied_migrations(ledger.conn) == NAMES
        assert all(table_exists(ledger.conn, t) for t in TABLES)
        assert not table_exists(ledger.conn, "no_such_table")
    # Opening again applies nothing new.
    conn = connect_target(target)
    assert migrate(conn) == []
    conn.close()


def _seed(conn: sqlite3.Connection, applied: int) -> None:
    """Insert rows as a release with only the first ``applied`` migrations would have."""
    if applied >= 1:
        conn.execute(
            "INSERT INTO jobs (id, client_token, invocation_arn, invocation_id, model_id,"
            " task_type, request_json, output_uri, status, duration_seconds, seed,"
            " estimated_cost_usd, failure_type, failure_message, failure_shot, created_at,"
            " submit_time, end_time, updated_at) VALUES (1, 'old-token', ?, 'old000000001',"
            " 'amazon.nova-reel-v1:0', 'TEXT_VIDEO', '{\"taskType\": \"TEXT_VIDEO\"}',"
            " 's3://old-bucket/', 'Failed', 6, 42, 0.48, 'RATE_LIMIT_EXCEEDED', 'slow down',"
            " 1, '2024-12-01T10:00:00.000000Z', '2024-12-01T10:00:01.000000Z',"
            " '2024-12-01T10:02:00.000000Z', '2024-12-01T10:02:00.000000Z')",
            (ARN,),
        )
        conn.executemany(
            "INSERT INTO status_events (job_id, status, at) VALUES (1, ?, ?)",
            [
                ("Submitting", "2024-12-01T10:00:00.000000Z"),
                ("InProgress", "2024-12-01T10:00:01.000000Z"),
                ("Failed", "2024-12-01T10:02:00.000000Z"),
            ],
        )
    if applied >= 2:
        conn.execute(
            "INSERT INTO batches (id, identity, file_path, created_at, defaults_json)"
            " VALUES (1, 'ident', '/old/batch.yaml', '2024-12-01T09:00:00.000000Z',"
            " '{\"seed\": 7}')"
        )
        conn.execute(
            "INSERT INTO jobs (id, client_token, model_id, task_type, status, created_at,"
            " updated_at, batch_id, batch_item, attempt, retry_of) VALUES (2, 'retry-token',"
            " 'amazon.nova-reel-v1:1', 'TEXT_VIDEO', 'Submitting',"
            " '2024-12-01T11:00:00.000000Z', '2024-12-01T11:00:00.000000Z', 1, 'intro', 2, 1)"
        )
    if applied >= 3:
        conn.execute(
            "INSERT INTO job_files (job_id, path, added_at)"
            " VALUES (1, '/videos/old.mp4', '2024-12-01T10:03:00.000000Z')"
        )
        conn.execute("INSERT INTO job_tags (job_id, key, value) VALUES (1, 'project', 'fox')")


@pytest.mark.parametrize("applied", range(len(MIGRATIONS) + 1))
def test_upgrade_from_every_earlier_schema_keeps_data(
    target: Path | str, new_target: Callable[[], Path | str], applied: int
) -> None:
    path = target
    conn = connect_target(path)
    assert migrate(conn, MIGRATIONS[:applied]) == NAMES[:applied]
    _seed(conn, applied)
    conn.close()

    with Ledger(path) as ledger:  # opening applies the rest
        assert applied_migrations(ledger.conn) == NAMES
        assert _snapshot(ledger.conn) == _fresh_snapshot(new_target())
        if applied >= 1:
            old = ledger.get("old-token")
            assert (old.id, old.status, old.invocation_id) == (1, "Failed", "old000000001")
            assert old.request == {"taskType": "TEXT_VIDEO"}
            assert (old.failure_type, old.failure_shot) == ("RATE_LIMIT_EXCEEDED", 1)
            assert old.estimated_cost_usd == 0.48
            assert old.end_time is not None and old.end_time.isoformat().startswith("2024-12-01")
            assert [e.status for e in ledger.history(1)] == ["Submitting", "InProgress", "Failed"]
            assert ledger.get(ARN).id == 1
            # Columns added later get their defaults for old rows.
            if applied < 2:
                assert (old.attempt, old.batch_id, old.retry_of) == (1, None, None)
        if applied >= 2:
            retry = ledger.get("retry-token")
            assert (retry.batch_id, retry.batch_item, retry.attempt, retry.retry_of) == (
                1,
                "intro",
                2,
                1,
            )
            assert ledger.list_batches()[0].defaults == {"seed": 7}
            assert [j.id for j in ledger.pending_jobs()] == [2]
        if applied >= 3:
            assert ledger.get(1).local_files == ["/videos/old.mp4"]
            assert ledger.get(1).tags == {"project": "fox"}
        # The upgraded ledger takes new work like a fresh one.
        new = ledger.add_intent(
            client_token="new-token",
            model_id="amazon.nova-reel-v1:1",
            task_type="TEXT_VIDEO",
            request={},
            output_uri="s3://b/",
            duration_seconds=6,
            seed=1,
            estimated_cost_usd=0.48,
            tags={"after": "upgrade"},
        )
        assert ledger.get("new-token").tags == {"after": "upgrade"}
        assert new.id > (2 if applied >= 2 else 1 if applied else 0)


def test_a_failing_migration_leaves_the_previous_schema(target: Path | str) -> None:
    def m999_broken(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE half_done (x INTEGER)")
        db.execute("SELECT * FROM no_such_table")

    conn = connect_target(target)
    with pytest.raises(LedgerError, match="cannot migrate"):
        migrate(conn, [*MIGRATIONS[:1], Migration("m999_broken", m999_broken)])
    assert applied_migrations(conn) == NAMES[:1]
    assert table_exists(conn, "jobs")
    assert not table_exists(conn, "half_done")
    conn.close()
