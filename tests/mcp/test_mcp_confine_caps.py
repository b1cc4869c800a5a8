"""The MCP server's two guards without a server: root confinement and cost caps."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from novareel.foundation.errors import BudgetExceededError, InvalidRequestError
from novareel.mcp_server.caps import SpendGuard, cents
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


def test_no_cap_refuses_nothing() -> None:
    guard = SpendGuard()
    for _ in range(3):
        guard.commit(guard.reserve(1000.0, "a job"))
    snap = guard.snapshot()
    assert snap["session_spent_usd"] == 3000.0 and snap["session_remaining_usd"] is None


def test_per_call_cap_refuses_above_and_allows_exactly_the_cap() -> None:
    guard = SpendGuard(per_call_usd=5.0, session_usd=100.0)
    guard.commit(guard.reserve(5.0, "this job"))
    with pytest.raises(BudgetExceededError) as caught:
        guard.reserve(5.01, "this job")
    exc = caught.value
    assert isinstance(exc, BudgetExceededError) and exc.exit_code == 2
    assert exc.limit == "max_cost" and exc.raise_with == ("--max-cost",)
    assert exc.asked_usd == 5.01 and exc.limit_usd == 5.0 and exc.remaining_usd == 5.0
    assert "--max-cost" in (exc.hint or "")
    assert "$5.01" in exc.message and "$5.00 per call" in exc.message


def test_one_max_cost_caps_the_session_too() -> None:
    guard = SpendGuard(per_call_usd=1.0)
    assert guard.snapshot()["session_max_cost_usd"] == 1.0
    guard.commit(guard.reserve(0.48, "job 1"))
    guard.commit(guard.reserve(0.48, "job 2"))
    with pytest.raises(BudgetExceededError) as caught:
        guard.reserve(0.48, "job 3")
    refused = caught.value.to_dict()
    assert refused["limit"] == "session_max_cost" and refused["remaining_usd"] == 0.04
    assert refused["spent_usd"] == 0.96 and refused["raise_with"] == ["--session-max-cost"]
    assert "$0.04 left" in caught.value.message
    # What still fits, fits.
    guard.commit(guard.reserve(0.04, "a sliver"))
    assert guard.remaining() == 0


def test_a_separate_session_cap_allows_several_calls_under_the_call_cap() -> None:
    guard = SpendGuard(per_call_usd=2.0, session_usd=5.0)
    for _ in range(2):
        guard.commit(guard.reserve(2.0, "a job"))
    with pytest.raises(BudgetExceededError) as caught:
        guard.reserve(2.0, "a job")
    assert caught.value.limit == "session_max_cost" and caught.value.remaining_usd == 1.0
    only_session = SpendGuard(session_usd=3.0)
    assert only_session.per_call is None
    only_session.commit(only_session.reserve(3.0, "a job"))
    with pytest.raises(BudgetExceededError):
        only_session.reserve(0.01, "a job")


def test_reservations_hold_released_ones_return_and_settle_once() -> None:
    guard = SpendGuard(session_usd=1.0)
    held = guard.reserve(0.75, "job a")
    assert guard.snapshot()["session_pending_usd"] == 0.75
    with pytest.raises(BudgetExceededError):
        guard.reserve(0.5, "job b")  # the pending 0.75 counts
    guard.release(held)
    guard.release(held)  # settled already: no double refund
    assert guard.remaining() == 100
    partial = guard.reserve(1.0, "four shots")
    guard.commit(partial, 0.5)  # two of four shots were sent
    guard.commit(partial)
    snap = guard.snapshot()
    assert snap["session_spent_usd"] == 0.5 and snap["session_pending_usd"] == 0.0


def test_concurrent_calls_cannot_both_slip_under_the_cap() -> None:
    guard = SpendGuard(session_usd=10.0)
    granted: list[int] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        barrier.wait()
        try:
            guard.reserve(3.0, "a job")
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
