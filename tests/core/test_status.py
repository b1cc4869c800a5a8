"""JobStatus is the one spelling of a job's status: every other list must agree with it."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import get_args

from novareel.emulator.backend import STATUSES as EMULATOR_STATUSES
from novareel.foundation.results import JobResult
from novareel.foundation.status import (
    ACTIVE_STATUSES,
    FINISHED_STATUSES,
    SERVICE_STATUSES,
    TERMINAL_STATUSES,
    JobStatus,
)
from novareel.ledger import ACTIVE_STATUSES as LEDGER_ACTIVE
from novareel.ledger import TERMINAL_STATUSES as LEDGER_TERMINAL
from novareel.ledger.migrations import JOB_STATUSES, migrate


def test_members_are_their_strings() -> None:
    """A member is the text the ledger stores and boto3 returns: equal, hashed, printed
    and serialised as that text, so existing string data needs no conversion."""
    assert JobStatus.IN_PROGRESS == "InProgress"
    assert "Completed" in {JobStatus.COMPLETED}
    assert f"{JobStatus.FAILED}" == "Failed"
    assert json.dumps({"status": JobStatus.REJECTED}) == '{"status": "Rejected"}'
    assert JobStatus("Submitting") is JobStatus.SUBMITTING


def test_the_ledger_schema_allows_exactly_the_enums_values(tmp_path: Path) -> None:
    """m001's CHECK list (history, kept literal) and a freshly migrated database's
    constraint both hold the enum's values, in the same order."""
    assert tuple(JobStatus) == JOB_STATUSES
    with sqlite3.connect(tmp_path / "ledger.db") as db:
        migrate(db)
        (sql,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'jobs'").fetchone()
    match = re.search(r"CHECK \(status IN \(([^)]*)\)\)", sql)
    assert match is not None, sql
    checked = tuple(part.strip().strip("'") for part in match.group(1).split(","))
    assert checked == tuple(JobStatus)


def test_the_service_statuses_are_the_ones_the_service_reports() -> None:
    """The emulator, written from the service's documentation and not from novareel,
    reports the same three."""
    assert set(SERVICE_STATUSES) == set(EMULATOR_STATUSES)
    assert [s.reported_by_service for s in JobStatus] == [False, True, True, True, False]


def test_every_status_is_active_or_terminal_never_both() -> None:
    assert set(JobStatus) == ACTIVE_STATUSES | TERMINAL_STATUSES
    assert not ACTIVE_STATUSES & TERMINAL_STATUSES
    assert {"Submitting", "InProgress"} == ACTIVE_STATUSES
    assert {"Completed", "Failed", "Rejected"} == TERMINAL_STATUSES
    assert [s for s in JobStatus if s.is_active] == ["Submitting", "InProgress"]
    assert [s for s in JobStatus if s.is_terminal] == ["Completed", "Failed", "Rejected"]
    # the ledger's names are the same sets, not copies that could drift
    assert LEDGER_ACTIVE is ACTIVE_STATUSES
    assert LEDGER_TERMINAL is TERMINAL_STATUSES


def test_a_wait_ends_on_the_services_terminal_statuses() -> None:
    assert {"Completed", "Failed"} == FINISHED_STATUSES
    base = JobResult("InProgress", "TEXT_VIDEO", "amazon.nova-reel-v1:1", 6, 1, 0.48)
    assert [base.with_(status=s).done for s in JobStatus] == [False, False, True, True, False]


def test_the_mcp_status_literal_is_the_enum() -> None:
    """The MCP SDK needs a Literal for the tool's JSON schema; it must name the same
    statuses, in the same order, as the enum."""
    from novareel.mcp_server.server import StatusName

    assert get_args(StatusName) == tuple(JobStatus)
