"""A ledger is never silently replaced; a full disk says so; backups are consistent.

Issue 20: a 0-byte ``ledger.db`` was treated as a new ledger (history gone, the day's
spend reset to $0, an identical ``generate`` paid again), and a full disk was
reported as a file that "may not be a novareel ledger".
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from novareel.cli import _register, app
from novareel.foundation.errors import LedgerError
from novareel.ledger import Ledger

_register()
runner = CliRunner()


def _intent(token: str) -> dict[str, Any]:
    return {
        "client_token": token,
        "model_id": "amazon.nova-reel-v1:1",
        "task_type": "TEXT_VIDEO",
        "request": {"taskType": "TEXT_VIDEO", "textToVideoParams": {"text": token}},
        "output_uri": "s3://b/v/",
        "duration_seconds": 6,
        "seed": 42,
        "estimated_cost_usd": 0.48,
    }


def _healthy(path: Path, jobs: int = 3) -> bytes:
    with Ledger(path) as ledger:
        for n in range(jobs):
            ledger.add_intent(**_intent(f"tok-{n}"))
    return path.read_bytes()


@pytest.mark.parametrize(
    ("content", "found"),
    [
        (b"", "is empty (0 bytes)"),
        (b"name,prompt\nkite,a red kite\n", "is not a SQLite database"),
        (None, "is truncated"),
    ],
)
def test_a_broken_file_is_refused_and_left_as_it_was(
    tmp_path: Path, content: bytes | None, found: str
) -> None:
    path = tmp_path / "ledger.db"
    if content is None:
        content = _healthy(tmp_path / "good.db")[:5000]
    path.write_bytes(content)
    with pytest.raises(LedgerError) as caught:
        Ledger(path)
    assert found in caught.value.message and str(path) in caught.value.message
    assert "nothing was sent" in caught.value.message
    assert caught.value.hint is not None and f"mv {path}" in caught.value.hint
    assert path.read_bytes() == content  # untouched: never turned into a new ledger


def test_another_sqlite_database_is_not_taken_for_a_ledger(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE photos (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(LedgerError, match="not a novareel ledger") as caught:
        Ledger(path)
    assert "photos" in caught.value.message
    tables = sqlite3.connect(path).execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == [("photos",)]


def test_a_missing_file_is_a_new_ledger_and_a_healthy_one_opens(tmp_path: Path) -> None:
    path = tmp_path / "new" / "ledger.db"
    _healthy(path)
    with Ledger(path) as ledger:
        assert len(ledger.list_jobs()) == 3
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".ledger.db.new")]


def test_an_empty_ledger_refuses_generate_before_anything_is_sent(
    emulator: Any, isolated_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "ledger.db").write_bytes(b"")
    monkeypatch.setenv("NOVAREEL_EMULATOR_URL", emulator.url)
    result = runner.invoke(
        app, ["generate", "A kite", "--local", "--no-wait", "--out", str(tmp_path), "--json"]
    )
    assert result.exit_code == 2, result.output
    error = json.loads(result.stdout)["error"]
    assert "is empty (0 bytes)" in error["message"]
    assert emulator.stats()["acceptedSubmissions"] == 0
    assert (isolated_home / "ledger.db").read_bytes() == b""


def test_a_full_disk_is_called_a_full_disk(tmp_path: Path) -> None:
    with Ledger(tmp_path / "ledger.db") as ledger:
        pages = ledger.conn.execute("PRAGMA page_count").fetchone()[0]
        # SQLite answers SQLITE_FULL ("database or disk is full") past max_page_count,
        # exactly as on a full disk.
        ledger.conn.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(LedgerError) as caught:
            for n in range(200):
                ledger.add_intent(**_intent(f"big-{n}" + "x" * 2000))
    assert "is full" in caught.value.message
    assert "may not be a novareel ledger" not in str(caught.value.hint)
    assert caught.value.hint is not None and "free some space" in caught.value.hint


def test_backup_while_another_process_writes_is_consistent(
    isolated_home: Path, tmp_path: Path
) -> None:
    path = isolated_home / "ledger.db"
    isolated_home.mkdir(parents=True, exist_ok=True)
    _healthy(path, jobs=5)
    stop = threading.Event()

    def write() -> None:
        with Ledger(path) as writer:
            n = 0
            while not stop.is_set():
                writer.add_intent(**_intent(f"busy-{n}"))
                n += 1

    thread = threading.Thread(target=write)
    thread.start()
    try:
        result = runner.invoke(app, ["ledger", "backup", str(tmp_path / "copy.db"), "--json"])
    finally:
        stop.set()
        thread.join()
    assert result.exit_code == 0, result.output
    done = json.loads(result.stdout)
    assert done["path"] == str(tmp_path / "copy.db") and done["integrity"] == "ok"
    assert done["jobs"] >= 5
    with Ledger(tmp_path / "copy.db") as copy:
        jobs = copy.list_jobs()
        assert len(jobs) == done["jobs"]
        # Each job's row and its first status event are one transaction: both or none.
        for job in jobs:
            assert [e.status for e in copy.history(job.id)] == ["Submitting"]
    assert (tmp_path / "copy.db").stat().st_mode & 0o077 == 0
    # Never overwrites.
    again = runner.invoke(app, ["ledger", "backup", str(tmp_path / "copy.db"), "--json"])
    assert again.exit_code == 2
    assert "already exists" in json.loads(again.stdout)["error"]["message"]
