"""Learned expectations end to end: jobs on the emulator teach the next wait, and
``generate --dry-run --json`` says what it expects and why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from novareel import TextVideo, VideoGenerator
from novareel.cli import _register, app
from novareel.foundation.waiting import WaitProgress
from novareel.ledger import Ledger
from novareel.models import VideoShape, expected_generation_seconds
from tests.helpers import OUTPUT, make_client, record_timed_job

_register()
runner = CliRunner()
NOVA = "amazon.nova-reel-v1:1"
SIX = VideoShape(1280, 720, 24, 6)


def test_three_emulator_jobs_switch_the_next_wait_to_learned(
    reel: VideoGenerator, emulator: Any
) -> None:
    # One cached encode per shape: the emulator's reported times then follow its
    # latency model, not this machine's video encoder (reset restores "full").
    emulator.configure(render="fast")
    first = reel.expectation(NOVA, SIX)
    assert first.source == "built-in prior (seed lab 2025)"
    assert reel.ledger is not None
    speed = reel.time_scale
    for n in range(3):
        job = reel.submit(TextVideo(f"a lighthouse at night, take {n}"), OUTPUT)
        done = reel.wait(str(job.ledger_id), timeout=60)
        assert done.status == "Completed"
        assert done.submit_time is not None and done.end_time is not None
        record = reel.ledger.get(str(job.ledger_id))
        # The emulator's own times (ms precision), scaled back to real-service seconds.
        wall = (done.end_time - done.submit_time).total_seconds()
        assert record.generation_seconds == pytest.approx(wall * speed, abs=1e-6)
        assert record.time_scale == speed
        assert record.endpoint == reel.client.runtime_endpoint
        if n < 2:
            assert not reel.expectation(NOVA, SIX).learned
    learned = reel.expectation(NOVA, SIX)
    assert learned.learned and learned.samples == 3
    assert learned.source == "learned from 3 jobs (median)"
    times = reel.ledger.generation_times(NOVA, 6, reel.client.runtime_endpoint, limit=20)
    assert learned.seconds == pytest.approx(sorted(times)[1])

    # The next wait polls on the learned figure and says so to its progress callback.
    seen: list[WaitProgress] = []
    job = reel.submit(TextVideo("a lighthouse at night, take 4"), OUTPUT)
    reel.wait(str(job.ledger_id), timeout=60, on_progress=seen.append)
    assert seen and all(p.source == "learned from 3 jobs (median)" for p in seen)
    assert seen[0].expected == pytest.approx(learned.seconds / speed)


@pytest.fixture
def cli_args(emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.chdir(tmp_path)
    make_client(emulator.url).ensure_bucket("cli-bucket")
    return ["--endpoint-url", emulator.url, "--output-uri", "s3://cli-bucket/v/"]


def dry_run(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["generate", *args, "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_dry_run_json_reports_the_expectation_and_its_source(
    cli_args: list[str], emulator: Any
) -> None:
    before = dry_run("A lighthouse at night", *cli_args)
    assert before["expected_generation_seconds"] == expected_generation_seconds(NOVA, SIX)
    assert before["expected_source"] == "built-in prior (seed lab 2025)"
    with Ledger.open_default() as ledger:
        for seconds in (0.3, 0.25, 0.35):  # at speed 500: 150, 125 and 175 s
            record_timed_job(ledger, seconds, endpoint=emulator.url, time_scale=500.0)
        record_timed_job(ledger, 40.0)  # an AWS job: another world
    after = dry_run("A lighthouse at night", *cli_args)
    assert after["expected_generation_seconds"] == pytest.approx(150.0)
    assert after["expected_source"] == "learned from 3 jobs (median)"
    # Against AWS (no endpoint) the one AWS job is not enough: still the prior.
    aws = dry_run("A lighthouse at night", "--output-uri", "s3://cli-bucket/v/")
    assert aws["expected_source"] == "built-in prior (seed lab 2025)"
    # One job per shot (Luma Ray 2): each job says its own.
    shots = dry_run("--model-id", "luma.ray-v2:0", "--shot", "one", "--shot", "two", *cli_args)
    assert [j["expected_source"] for j in shots["jobs"]] == [
        "built-in prior (a guess, no published figure)"
    ] * 2


def test_text_dry_run_says_the_expectation(cli_args: list[str]) -> None:
    result = runner.invoke(app, ["generate", "A lighthouse at night", *cli_args, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "expected generation time: ~76 s on the real service, built-in prior" in (result.stderr)
