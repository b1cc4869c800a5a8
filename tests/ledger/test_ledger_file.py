"""Where the ledger file lives and who may read it."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from novareel.foundation.errors import LedgerError
from novareel.ledger import Ledger

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")


@pytest.fixture
def backend() -> str:
    """This module is about the SQLite file itself: its tests run on SQLite only."""
    return "sqlite"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_novareel_home_moves_the_ledger(isolated_home: Path) -> None:
    with Ledger.open_default() as ledger:
        assert ledger.path == isolated_home / "ledger.db"
    assert (isolated_home / "ledger.db").is_file()


def test_novareel_home_can_point_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "some" / "other" / "place"
    monkeypatch.setenv("NOVAREEL_HOME", str(elsewhere))
    with Ledger() as ledger:
        ledger.add_intent(
            client_token="t-1",
            model_id="amazon.nova-reel-v1:0",
            task_type="TEXT_VIDEO",
            request={},
            output_uri="s3://b/",
            duration_seconds=6,
            seed=1,
            estimated_cost_usd=0.48,
        )
    assert (elsewhere / "ledger.db").is_file()
    with Ledger(elsewhere / "ledger.db") as again:
        assert again.get("t-1").model_id == "amazon.nova-reel-v1:0"


@posix_only
def test_new_ledger_is_private_to_its_owner(isolated_home: Path) -> None:
    old_umask = os.umask(0o022)  # the usual umask would give 0644 to a plain create
    try:
        with Ledger.open_default() as ledger:
            ledger.add_intent(
                client_token="t-1",
                model_id="m",
                task_type="TEXT_VIDEO",
                request={},
                output_uri=None,
                duration_seconds=None,
                seed=None,
                estimated_cost_usd=None,
            )
            # WAL side files exist while the connection is open: they must be private too.
            for suffix in ("", "-wal", "-shm"):
                side = Path(str(ledger.path) + suffix)
                if side.exists():
                    assert _mode(side) == 0o600, side
    finally:
        os.umask(old_umask)
    assert _mode(isolated_home / "ledger.db") == 0o600


@posix_only
def test_existing_looser_ledger_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    Ledger(path).close()
    path.chmod(0o644)
    Ledger(path).close()
    assert _mode(path) == 0o600


def test_a_file_that_is_not_a_database_gives_a_ledger_error(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    path.write_bytes(b"this is not sqlite, just some text that happens to be here" * 20)
    with pytest.raises(LedgerError, match="ledger"):
        Ledger(path)


def test_a_closed_ledger_says_so(ledger: Ledger) -> None:
    ledger.close()
    with pytest.raises(LedgerError, match="closed"):
        ledger.list_jobs()


def test_uses_wal_and_a_busy_timeout(ledger: Ledger) -> None:
    assert ledger.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert ledger.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert ledger.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
