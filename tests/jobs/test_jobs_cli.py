"""``novareel jobs``: list / show / sync / retry from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from novareel.cli import _register, app
from novareel.foundation.errors import InvalidRequestError
from novareel.foundation.when import parse_when

_register()
runner = CliRunner()


@pytest.fixture
def local_env(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``--local`` finds the session's emulator (and its speed) through the variable."""
    monkeypatch.setenv("NOVAREEL_EMULATOR_URL", emulator.url)
    return emulator


def run(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def generate(prompt: str, out: Path) -> dict[str, Any]:
    result = run("generate", prompt, "--local", "--out", str(out), "--json")
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_list_show_and_filters(local_env: Any, tmp_path: Path) -> None:
    local_env.fail_jobs("RAI_VIOLATION_OUTPUT_VIDEO_DEFLECTION", shot=1, marker="FILTER-ME")
    ok = generate("A calm lake at dawn, static shot", tmp_path)
    bad = generate("A scene FILTER-ME", tmp_path)
    assert ok["status"] == "Completed"
    assert bad["error"]["result"]["status"] == "Failed"

    listed = json.loads(run("jobs", "list", "--json").stdout)
    assert [j["status"] for j in listed] == ["Failed", "Completed"]  # newest first
    failed_only = json.loads(run("jobs", "--status", "failed", "--json").stdout)
    assert [j["id"] for j in failed_only] == [listed[0]["id"]]
    assert json.loads(run("jobs", "list", "--since", "1h", "--limit", "1", "--json").stdout)
    assert json.loads(run("jobs", "list", "--since", "2999-01-01", "--json").stdout) == []

    shown = json.loads(run("jobs", "show", str(listed[0]["id"]), "--json").stdout)
    assert shown["job"]["failure_type"] == "RAI_VIOLATION_OUTPUT_VIDEO_DEFLECTION"
    assert [e["status"] for e in shown["history"]] == ["Submitting", "InProgress", "Failed"]
    text = run("jobs", "show", str(listed[0]["id"])).stdout
    assert "Rephrase the prompt" in text and "history" in text

    table = run("jobs").stdout  # `novareel jobs` alone lists
    assert "Completed" in table and "Failed" in table


def test_bad_filters_exit_2() -> None:
    assert run("jobs", "list", "--status", "Done").exit_code == 2
    assert run("jobs", "list", "--since", "yesterday").exit_code == 2
    assert run("jobs", "show", "999").exit_code == 2


def test_parse_when_accepts_ages_and_dates() -> None:
    assert parse_when("2025-03-01") is not None
    when = parse_when("7d")
    assert when is not None and when.tzinfo is not None
    with pytest.raises(InvalidRequestError):
        parse_when("7 parsecs")


def test_sync_reports_adopted_jobs(local_env: Any, bedrock_client: Any, s3_client: Any) -> None:
    s3_client.create_bucket(Bucket="elsewhere-bucket")
    bedrock_client.start_async_invoke(
        modelId="amazon.nova-reel-v1:1",
        modelInput={
            "taskType": "TEXT_VIDEO",
            "textToVideoParams": {"text": "made in the console"},
            "videoGenerationConfig": {"durationSeconds": 6, "fps": 24, "dimension": "1280x720"},
        },
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://elsewhere-bucket/x/"}},
    )
    report = json.loads(run("jobs", "sync", "--local", "--json").stdout)
    assert report["seen"] == 1 and report["adopted"] == 1
    again = json.loads(run("jobs", "sync", "--local", "--json").stdout)
    assert again["adopted"] == 0 and again["unchanged"] + again["updated"] == 1


def test_retry_cli_waits_and_downloads(local_env: Any, tmp_path: Path) -> None:
    local_env.fail_jobs("INTERNAL_SERVER_EXCEPTION", shot=1, count=1)
    failed = generate("A windmill in the rain", tmp_path)
    job_id = failed["error"]["result"]["ledger_id"]
    result = run("jobs", "retry", str(job_id), "--local", "--out", str(tmp_path), "--json")
    assert result.exit_code == 0, result.stdout
    data = json.loads(result.stdout)
    assert data["status"] == "Completed" and data["ledger_id"] != job_id
    assert Path(data["local_dir"], "output.mp4").is_file()
    # the original cannot be retried a second time, and a Completed job never
    assert run("jobs", "retry", str(job_id), "--local").exit_code == 2
    assert run("jobs", "retry", str(data["ledger_id"]), "--local").exit_code == 2
