"""The batch runner end to end against the emulator, with injected faults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from novareel.batch import BatchEvent, BatchRunner, ItemPhase, load_batch, run_batch
from novareel.jobs import VideoGenerator
from tests.helpers import BUCKET, OUTPUT, make_client

V11 = "amazon.nova-reel-v1:1"


def text_batch(path: Path, count: int, *, extra: dict[int, str] | None = None) -> Path:
    lines = [f"defaults:\n  output_uri: {OUTPUT}\nitems:\n"]
    for i in range(1, count + 1):
        prompt = (extra or {}).get(i, f"A paper boat number {i} on a pond, static shot")
        lines.append(f"  - id: clip-{i}\n    prompt: {prompt}\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path


def accepted(emulator: Any) -> int:
    return int(emulator.stats()["acceptedSubmissions"])


def assert_all_downloaded(summary: Any) -> None:
    for item in summary.items:
        assert item.phase is ItemPhase.DONE, (item.key, item.message, item.failure)
        assert item.video_path is not None and Path(item.video_path).stat().st_size > 0


def test_mixed_task_types_all_done_and_downloaded(
    reel: VideoGenerator, emulator: Any, tmp_path: Path, frame_png: Path
) -> None:
    path = tmp_path / "mixed.yaml"
    path.write_text(
        f"""
defaults:
  output_uri: {OUTPUT}
items:
  - prompt: A red kite over green hills, static shot
  - prompt: A kite from a picture
    image: frame.png
  - prompt: A day in a busy harbour
    duration: 12
  - shots:
      - A cat wakes up
      - text: The cat stretches
        image: frame.png
