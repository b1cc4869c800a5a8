"""The MCP server's two guards without a server: root confinement and cost caps."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from novareel.foundation.errors import BudgetExceededError, InvalidRequestError
from novareel.ledger import JobRecord, Ledger
from novareel.limits.budget import reservation_check
from novareel.mcp_server.caps import SESSION_ENV, SpendGuard, cents, session_name
from novareel.mcp_server.confine import Root

# --------------------------------------------------------------------------- the root


@pytest.fixture
def root(tmp_path: Path) -> Root:
    (tmp_path / "root" / "frames").mkdir(parents=True)
    (tmp_path / "root" / "frames" / "a.png").write_bytes(b"x")
    (tmp_path / "secret.txt").write_text("s")
    return Root(tmp_path / "root")


def test_relative_paths_are_taken_from_the_root_not_the_working_folder(
    root: Root, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert root.confine("frames/a.png", "image") == root.path / "frames" / "a.png"
    assert root.confine("frames/../frames/./a.png", "image") == root.path / "frames" / "a.png"
    assert root.confine(".", "out") == root.path
    # A folder that does not exist yet (a download target) is fine inside the root.
    assert root.confine("new/deeper", "out") == root.path / "new" / "deeper"


@pytest.mark.parametrize(
    "value", ["../secret.txt", "frames/../../secret.txt", "..", "frames/../.."]
)
def test_a_climb_out_of_the_root_is_refused(root: Root, value: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        root.confine(value, "image")
    problem = caught.value.problems[0]
    assert problem.field == "image" and problem.value == value
    assert "outside the server's root" in problem.message
    assert "--root" in (caught.value.hint or "")


def test_absolute_paths_are_allowed_inside_and_refused_outside(root: Root, tmp_path: Path) -> None:
    inside = root.path / "frames" / "a.png"
    assert root.confine(str(inside), "image") == inside
    for outside in (tmp_path / "secret.txt", Path("/etc/passwd"), tmp_path):
        with pytest.raises(InvalidRequestError, match="outside the server's root"):
            root.confine(str(outside), "storyboard")


def test_a_root_that_is_a_prefix_of_a_sibling_does_not_admit_it(tmp_path: Path) -> None:
    (tmp_path / "root-other").mkdir()
    (tmp_path / "root").mkdir()
    root = Root(tmp_path / "root")
    with pytest.raises(InvalidRequestError):
        root.confine(str(tmp_path / "root-other" / "x.png"), "image")


def test_symlinks_are_followed_before_the_check(root: Root, tmp_path: Path) -> None:
    os.symlink(tmp_path / "secret.txt", root.path / "frames" / "innocent.png")
    os.symlink(tmp_path, root.path / "escape")
    os.symlink(root.path / "frames" / "a.png", root.path / "alias.png")
    for value in ("frames/innocent.png", "escape/secret.txt", "escape"):
        with pytest.raises(InvalidRequestError, match="outside the server's root"):
            root.confine(value, "image")
    # A link that stays inside is fine, and resolves to its target.
    assert root.confine("alias.png", "image") == root.path / "frames" / "a.png"


def test_a_root_given_through_a_symlink_is_resolved(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "link")
    root = Root(tmp_path / "link")
    assert root.path == (tmp_path / "real").resolve()
    assert root.confine(str(tmp_path / "link" / "x.png"), "image") == root.path / "x.png"


def test_empty_nul_and_missing_roots_are_refused(root: Root, tmp_path: Path) -> None:
    for value in ("", "a\x00b"):
        with pytest.raises(InvalidRequestError, match="non-empty path"):
            root.confine(value, "image")
    with pytest.raises(InvalidRequestError) as caught:
        Root(tmp_path / "nope")
    assert caught.value.problems[0].field == "root"


# --------------------------------------------------------------------------- the caps


def test_cents_do_not_drift() -> None:
    assert cents(0.1) + cents(0.2) == cents(0.3) == 30
    assert cents(13.5) == 1350 and cents(0.48) == 48 and cents(0.005) == 1


V11 = "amazon.nova-reel-v1:1"


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    with Ledger.open_default() as opened:
        yield opened


def _job(ledger: Ledger, guard: SpendGuard, usd: float, *, accept: bool = True) -> JobRecord:
    """What VideoGenerator.submit does for one job of the session: reserve its row with the
    session's cap checked in the transaction, then (``accept``) record the ARN."""
    token = f"t-{uuid.uuid4().hex}"
    record = ledger.reserve(
        client_token=token,
        model_id=V11,
        task_type="TEXT_VIDEO",
        request={"token": token},
        output_uri="s3://b/o/",
        duration_seconds=6,
        seed=1,
        estimated_cost_usd=usd,
        check=lambda: reservation_check(
            ledger, usd, endpoint=None, cost_cap=None, held=[], session_cap=guard.session_cap
        ),
        session_key=guard.key,
    ).record
    if accept:
        record = ledger.mark_submitted(
            record.id,
            invocation_arn=f"arn:aws:bedrock:us-east-1:123456789012:async-invoke/{token[-12:]}",
            submit_time=datetime.now(timezone.utc),
        )
    return record


def test_no_cap_refuses_nothing_and_still_counts(ledger: Ledger) -> None:
    guard = SpendGuard()
    for _ in range(3):
        _job(ledger, guard, 1000.0)
    snap = guard.snapshot(ledger)
    assert snap["session_spent_usd"] == 3000.0 and snap["session_remaining_usd"] is None
    assert snap["session"] == guard.key and guard.key.startswith("mcp-")
    assert SpendGuard().key != guard.key  # each process its own session by default


