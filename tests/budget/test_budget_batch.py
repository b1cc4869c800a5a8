"""A batch that would cross the daily budget stops at it: every job sent is recorded,
waited for and downloaded; the rest stays pending, and a later run finishes exactly once.

Jobs on the emulator are local and cost nothing, so the standing budget ignores them;
these tests rehearse with ``NOVAREEL_BUDGET_COUNT_LOCAL=1`` (documented in
docs/budgets.md), which counts and checks local jobs at their AWS price, on top of AWS
jobs seeded in the ledger for today.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from novareel.batch import BatchRunner, ItemPhase, load_batch
from novareel.cli import _register, app
from novareel.jobs import VideoGenerator
from novareel.limits.budget import COUNT_LOCAL_ENV, DAILY_ENV
from tests.budget.helpers import seed
from tests.helpers import OUTPUT

_register()
runner = CliRunner()


def five_items(path: Path, output: str = OUTPUT) -> Path:
    lines = [f"defaults:\n  output_uri: {output}\nitems:\n"]
    lines += [
        f"  - id: clip-{i}\n    prompt: A paper boat number {i}, static shot\n" for i in range(1, 6)
    ]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def accepted(emulator: Any) -> int:
    return int(emulator.stats()["acceptedSubmissions"])


@pytest.fixture
def rehearsal(monkeypatch: pytest.MonkeyPatch) -> None:
    """$2.00 a day, local jobs counted (each item is a $0.48 Nova Reel clip)."""
    monkeypatch.setenv(DAILY_ENV, "2.00")
    monkeypatch.setenv(COUNT_LOCAL_ENV, "1")


def test_batch_stops_at_the_daily_budget_and_a_rerun_finishes_exactly_once(
    reel: VideoGenerator,
    emulator: Any,
    tmp_path: Path,
    rehearsal: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert reel.ledger is not None
    seed(reel.ledger, 0.50)  # $0.50 already spent on AWS today: $1.50 remains = 3 clips
    batch = load_batch(five_items(tmp_path / "b.yaml"))
    out = tmp_path / "out"

    summary = BatchRunner(reel, batch, out_dir=out, max_concurrent=2, check_video=False).run()

    assert accepted(emulator) == 3
    assert not summary.ok and summary.done == 3 and summary.unfinished == 2
    assert summary.budget_stop is not None
    assert summary.budget_stop["limit"] == "daily"
    assert summary.budget_stop["asked_usd"] == 0.48
    assert summary.budget_stop["spent_usd"] == pytest.approx(1.94)
    assert any("stopped submitting at the daily limit" in n for n in summary.notices)
    done = [i for i in summary.items if i.phase is ItemPhase.DONE]
    left = [i for i in summary.items if i.phase is ItemPhase.PENDING]
    assert [i.key for i in done] == ["clip-1", "clip-2", "clip-3"]
    assert [i.key for i in left] == ["clip-4", "clip-5"]
    # Every job sent is recorded and was waited for and downloaded...
    for item in done:
        assert item.job_id is not None and item.video_path and Path(item.video_path).is_file()
    # ...and nothing of the rest was written: a rerun starts them fresh.
    batch_jobs = reel.ledger.batch_jobs(summary.batch_id)
    assert sorted(str(j.batch_item) for j in batch_jobs) == ["clip-1", "clip-2", "clip-3"]
    assert all(j.status == "Completed" for j in batch_jobs)

    # The limit is raised: the same batch continues with the two left, each once.
    monkeypatch.setenv(DAILY_ENV, "10")
    again = BatchRunner(reel, load_batch(tmp_path / "b.yaml"), out_dir=out, check_video=False).run()
    assert again.ok and again.budget_stop is None
    assert accepted(emulator) == 5
    jobs = reel.ledger.batch_jobs(again.batch_id)
    assert sorted(str(j.batch_item) for j in jobs) == [f"clip-{i}" for i in range(1, 6)]
    assert all(j.attempt == 1 for j in jobs)


def test_a_budget_already_spent_sends_nothing(
    reel: VideoGenerator, emulator: Any, tmp_path: Path, rehearsal: None
) -> None:
    assert reel.ledger is not None
    seed(reel.ledger, 1.90)
    summary = BatchRunner(reel, load_batch(five_items(tmp_path / "b.yaml")), out_dir=None).run()
    assert accepted(emulator) == 0
    assert summary.unfinished == 5 and summary.budget_stop is not None
    assert summary.budget_stop["remaining_usd"] == pytest.approx(0.10)


def test_max_cost_refuses_a_run_over_it_before_anything_is_sent(
    emulator: Any, tmp_path: Path
) -> None:
    from novareel.foundation.errors import BudgetExceededError
    from tests.helpers import BUCKET, make_client

    client = make_client(emulator.url)
    client.ensure_bucket(BUCKET)
    with VideoGenerator(client, max_cost_usd=2.0, time_scale=500.0) as api:
        batch = load_batch(five_items(tmp_path / "b.yaml"))
        with pytest.raises(BudgetExceededError, match=r"5 job\(s\) to send.*\$2\.40"):
            BatchRunner(api, batch, out_dir=None).run()
    assert accepted(emulator) == 0


def test_cli_batch_exits_2_at_the_budget_and_says_why(
    emulator: Any, tmp_path: Path, rehearsal: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from novareel.ledger import Ledger

    monkeypatch.setenv("NOVAREEL_EMULATOR_URL", emulator.url)
    with Ledger.open_default() as ledger:
        seed(ledger, 0.50)
    path = five_items(tmp_path / "b.yaml", output="s3://novareel-local/v/")
    out = tmp_path / "out"
    args = ["batch", str(path), "--local", "--no-video-check", "--out", str(out)]
    result = runner.invoke(
        app,
        ["batch", str(path), "--local", "--no-video-check", "--out", str(out), "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 2, result.output
    summary = json.loads(result.stdout)
    assert (summary["done"], summary["unfinished"]) == (3, 2)
    assert summary["budget_stop"]["limit"] == "daily"
    assert "NOVAREEL_BUDGET_DAILY_USD" in " ".join(summary["budget_stop"]["raise_with"])
    assert accepted(emulator) == 3

    human = runner.invoke(app, args)
    assert human.exit_code == 2
    assert "stopped submitting at the daily limit" in human.stderr
    assert "[budget]" in human.stderr  # Rich markup did not eat the config hint
    assert accepted(emulator) == 3

    monkeypatch.setenv(DAILY_ENV, "off")
    final = runner.invoke(app, [*args, "--json"])
    assert final.exit_code == 0, final.output
    assert json.loads(final.stdout)["done"] == 5
    assert accepted(emulator) == 5