""",
        encoding="utf-8",
    )
    events: list[BatchEvent] = []
    summary = run_batch(reel, path, out_dir=tmp_path / "out", on_event=events.append)
    assert summary.ok and summary.done == 4 and summary.failed == 0
    assert_all_downloaded(summary)
    assert accepted(emulator) == 4
    # 6 + 6 + 12 + 12 seconds of video at $0.08
    assert summary.cost_usd == pytest.approx(2.88)
    # every item went through the phases in order, ending done
    phases = [e.phase for e in events if e.key == "3"]
    assert phases[0] is ItemPhase.PENDING and phases[-1] is ItemPhase.DONE
    assert ItemPhase.IN_FLIGHT in phases and ItemPhase.DOWNLOADING in phases
    # the jobs are in the ledger under one batch, linked to their items
    assert reel.ledger is not None
    jobs = reel.ledger.batch_jobs(summary.batch_id)
    assert sorted(j.batch_item or "" for j in jobs) == ["1", "2", "3", "4"]
    assert {j.status for j in jobs} == {"Completed"}


def test_second_run_sends_nothing(reel: VideoGenerator, emulator: Any, tmp_path: Path) -> None:
    path = text_batch(tmp_path / "b.yaml", 3)
    first = run_batch(reel, path, out_dir=tmp_path / "out")
    assert first.ok
    before = emulator.stats()["requests"].get("StartAsyncInvoke", 0)
    second = run_batch(reel, path, out_dir=tmp_path / "out")
    assert second.ok and second.done == 3
    assert emulator.stats()["requests"].get("StartAsyncInvoke", 0) == before
    assert accepted(emulator) == 3


def test_throttling_storm_and_5xx_bursts(emulator: Any, tmp_path: Path) -> None:
    """Half the submits throttled, 5xx bursts on polling: every item still done once.

    botocore's own retries are off here (one attempt per call), so every throttle and
    5xx reaches the runner: what is tested is the runner's handling, not botocore's.
    """
    client = make_client(emulator.url, max_attempts=1, retry_mode="standard")
    client.ensure_bucket(BUCKET)
    reel = VideoGenerator(client, time_scale=float(emulator.health()["speed"]))
    emulator.fail_calls(
        "StartAsyncInvoke", "ThrottlingException", count=None, probability=0.5, seed=3
    )
    emulator.fail_calls("GetAsyncInvoke", "InternalServerException", count=4)
    emulator.fail_calls("ListAsyncInvokes", "ServiceUnavailableException", count=3)
    path = text_batch(tmp_path / "storm.yaml", 6)
    events: list[BatchEvent] = []
    with reel:
        summary = run_batch(
            reel, path, out_dir=tmp_path / "out", max_concurrent=3, on_event=events.append
        )
    assert_all_downloaded(summary)
    assert accepted(emulator) == 6
    rejections = emulator.stats()["rejections"]
    assert rejections.get("ThrottlingException", 0) > 0
    assert any(e.message.startswith("throttled") for e in events)


@pytest.mark.parametrize("quota_error", ["ThrottlingException", "ServiceQuotaExceededException"])
def test_learns_the_quota_instead_of_failing(
    reel: VideoGenerator, emulator: Any, tmp_path: Path, quota_error: str, monkeypatch: Any
) -> None:
    """The full quota answered as AWS users see it (ThrottlingException, the emulator's
    default) or as ServiceQuotaExceededException: every item is done, each paid once,
    instead of failing (here the configured shared quota, 6, is above the account's
    real one, 2). A ServiceQuotaExceededException reaches the runner, which waits and
    lowers its limit; botocore retries a ThrottlingException itself (same token), so the
    runner learns from it only when those retries run out, which depends on timing:
    that part is asserted for the quota error only."""
    monkeypatch.setenv("NOVAREEL_QUOTA", "6")
    emulator.configure(quotas={V11: 2}, quota_error=quota_error)
    path = text_batch(tmp_path / "quota.yaml", 6)
    pushed_back: list[str] = []

    def on_event(event: BatchEvent) -> None:
        if "waiting for a slot" in event.message:
            pushed_back.append(event.key)

    summary = run_batch(reel, path, out_dir=tmp_path / "out", max_concurrent=6, on_event=on_event)
    assert_all_downloaded(summary)
    assert accepted(emulator) == 6
    assert emulator.stats()["rejections"].get(quota_error, 0) >= 1
    if quota_error == "ServiceQuotaExceededException":
        assert pushed_back  # the runner saw the quota and waited instead of failing
        assert summary.concurrency_limit < 6


def test_job_failing_at_a_shot_is_retried_as_a_linked_job(
    reel: VideoGenerator, emulator: Any, tmp_path: Path
) -> None:
    emulator.fail_jobs("INTERNAL_SERVER_EXCEPTION", shot=2, count=1, marker="RETRY-ME")
    path = tmp_path / "retry.yaml"
    path.write_text(
        f"- prompt: A long harbour day RETRY-ME\n  duration: 12\n  output_uri: {OUTPUT}\n"
        f"- prompt: A quiet pond, static shot\n  output_uri: {OUTPUT}\n",
        encoding="utf-8",
    )
    summary = run_batch(reel, path, out_dir=tmp_path / "out")
    assert_all_downloaded(summary)
    assert accepted(emulator) == 2 + 1  # one per item plus one automatic retry
    assert reel.ledger is not None
    attempts = [j for j in reel.ledger.batch_jobs(summary.batch_id) if j.batch_item == "1"]
    assert [(j.attempt, j.status) for j in attempts] == [(1, "Failed"), (2, "Completed")]
    assert attempts[0].failure_type == "INTERNAL_SERVER_EXCEPTION"
    assert attempts[0].failure_shot == 2
    assert attempts[1].retry_of == attempts[0].id
    assert summary.items[0].attempts == 2


def test_retries_stop_at_max_retries(reel: VideoGenerator, emulator: Any, tmp_path: Path) -> None:
    emulator.fail_jobs("RATE_LIMIT_EXCEEDED", shot=1, count=None, marker="ALWAYS-FAILS")
    path = tmp_path / "hopeless.yaml"
    path.write_text(f"- prompt: ALWAYS-FAILS here\n  output_uri: {OUTPUT}\n", encoding="utf-8")
    summary = run_batch(reel, path, out_dir=tmp_path / "out", max_retries=1)
    assert not summary.ok and summary.failed == 1
    item = summary.items[0]
    assert item.attempts == 2 and item.failure is not None
    assert item.failure.type == "RATE_LIMIT_EXCEEDED"
    assert accepted(emulator) == 2


def test_content_filter_failure_is_not_retried(
    reel: VideoGenerator, emulator: Any, tmp_path: Path
) -> None:
    path = tmp_path / "filter.yaml"
    path.write_text(
        f"- prompt: A scene that gets blocked-output by the filter\n  output_uri: {OUTPUT}\n"
        f"- prompt: A quiet pond, static shot\n  output_uri: {OUTPUT}\n",
        encoding="utf-8",
    )
    summary = run_batch(reel, path, out_dir=tmp_path / "out")
    assert summary.done == 1 and summary.failed == 1 and not summary.ok
    blocked = summary.items[0]
    assert blocked.attempts == 1
    assert blocked.failure is not None
    assert blocked.failure.type == "RAI_VIOLATION_OUTPUT_VIDEO_DEFLECTION"
    assert "Rephrase" in blocked.failure.advice
    assert accepted(emulator) == 2
    # the summary carries the reason and the advice for the CLI and --json
    assert summary.to_dict()["items"][0]["failure"]["advice"] == blocked.failure.advice


def test_rejected_input_is_reported_and_other_items_go_on(
    reel: VideoGenerator, emulator: Any, tmp_path: Path
) -> None:
    path = tmp_path / "rejected.yaml"
    path.write_text(
        f"- prompt: this has a blocked-input word\n  output_uri: {OUTPUT}\n"
        f"- prompt: A quiet pond, static shot\n  output_uri: {OUTPUT}\n",
        encoding="utf-8",
    )
    summary = run_batch(reel, path, out_dir=tmp_path / "out")
    assert summary.done == 1 and summary.failed == 1
    assert summary.items[0].failure is not None
    assert summary.items[0].failure.type == "ValidationException"
    assert reel.ledger is not None
    job = reel.ledger.latest_attempt(summary.batch_id, "1")
    assert job is not None and job.status == "Rejected"


def test_changed_item_is_reported_not_resubmitted(
    reel: VideoGenerator, emulator: Any, tmp_path: Path
) -> None:
    path = text_batch(tmp_path / "edit.yaml", 2)
    assert run_batch(reel, path, out_dir=tmp_path / "out").ok
    text_batch(path, 2, extra={2: "A different boat entirely, pan left"})
    summary = run_batch(reel, path, out_dir=tmp_path / "out")
    assert [i.phase for i in summary.items] == [ItemPhase.DONE, ItemPhase.CHANGED]
    assert "--resubmit-changed" in summary.items[1].message
    assert accepted(emulator) == 2
    # asked explicitly, the changed item is sent as a new linked attempt
    again = run_batch(reel, path, out_dir=tmp_path / "out", resubmit_changed=True)
    assert again.ok and accepted(emulator) == 3
    assert reel.ledger is not None
    latest = reel.ledger.latest_attempt(again.batch_id, "clip-2")
    assert latest is not None and latest.attempt == 2 and latest.retry_of is not None


def test_crash_after_the_service_accepted_resends_the_same_token(
    reel: VideoGenerator, emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed between the ledger write and the answer: no item is paid for twice."""
    path = text_batch(tmp_path / "crash.yaml", 3)
    real_start = reel.client.start_async_invoke
    calls = {"n": 0}

    def start_then_die(**kwargs: Any) -> str:
        arn = real_start(**kwargs)
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the process "dies" with the job accepted
        return arn

    monkeypatch.setattr(reel.client, "start_async_invoke", start_then_die)
    with pytest.raises(KeyboardInterrupt):
        BatchRunner(reel, load_batch(path), out_dir=tmp_path / "out").run()
    assert reel.ledger is not None
    assert [j.status for j in reel.ledger.pending_jobs()].count("Submitting") == 1
    monkeypatch.setattr(reel.client, "start_async_invoke", real_start)

    summary = run_batch(reel, path, out_dir=tmp_path / "out")
    assert_all_downloaded(summary)
    stats = emulator.stats()
    assert stats["acceptedSubmissions"] == 3
    assert stats["idempotentReplays"] == 1  # the same token came back once


def test_timeout_leaves_jobs_running_and_a_rerun_finishes(
    reel: VideoGenerator, emulator: Any, tmp_path: Path
) -> None:
    path = text_batch(tmp_path / "slow.yaml", 2)
    emulator.configure(speed=5.0)  # a 6 s job now takes ~15 s
    stopped = run_batch(reel, path, out_dir=tmp_path / "out", timeout=0.3)
    assert stopped.timed_out and not stopped.ok and stopped.unfinished == 2
    assert any("run the same command again" in n for n in stopped.notices)
    for job in emulator.jobs():
        emulator.finish(job["invocationArn"])
    emulator.configure(speed=500.0)
    summary = run_batch(reel, path, out_dir=tmp_path / "out")
    assert_all_downloaded(summary)
    assert accepted(emulator) == 2
