"""``novareel jobs`` streams: JSON as the same array as before, long tables row by row
in fixed columns, and never more than one page of the ledger in memory."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from typer.testing import CliRunner

from novareel.cli import _register, app, jobs_cmd
from novareel.cli.app import console
from novareel.ledger import Ledger

_register()
runner = CliRunner()
T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
ARN = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/"


def run(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def fill(count: int) -> None:
    """``count`` jobs in the default ledger: every third never sent, every fourth run
    on an emulator (its cost on three lines at 80 columns), tags and files on some."""
    rows = []
    for i in range(count):
        iso = (T0 + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        submitted = i % 3 != 0
        rows.append(
            (
                f"tok-{i}",
                f"{ARN}{i:012d}" if submitted else None,
                f"{i:012d}" if submitted else None,
                "Completed" if submitted else "Submitting",
                json.dumps({"textToVideoParams": {"text": f"a fox in the snow, take {i}"}}),
                iso,
                iso if submitted else None,
                "http://127.0.0.1:8000" if i % 4 == 0 else None,
            )
        )
    with Ledger.open_default() as ledger, ledger.write_batch() as db:
        db.conn.executemany(
            "INSERT INTO jobs (client_token, invocation_arn, invocation_id, model_id,"
            " task_type, status, request_json, created_at, submit_time, endpoint,"
            " updated_at, duration_seconds, estimated_cost_usd)"
            " VALUES (?, ?, ?, 'amazon.nova-reel-v1:1', 'TEXT_VIDEO', ?, ?, ?, ?, ?, ?6, 6, 0.48)",
            rows,
        )
        db.conn.execute("INSERT INTO job_tags SELECT id, 'shot', 's' || id FROM jobs")
        db.conn.execute(
            "INSERT INTO job_files (job_id, path, added_at)"
            " SELECT id, 'out/' || id || '.mp4', created_at FROM jobs WHERE id % 2 = 0"
        )


def test_json_is_the_same_array_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("jobs", "--json").stdout == "[]\n"
    fill(40)
    with Ledger.open_default() as ledger:
        records = ledger.list_jobs(status=["Completed"], limit=25)
    # what `jobs --json` printed before it streamed: one json.dumps of the whole list
    before = json.dumps([r.to_dict() for r in records], indent=2, default=str) + "\n"
    assert run("jobs", "--status", "completed", "--limit", "25", "--json").stdout == before
    assert json.loads(before)[0]["tags"] and json.loads(before)[0]["local_files"] == []


def test_json_of_a_long_listing_is_valid_and_complete() -> None:
    fill(1300)
    out = run("jobs", "--limit", "1000000", "--json").stdout
    listed = json.loads(out)
    assert [j["id"] for j in listed] == list(range(1300, 0, -1))
    assert listed[2]["local_files"] == ["out/1298.mp4"] and listed[2]["tags"] == {"shot": "s1298"}


def test_listing_holds_one_page_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows are printed before the last page is read, and no page is bigger than 500."""
    fill(1600)
    pages: list[tuple[int, int]] = []  # (rows hydrated, bytes printed before)
    hydrate = Ledger._hydrate
    printed = {"bytes": 0}
    real_print = console.print

    def counting_print(*args: Any, **kwargs: Any) -> None:
        printed["bytes"] += sum(len(str(a)) for a in args)
        real_print(*args, **kwargs)

    def spy(self: Ledger, rows: Any) -> Any:
        pages.append((len(rows), printed["bytes"]))
        return hydrate(self, rows)

    monkeypatch.setattr(Ledger, "_hydrate", spy)
    monkeypatch.setattr(console, "print", counting_print, raising=False)
    assert run("jobs", "--limit", "1000000").exit_code == 0
    page_rows = [n for n, _ in pages if n > 1]  # single rows: batch lookups elsewhere
    assert sum(page_rows) == 1600 and max(page_rows) <= 500
    assert pages[-1][1] > 0  # the last page was read after rows were printed


@pytest.mark.parametrize("columns", [80, 140])
def test_long_table_is_row_by_row_in_fixed_columns(
    monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    fill(jobs_cmd.SMALL_LISTING + 150)
    lines = run("jobs", "--limit", "1000").stdout.rstrip("\n").split("\n")
    header, rule, rows = lines[0], lines[1], lines[2:]
    names = header.split()
    expected = ["id", "status", "where", "video", "cost", "submitted"]
    if columns >= 120:
        expected += ["batch", "try", "invocation"]
    assert names == [*expected, "prompt"]  # the columns of the small table, in order
    assert set(rule) == {"─"}
    starts = {name: header.index(name) for name in names[1:]}
    id_end = header.index("id") + 2
    ids = []
    for line in rows:
        assert len(line) <= columns
        if line[:id_end].strip():  # a job's first line: its id right-aligned under "id"
            assert re.fullmatch(r" *\d+", line[:id_end])
            ids.append(int(line[:id_end]))
            for name in ("status", "where", "video", "cost", "submitted", "prompt"):
                at = starts[name]
                assert line[at - 2 : at] == "  " and line[at] != " ", (name, line)
        else:  # the rest of a local job's cost, under "cost"
            assert columns < 120 and line.strip() in {"(≈ $0.48", "on AWS)"}
            assert line.index(line.strip()) == starts["cost"]
    assert ids == list(range(jobs_cmd.SMALL_LISTING + 150, 0, -1))
    assert any("Submitting" in r for r in rows) and any("Completed" in r for r in rows)


def test_a_short_listing_keeps_the_rich_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    fill(5)
    from rich.console import Console

    with Ledger.open_default() as ledger:
        table = jobs_cmd._jobs_table(ledger.list_jobs(), 80)
    render = Console(width=80, file=None, record=True, force_terminal=False)
    with render.capture() as captured:
        render.print(table)
    assert run("jobs").stdout == captured.get()
