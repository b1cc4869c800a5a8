"""Which ledger opens (NOVAREEL_LEDGER_URL, ``[ledger] url``), what the PostgreSQL
adapter translates, and what only a PostgreSQL server can show (its write lock)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from novareel.foundation.errors import InvalidRequestError, LedgerError
from novareel.ledger import Ledger
from novareel.ledger.backend import (
    LEDGER_URL_ENV,
    PgConnection,
    connect_target,
    ledger_target,
    redact,
    translate,
)
from novareel.ledger.db import transaction

URL = "postgresql://team@db.example:5432/novareel"


# ------------------------------------------------------------------- which ledger


def test_without_a_url_the_ledger_is_the_sqlite_file(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(LEDGER_URL_ENV, raising=False)
    assert ledger_target() == isolated_home / "ledger.db"
    monkeypatch.setenv(LEDGER_URL_ENV, "  ")  # empty counts as unset
    assert ledger_target() == isolated_home / "ledger.db"


def test_the_variable_wins_over_the_config_file(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "config.toml").write_text(
        '[budget]\ndaily_usd = 5\n\n[ledger]\nurl = "postgresql://file@db/ledger"\n'
    )
    monkeypatch.delenv(LEDGER_URL_ENV, raising=False)
    assert ledger_target() == "postgresql://file@db/ledger"
    monkeypatch.setenv(LEDGER_URL_ENV, URL)
    assert ledger_target() == URL
    monkeypatch.setenv(LEDGER_URL_ENV, "sqlite")  # the local file for one shell
    assert ledger_target() == isolated_home / "ledger.db"


@pytest.mark.parametrize(
    "value",
    ["mysql://u@h/db", "/var/lib/ledger.db", "postgresql://u:secret@h:5432", "postgresql://h/"],
)
def test_a_bad_url_is_refused_naming_the_variable(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LEDGER_URL_ENV, value)
    with pytest.raises(InvalidRequestError) as caught:
        ledger_target()
    text = str(caught.value)
    assert LEDGER_URL_ENV in text and "postgresql://USER@HOST" in text
    assert "secret" not in text  # a password never reaches a message


def test_bad_ledger_settings_in_the_config_file_name_the_key(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(LEDGER_URL_ENV, raising=False)
    isolated_home.mkdir(parents=True, exist_ok=True)
    config = isolated_home / "config.toml"
    config.write_text("[ledger]\nurl = 5432\n")
    with pytest.raises(InvalidRequestError, match=r"\[ledger\] url"):
        ledger_target()
    config.write_text('[ledger]\nulr = "postgresql://h/db"\n')
    with pytest.raises(InvalidRequestError, match="did you mean url"):
        ledger_target()


def test_the_password_is_kept_out_of_messages() -> None:
    assert redact("postgresql://bob:hunter2@db:5433/led") == "postgresql://bob:***@db:5433/led"
    assert redact(URL) == URL


def test_an_unreachable_server_is_a_ledger_error_without_the_password() -> None:
    from tests.pg import _free_port

    url = f"postgresql://bob:hunter2@127.0.0.1:{_free_port()}/ledger?connect_timeout=2"
    with pytest.raises(LedgerError) as caught:
        Ledger(url)
    assert "cannot connect to the ledger" in str(caught.value)
    assert "hunter2" not in str(caught.value) + str(caught.value.hint)


# -------------------------------------------------------------------- translation


@pytest.mark.parametrize(
    ("sqlite", "postgres"),
    [
        ("SELECT * FROM jobs WHERE id = ?", "SELECT * FROM jobs WHERE id = %s"),
        ("SELECT '?', \"a?\" FROM t WHERE x = ?", "SELECT '?', \"a?\" FROM t WHERE x = %s"),
        ("SELECT id FROM jobs WHERE id % 5 = ?", "SELECT id FROM jobs WHERE id %% 5 = %s"),
        (
            "WHERE batch_item IS ? AND x IS NOT ?",
            "WHERE batch_item IS NOT DISTINCT FROM %s AND x IS DISTINCT FROM %s",
        ),
        ("WHERE endpoint IS NULL AND x IS NOT NULL", "WHERE endpoint IS NULL AND x IS NOT NULL"),
        (
            "SELECT SUM(cost IS NULL) AS n",
            "SELECT SUM(CASE WHEN cost IS NULL THEN 1 ELSE 0 END) AS n",
        ),
        (
            "SET c = CASE WHEN ? THEN 0 ELSE c END",
            "SET c = CASE WHEN CAST(%s AS INTEGER) <> 0 THEN 0 ELSE c END",
        ),
        (
            "SELECT IFNULL(a, 0), CAST(b AS REAL)",
            "SELECT COALESCE(a, 0), CAST(b AS DOUBLE PRECISION)",
        ),
        (
            "INSERT OR IGNORE INTO job_files (a) VALUES (?)",
            "INSERT INTO job_files (a) VALUES (%s) ON CONFLICT DO NOTHING",
        ),
        (
            "ALTER TABLE jobs ADD COLUMN cost REAL",
            "ALTER TABLE jobs ADD COLUMN cost DOUBLE PRECISION",
        ),
        (
            "ALTER TABLE jobs ADD COLUMN note TEXT",
            'ALTER TABLE jobs ADD COLUMN note TEXT COLLATE "C"',
        ),
        (
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER)",
            "CREATE TABLE t (id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, n INTEGER)",
        ),
        (
            "CREATE TABLE f (a TEXT NOT NULL, PRIMARY KEY (a))",
            'CREATE TABLE f (a TEXT COLLATE "C"'
            " NOT NULL, PRIMARY KEY (a), rowid BIGINT GENERATED ALWAYS AS IDENTITY)",
        ),
        (
            "CREATE UNIQUE INDEX live ON jobs (fingerprint) WHERE status = 'Submitting'",
            "CREATE UNIQUE INDEX live ON jobs (fingerprint NULLS FIRST)"
            " WHERE status = 'Submitting'",
        ),
        (
            "CREATE INDEX o ON jobs (COALESCE(submit_time, created_at), id DESC)",
            "CREATE INDEX o ON jobs (COALESCE(submit_time, created_at) NULLS FIRST,"
            " id DESC NULLS LAST)",
        ),
        (
            "SELECT * FROM jobs ORDER BY COALESCE(a, b) DESC, id LIMIT ?",
            "SELECT * FROM jobs ORDER BY COALESCE(a, b) DESC NULLS LAST, id NULLS FIRST LIMIT %s",
        ),
        (
            "WHERE id = (SELECT id FROM jobs ORDER BY x DESC LIMIT 1) ORDER BY y",
            "WHERE id = (SELECT id FROM jobs ORDER BY x DESC NULLS LAST LIMIT 1)"
            " ORDER BY y NULLS FIRST",
        ),
    ],
)
def test_what_the_adapter_translates(sqlite: str, postgres: str) -> None:
    assert translate(sqlite).sql == postgres


def test_transactions_and_pragmas() -> None:
    assert translate("BEGIN IMMEDIATE").kind == "begin_write"
    assert translate("begin exclusive transaction").kind == "begin_write"
    assert translate("BEGIN").kind == "begin"
    assert translate("PRAGMA foreign_keys = ON").kind == "skip"
    assert translate("COMMIT").sql == "COMMIT"


def test_numbered_parameters_are_reordered() -> None:
    stmt = translate("VALUES (?, ?2, ?1, ?)")
    assert stmt.sql == "VALUES (%s, %s, %s, %s)"
    assert stmt.bind(["a", "b", "c"]) == ("a", "b", "a", "c")
    assert translate("VALUES (?, ?)").order is None


def test_inserts_know_their_table_and_whether_they_give_ids() -> None:
    assert translate("INSERT INTO jobs (client_token) VALUES (?)").insert_into == "jobs"
    assert not translate("INSERT INTO jobs (client_token) VALUES (?)").gives_id
    assert translate("INSERT INTO jobs (id, client_token) VALUES (?, ?)").gives_id
    assert translate("INSERT INTO job_tags SELECT id, 'k', 'v' FROM jobs").gives_id


# ---------------------------------------------------------------- on a real server


def test_a_write_transaction_excludes_other_writers_not_readers(pg_url: str) -> None:
    """BEGIN IMMEDIATE on PostgreSQL: a second writer waits for the first to commit
    (the advisory lock); a reader does not wait and sees the last committed state."""
    Ledger(pg_url).close()  # migrated
    first, second, reader = (connect_target(pg_url) for _ in range(3))
    assert isinstance(first, PgConnection)
    order: list[str] = []
    with transaction(first):
        first.execute(
            "INSERT INTO batches (identity, file_path, created_at) VALUES ('a', 'f', 't')"
        )

        def write() -> None:
            with transaction(second):
                order.append("second got the lock")
                second.execute("SELECT 1")

        worker = threading.Thread(target=write)
        worker.start()
        time.sleep(0.5)
        assert order == []  # still waiting for the first writer
        assert reader.execute("SELECT COUNT(*) FROM batches").fetchone()[0] == 0
        order.append("first commits")
    worker.join(timeout=30)
    assert order == ["first commits", "second got the lock"]
    assert reader.execute("SELECT COUNT(*) FROM batches").fetchone()[0] == 1
    for conn in (first, second, reader):
        conn.close()


def test_ids_continue_after_rows_written_with_their_own(pg_url: str) -> None:
    with Ledger(pg_url) as ledger:
        ledger.conn.execute(
            "INSERT INTO batches (id, identity, file_path, created_at) VALUES (41, 'x', 'f', 't')"
        )
        made = ledger.get_or_create_batch(identity="new", file_path="/b.yaml", defaults={})
        assert made.id == 42


# ----------------------------------------------------------------------- origin


def test_each_job_records_who_and_where_it_came_from(ledger: Ledger, isolated_home: Path) -> None:
    import getpass
    import socket

    job = ledger.add_intent(
        client_token="who",
        model_id="amazon.nova-reel-v1:1",
        task_type="TEXT_VIDEO",
        request={},
        output_uri="s3://b/",
        duration_seconds=6,
        seed=1,
        estimated_cost_usd=0.48,
    )
    expected = f"{getpass.getuser()}@{socket.gethostname()}:{isolated_home}"
    assert job.origin == expected
    assert ledger.get("who").to_dict()["origin"] == expected
    adopted, _ = ledger.adopt(
        invocation_arn="arn:aws:bedrock:us-east-1:123456789012:async-invoke/abcdefabcdef",
        model_id="amazon.nova-reel-v1:1",
        status="InProgress",
        submit_time=None,
        end_time=None,
        output_uri=None,
        client_token=None,
        failure_message=None,
    )
    assert adopted.origin is None  # submitted from anywhere: unknown


def test_nulls_sort_as_in_sqlite(ledger: Ledger) -> None:
    """NULL is the smallest value in SQLite (first ascending) and the largest in
    PostgreSQL: the adapter spells SQLite's order out, so listings agree."""
    rows = ledger.conn.execute(
        "SELECT v FROM (SELECT 'b' AS v UNION ALL SELECT NULL UNION ALL SELECT 'a') AS t ORDER BY v"
    ).fetchall()
    assert [r[0] for r in rows] == [None, "a", "b"]
    rows = ledger.conn.execute(
        "SELECT v FROM (SELECT 'b' AS v UNION ALL SELECT NULL UNION ALL SELECT 'a') AS t"
        " ORDER BY v DESC"
    ).fetchall()
    assert [r[0] for r in rows] == ["b", "a", None]


