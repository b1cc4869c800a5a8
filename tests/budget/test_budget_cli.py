"""``--max-cost`` on generate and jobs retry, and ``novareel spend``, from the command line."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from novareel.cli import _register, app
from novareel.ledger import Ledger
from novareel.limits.budget import DAILY_ENV, MONTHLY_ENV
from tests.budget.helpers import LOCAL, seed

_register()
runner = CliRunner()


def run(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def accepted(emulator: Any) -> int:
    return int(emulator.stats()["acceptedSubmissions"])


@pytest.fixture
def local(emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """``--local`` on the test's emulator, downloading under tmp_path."""
    monkeypatch.setenv("NOVAREEL_EMULATOR_URL", emulator.url)
    return ["--local", "--out", str(tmp_path / "videos")]


# ------------------------------------------------------------------------- --max-cost


def test_generate_over_max_cost_exits_2_and_sends_nothing(emulator: Any, local: list[str]) -> None:
    result = run("generate", "A long harbour day", "--duration", "24", "--max-cost", "1", *local,
                 "--json")  # fmt: skip
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "BudgetExceededError"
    assert error["budget"]["limit"] == "max_cost"
    assert (error["budget"]["asked_usd"], error["budget"]["limit_usd"]) == (1.92, 1.0)
    assert error["budget"]["raise_with"] == ["--max-cost"]
    assert "--max-cost" in error["message"] and "$1.92" in error["message"]
    assert accepted(emulator) == 0
    with Ledger.open_default() as ledger:
        assert ledger.list_jobs() == []

    human = run("generate", "A long harbour day", "--duration", "24", "--max-cost", "1", *local)
    assert human.exit_code == 2
    assert "over the cap of $1.00" in human.stderr and "Raise --max-cost" in human.stderr
    assert accepted(emulator) == 0


