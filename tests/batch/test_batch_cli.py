"""``novareel batch``: dry run, exit codes, --json summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from novareel.cli import _register, app

_register()
runner = CliRunner()


def run(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_bad_file_exits_2_listing_every_item(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("- prompt: fine\n- prompt: ''\n- prompt: x\n  duration: 5\n", encoding="utf-8")
    result = run("batch", str(path), "--output-uri", "s3://some-bucket/v/", "--json")
    assert result.exit_code == 2
    problems = json.loads(result.stdout)["error"]["problems"]
    assert {p["field"].split(".")[0] for p in problems} == {"items[2]", "items[3]"}


def test_dry_run_prints_the_total_and_sends_nothing(tmp_path: Path) -> None:
    path = tmp_path / "plan.jsonl"
    path.write_text('{"prompt": "one"}\n{"prompt": "two", "duration": 12}\n', encoding="utf-8")
    result = run("batch", str(path), "--output-uri", "s3://some-bucket/v/", "--dry-run", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["dry_run"] is True and data["total"] == 2
    assert data["estimated_cost_usd"] == pytest.approx(1.44)
    # the library's dry run: each item's complete request, as generate --dry-run shows it
    first, second = data["items"]
    assert first["start_async_invoke"]["modelInput"]["textToVideoParams"]["text"] == "one"
    assert second["start_async_invoke"]["modelInput"]["taskType"] == "MULTI_SHOT_AUTOMATED"
    uri = first["start_async_invoke"]["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"]
    assert uri == "s3://some-bucket/v/"
    assert first["expected_seconds"] > 0
    human = run("batch", str(path), "--output-uri", "s3://some-bucket/v/", "--dry-run")
    assert "$1.44 in total" in human.stdout and "nothing was sent" in human.stdout


def test_batch_local_json_summary_and_exit_1_on_failure(
    emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NOVAREEL_EMULATOR_URL", emulator.url)
    path = tmp_path / "b.yaml"
    path.write_text(
        "- prompt: A quiet pond, static shot\n- prompt: This is blocked-output content\n",
        encoding="utf-8",
    )
    result = run("batch", str(path), "--local", "--out", str(tmp_path / "out"), "--json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert (summary["done"], summary["failed"]) == (1, 1)
    failure = summary["items"][1]["failure"]
    assert failure["type"] == "RAI_VIOLATION_OUTPUT_VIDEO_DEFLECTION" and failure["advice"]
    assert summary["cost_usd"] == pytest.approx(0.48)
    # the dry run now knows what the ledger holds
    plan = json.loads(run("batch", str(path), "--local", "--dry-run", "--json").stdout)
    assert [i["ledger_status"] for i in plan["items"]] == ["Completed", "Failed"]
    assert plan["remaining_cost_usd"] == pytest.approx(0.48)