def test_the_listing_reads_its_index_on_postgres(pg_url: str) -> None:
    """The NULL order added to ORDER BY and CREATE INDEX alike keeps the listing an
    index scan (newest first: the index read backwards), not a sort of the table."""
    with Ledger(pg_url) as ledger:
        ledger.conn.execute("SET enable_seqscan = off")  # a tiny table: force the choice
        plan = " ".join(
            str(r[0])
            for r in ledger.conn.execute(
                "EXPLAIN SELECT * FROM jobs ORDER BY COALESCE(submit_time, created_at) DESC,"
                " id DESC LIMIT ?",
                (50,),
            )
        )
    assert "Index Scan Backward using jobs_listing_order" in plan
    assert "Sort" not in plan


def test_a_missing_server_fails_under_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.pg import unavailable

    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="required under CI: no initdb"):
        unavailable("no initdb")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL unavailable: no initdb"):
        unavailable("no initdb")


def test_a_bad_ledger_url_stops_a_command_with_exit_2(
    monkeypatch: pytest.MonkeyPatch, isolated_home: Path
) -> None:
    from typer.testing import CliRunner

    from novareel.cli import _register, app

    _register()
    monkeypatch.setenv(LEDGER_URL_ENV, "mysql://team@db/ledger")
    result = CliRunner().invoke(app, ["jobs", "list"])
    assert result.exit_code == 2
    assert LEDGER_URL_ENV in result.output and "not a PostgreSQL URL" in result.output
    assert not (isolated_home / "ledger.db").exists()  # no file opened instead


def test_a_postgresql_row_reads_as_a_sqlite_row() -> None:
    # The adapter's rows are dicts (a name lookup in C: issue 20, client CPU per job)
    # that still answer as sqlite3.Row does: positions, values when iterated or
    # tested with ``in``, the column names from keys().
    from novareel.ledger.backend import Row

    row = Row((7, "a", None), ("id", "name", "end_time"))
    assert (row["id"], row["name"], row[0], row[1], row[-1]) == (7, "a", 7, "a", None)
    assert (len(row), list(row), tuple(row)) == (3, [7, "a", None], (7, "a", None))
    assert row.keys() == ["id", "name", "end_time"]
    assert ("a" in row, "name" in row) == (True, False)
    assert dict(row) == {"id": 7, "name": "a", "end_time": None}
    assert row == Row((7, "a", None), ("id", "name", "end_time"))
    with pytest.raises(KeyError):
        row["missing"]