def test_generate_within_max_cost_runs(emulator: Any, local: list[str]) -> None:
    result = run("generate", "A lighthouse at night", "--max-cost", "0.48", *local, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "Completed"
    assert accepted(emulator) == 1


def test_a_ray2_storyboard_is_judged_as_a_whole(emulator: Any, local: list[str]) -> None:
    # Two 5 s shots at 720p on Luma Ray 2: two jobs, $7.50 each.
    result = run("generate", "--shot", "A kite rises", "--shot", "The kite dives",
                 "--model-id", "luma-ray2", "--max-cost", "10", *local, "--json")  # fmt: skip
    assert result.exit_code == 2, result.output
    error = json.loads(result.stdout)["error"]
    assert error["budget"]["asked_usd"] == 15.0
    assert "this storyboard (2 jobs)" in error["message"]
    assert accepted(emulator) == 0


@pytest.mark.parametrize("value", ["abc", "-1", "nan"])
def test_bad_max_cost_exits_2_naming_the_flag(emulator: Any, local: list[str], value: str) -> None:
    for command in (["generate", "A cat"], ["batch", "missing.yaml"], ["jobs", "retry", "1"]):
        result = run(*command, "--max-cost", value, *local[:1], "--json")
        assert result.exit_code == 2, (command, result.output)
        problem = json.loads(result.stdout)["error"]["problems"][0]
        assert problem["field"] == "--max-cost" and problem["value"] == value
    assert accepted(emulator) == 0


def test_the_standing_budget_refuses_a_generate_on_a_paid_endpoint(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole command is checked before the first submit: remaining $0.20 < $0.48."""
    with Ledger.open_default() as ledger:
        seed(ledger, 19.80)
    monkeypatch.setenv(DAILY_ENV, "20")
    monkeypatch.setenv("NOVAREEL_BUDGET_COUNT_LOCAL", "true")
    monkeypatch.setenv("NOVAREEL_EMULATOR_URL", emulator.url)
    result = run("generate", "A cat", "--local", "--json")
    assert result.exit_code == 2
    budget = json.loads(result.stdout)["error"]["budget"]
    assert (budget["limit"], budget["remaining_usd"]) == ("daily", 0.2)
    assert accepted(emulator) == 0


def test_jobs_retry_honours_max_cost(emulator: Any, local: list[str]) -> None:
    failed = run("generate", "This is blocked-output content", *local, "--json")
    assert failed.exit_code == 1
    job = str(json.loads(failed.stdout)["error"]["result"]["ledger_id"])
    assert accepted(emulator) == 1

    refused = run("jobs", "retry", job, "--max-cost", "0.10", *local[:1], "--json")
    assert refused.exit_code == 2
    error = json.loads(refused.stdout)["error"]
    assert error["budget"]["asked_usd"] == 0.48 and error["budget"]["limit_usd"] == 0.1
    assert accepted(emulator) == 1

    allowed = run("jobs", "retry", job, "--max-cost", "0.48", "--no-wait", *local[:1], "--json")
    assert allowed.exit_code == 0, allowed.output
    assert accepted(emulator) == 2


# ------------------------------------------------------------------------------ spend


@pytest.fixture
def spent() -> dict[str, Any]:
    """AWS jobs today and yesterday on two models and a batch; a local job; and rows
    that must not count (unanswered, rejected)."""
    now = datetime.now(timezone.utc)
    with Ledger.open_default() as ledger:
        batch = ledger.get_or_create_batch(identity="x", file_path="/data/shots.yaml", defaults={})
        seed(ledger, 0.48, at=now)
        seed(ledger, 13.50, at=now, model_id="luma.ray-v2:0", batch_id=batch.id, batch_item="a")
        seed(ledger, 0.96, at=now - timedelta(days=1))
        seed(ledger, 1.44, at=now, endpoint=LOCAL)
        seed(ledger, 50.0, status="Submitting")
        seed(ledger, 50.0, status="Rejected")
    return {"now": now, "batch": batch.id}


def test_spend_json_by_day_leaves_local_and_unaccepted_jobs_out(
    spent: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DAILY_ENV, "20")
    monkeypatch.setenv(MONTHLY_ENV, "100")
    result = run("spend", "--since", "7d", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    today = spent["now"].strftime("%Y-%m-%d")
    yesterday = (spent["now"] - timedelta(days=1)).strftime("%Y-%m-%d")
    assert data["by"] == "day"
    assert [(r["key"], r["jobs"], r["usd"]) for r in data["aws"]["rows"]] == [
        (yesterday, 1, 0.96),
        (today, 2, 13.98),
    ]
    assert (data["aws"]["jobs"], data["aws"]["usd"]) == (3, 14.94)
    assert data["local"] == {
        "rows": [{"key": today, "jobs": 1, "usd": 1.44, "unpriced_jobs": 0}],
        "jobs": 1,
        "cost_here_usd": 0.0,
        "aws_equivalent_usd": 1.44,
    }
    daily, monthly = data["budgets"]
    # The budget also counts the unanswered ($50, Submitting) row: reserved from the
    # moment it was written (it may be paid); the rejected one is released.
    assert (daily["kind"], daily["spent_usd"], daily["remaining_usd"]) == ("daily", 63.98, 0.0)
    assert daily["source"] == DAILY_ENV
    assert monthly["kind"] == "monthly" and monthly["limit_usd"] == 100.0


def test_spend_by_model_and_by_batch(spent: dict[str, Any]) -> None:
    by_model = json.loads(run("spend", "--since", "7d", "--by", "model", "--json").stdout)
    assert {r["key"]: r["usd"] for r in by_model["aws"]["rows"]} == {
        "amazon.nova-reel-v1:1": 1.44,
        "luma.ray-v2:0": 13.5,
    }
    by_batch = json.loads(run("spend", "--since", "7d", "--by", "batch", "--json").stdout)
    rows = {r["key"]: (r["usd"], r["batch_file"]) for r in by_batch["aws"]["rows"]}
    assert rows == {spent["batch"]: (13.5, "/data/shots.yaml"), None: (1.44, None)}
    human = run("spend", "--since", "7d", "--by", "batch")
    assert f"{spent['batch']} (shots.yaml)" in human.stdout and "(no batch)" in human.stdout


def test_spend_text_shows_totals_local_jobs_apart_and_what_remains(
    spent: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DAILY_ENV, "20")
    monkeypatch.setenv("COLUMNS", "200")
    result = run("spend", "--since", "7d")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "$14.94" in out  # the AWS total
    assert "$0 here (≈ $1.44 on AWS)" in out
    # $13.98 accepted + $50 reserved (the unanswered row) is over the $20 budget.
    assert "$0.00 remains" in out and "NOVAREEL_BUDGET_DAILY_USD" in out


def test_spend_until_a_date_includes_that_day(spent: dict[str, Any]) -> None:
    yesterday = (spent["now"] - timedelta(days=1)).strftime("%Y-%m-%d")
    data = json.loads(run("spend", "--since", "7d", "--until", yesterday, "--json").stdout)
    assert data["aws"]["usd"] == 0.96


def test_spend_without_budget_says_how_to_set_one() -> None:
    result = run("spend")
    assert result.exit_code == 0
    assert "No standing budget is set" in result.stdout and "[budget]" in result.stdout


def test_spend_refuses_an_unknown_grouping() -> None:
    result = run("spend", "--by", "week", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["problems"][0]["field"] == "by"