def test_per_call_cap_refuses_above_and_allows_exactly_the_cap(ledger: Ledger) -> None:
    guard = SpendGuard(per_call_usd=5.0, session_usd=100.0)
    guard.check(5.0, "this job", ledger)
    with pytest.raises(BudgetExceededError) as caught:
        guard.check(5.01, "this job", ledger)
    exc = caught.value
    assert isinstance(exc, BudgetExceededError) and exc.exit_code == 2
    assert exc.limit == "max_cost" and exc.raise_with == ("--max-cost",)
    assert exc.asked_usd == 5.01 and exc.limit_usd == 5.0 and exc.remaining_usd == 5.0
    assert "--max-cost" in (exc.hint or "")
    assert "$5.01" in exc.message and "$5.00 per call" in exc.message


def test_one_max_cost_caps_the_session_too(ledger: Ledger) -> None:
    guard = SpendGuard(per_call_usd=1.0)
    assert guard.snapshot(ledger)["session_max_cost_usd"] == 1.0
    _job(ledger, guard, 0.48)
    _job(ledger, guard, 0.48)
    with pytest.raises(BudgetExceededError) as caught:
        _job(ledger, guard, 0.48)  # refused inside the reservation: no row written
    refused = caught.value.to_dict()
    assert refused["limit"] == "session_max_cost" and refused["remaining_usd"] == 0.04
    assert refused["spent_usd"] == 0.96 and refused["raise_with"] == ["--session-max-cost"]
    assert "$0.04 left" in caught.value.message and "--session" in (caught.value.hint or "")
    assert len(ledger.list_jobs(limit=10)) == 2
    with pytest.raises(BudgetExceededError):
        guard.check(0.48, "job 3", ledger)  # the up-front check reads the same rows
    _job(ledger, guard, 0.04)  # what still fits, fits
    assert guard.remaining(ledger) == 0


def test_a_separate_session_cap_allows_several_calls_under_the_call_cap(ledger: Ledger) -> None:
    guard = SpendGuard(per_call_usd=2.0, session_usd=5.0)
    for _ in range(2):
        _job(ledger, guard, 2.0)
    with pytest.raises(BudgetExceededError) as caught:
        _job(ledger, guard, 2.0)
    assert caught.value.limit == "session_max_cost" and caught.value.remaining_usd == 1.0
    only_session = SpendGuard(session_usd=3.0)
    assert only_session.per_call is None
    _job(ledger, only_session, 3.0)  # another session: its own cap, not guard's spend
    with pytest.raises(BudgetExceededError):
        _job(ledger, only_session, 0.01)


def test_pending_rows_hold_and_refused_ones_release(ledger: Ledger) -> None:
    guard = SpendGuard(session_usd=1.0)
    held = _job(ledger, guard, 0.75, accept=False)  # Submitting: reserved
    assert guard.snapshot(ledger)["session_pending_usd"] == 0.75
    with pytest.raises(BudgetExceededError):
        _job(ledger, guard, 0.5)  # the pending 0.75 counts
    ledger.mark_rejected(held.id, message="never sent", not_sent=True)
    assert guard.remaining(ledger) == 100
    _job(ledger, guard, 0.5)
    snap = guard.snapshot(ledger)
    assert snap["session_spent_usd"] == 0.5 and snap["session_pending_usd"] == 0.0


def test_a_named_session_is_one_cap_for_every_server_of_it(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = SpendGuard(session_usd=1.0, session="team-agent")
    _job(ledger, first, 0.75)
    # Another server process (or a restart) of the same session sees that spend.
    monkeypatch.setenv(SESSION_ENV, "team-agent")
    second = SpendGuard(session_usd=1.0)
    assert second.key == "team-agent" and second.remaining(ledger) == 25
    with pytest.raises(BudgetExceededError):
        _job(ledger, second, 0.48)
    assert SpendGuard(session_usd=1.0, session="other").remaining(ledger) == 100


@pytest.mark.parametrize("bad", ["", "has space", "x" * 101, "naïve", "semi;colon"])
def test_a_bad_session_name_is_refused_naming_where_it_came_from(
    bad: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        session_name(bad)
    assert caught.value.problems[0].field == "--session"
    if bad:
        monkeypatch.setenv(SESSION_ENV, bad)
        with pytest.raises(InvalidRequestError) as caught:
            session_name()
        assert caught.value.problems[0].field == SESSION_ENV


def test_concurrent_calls_cannot_both_slip_under_the_cap() -> None:
    guard = SpendGuard(session_usd=10.0)
    granted: list[int] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        with Ledger.open_default() as own:  # each call its own connection, as the tools
            barrier.wait()
            try:
                _job(own, guard, 3.0)
            except BudgetExceededError:
                return
        granted.append(1)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 3  # 3 x $3 fits in $10, a fourth would not


def test_caps_are_read_like_the_clis_max_cost() -> None:
    assert SpendGuard(per_call_usd="$2.50").per_call == 250
    for bad in (-1.0, "abc", float("nan")):
        with pytest.raises(InvalidRequestError) as caught:
            SpendGuard(per_call_usd=bad)
        assert caught.value.problems[0].field == "--max-cost"
    with pytest.raises(InvalidRequestError) as caught:
        SpendGuard(session_usd="-3")
    assert caught.value.problems[0].field == "--session-max-cost"
