"""One submit -> wait -> download path, with hooks, and a library dry run.

The command line, the MCP server and ``jobs retry`` call :meth:`NovaReel.generate`,
:meth:`NovaReel.finish`, :func:`novareel.replay.retry` and :meth:`NovaReel.dry_run`
and only print; these tests hold the library to what those front ends rely on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from novareel import NovaReel, TextVideo
from novareel.client import start_async_invoke_params
from novareel.jobs import DownloadProgress
from novareel.waiting import WaitProgress
from tests.helpers import OUTPUT


def test_generate_hooks_fire_in_order_and_submitted_comes_before_the_wait(
    reel: NovaReel, tmp_path: Path
) -> None:
    events: list[str] = []
    accepted: list[Any] = []

    def on_submitted(job: Any) -> None:
        events.append("submitted")
        accepted.append(job)

    def on_progress(p: WaitProgress) -> None:
        if not events or events[-1] != "progress":
            events.append("progress")

    def on_download(p: DownloadProgress) -> None:
        if not events or events[-1] != "download":
            events.append("download")

    result = reel.generate(
        TextVideo("a kite over a beach, wide shot"),
        OUTPUT,
        out_dir=tmp_path,
        on_submitted=on_submitted,
        on_progress=on_progress,
        on_download=on_download,
        on_notice=lambda n: events.append("notice"),
    )
    assert result.status == "Completed" and result.video_path
    assert events.index("submitted") < events.index("progress") < events.index("download")
    # what on_submitted heard is the accepted job, before any wait
    assert accepted[0].status == "InProgress"
    assert accepted[0].ledger_id == result.ledger_id


def test_generate_without_wait_still_reports_the_submit(reel: NovaReel) -> None:
    heard: list[Any] = []
    result = reel.generate(TextVideo("no wait"), OUTPUT, wait=False, on_submitted=heard.append)
    assert result.status == "InProgress"
    assert [j.ledger_id for j in heard] == [result.ledger_id]


def test_finish_downloads_into_the_remembered_folder_only_when_there_is_one(
    reel: NovaReel, tmp_path: Path
) -> None:
    remembered = reel.submit(TextVideo("remembered"), OUTPUT, out_dir=tmp_path / "kept")
    done = reel.finish(str(remembered.ledger_id))  # download=None: the remembered --out
    assert done.status == "Completed"
    assert done.local_dir is not None and Path(done.local_dir).parent == tmp_path / "kept"

    bare = reel.submit(TextVideo("nowhere to go"), OUTPUT)
    waited = reel.finish(str(bare.ledger_id))
    assert waited.status == "Completed" and waited.local_files == ()

    never = reel.finish(str(remembered.ledger_id), tmp_path / "other", download=False)
    assert never.local_dir is None and not (tmp_path / "other").exists()


def test_finish_keeps_a_failed_jobs_status_file(
    reel: NovaReel, emulator: Any, tmp_path: Path
) -> None:
    emulator.fail_jobs(failure_type="INTERNAL_SERVER_EXCEPTION", shot=1)
    job = reel.submit(TextVideo("doomed"), OUTPUT)
    result = reel.finish(str(job.ledger_id), tmp_path, download=True)
    assert result.status == "Failed" and result.failure is not None
    names = {Path(p).name for p in result.local_files}
    assert "output.mp4" not in names and names  # the status/manifest files, no video


def test_retry_submits_once_and_finishes_like_generate(
    reel: NovaReel, emulator: Any, tmp_path: Path
) -> None:
    from novareel.replay import retry

    emulator.fail_jobs(failure_type="INTERNAL_SERVER_EXCEPTION", shot=1)
    failed = reel.generate(
        TextVideo("again please"), OUTPUT, out_dir=tmp_path, raise_on_failure=False
    )
    assert failed.status == "Failed"
    heard: list[Any] = []
    result = retry(reel, str(failed.ledger_id), on_submitted=heard.append)
    assert result.status == "Completed" and result.video_path
    assert [j.ledger_id for j in heard] == [result.ledger_id] != [failed.ledger_id]
    # into the failed job's own --out
    assert Path(result.video_path).is_relative_to(tmp_path)


def test_dry_run_is_what_submit_sends_and_sends_nothing(reel: NovaReel, emulator: Any) -> None:
    request = TextVideo("a lighthouse at dawn", seed=7)
    assert reel.ledger is not None
    before = len(list(reel.ledger.iter_jobs()))
    plan = reel.dry_run(request, OUTPUT, client_token="tok-123", tags={"team": "a"})
    assert [r.status for r in plan.results] == ["DryRun"]
    assert plan.estimated_cost_usd == pytest.approx(0.48)
    assert plan.duration_seconds == 6
    assert plan.start_async_invoke[0] == start_async_invoke_params(
        model_id=request.model_id,
        model_input=request.describe(),
        output=plan_output(OUTPUT),
        client_token="tok-123",
        tags={"team": "a"},
    )
    assert plan.expectations[0].seconds > 0 and plan.expectations[0].source
    # nothing was sent and nothing recorded
    assert emulator.jobs() == []
    assert len(list(reel.ledger.iter_jobs())) == before
    job = plan.job_dicts()[0]
    assert (
        job["status"] == "DryRun" and job["start_async_invoke"]["clientRequestToken"] == "tok-123"
    )


def test_dry_run_of_several_requests_shows_the_token_placeholder(reel: NovaReel) -> None:
    from novareel.jobs.dry_run import TOKEN_PLACEHOLDER

    plan = reel.dry_run([TextVideo("one"), TextVideo("two")], OUTPUT, client_token="fixed")
    assert [s["clientRequestToken"] for s in plan.start_async_invoke] == [TOKEN_PLACEHOLDER] * 2
    assert plan.estimated_cost_usd == pytest.approx(0.96)


def test_dry_run_shows_a_bad_output_uri_as_typed_with_its_problem(reel: NovaReel) -> None:
    plan = reel.dry_run(TextVideo("x"), "s3://Bad_Bucket/videos/")
    assert plan.problems and plan.problems[0].field.startswith("output")
    assert plan.results[0].output_uri == "s3://Bad_Bucket/videos/"
    assert plan.start_async_invoke[0]["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"].startswith(
        "s3://Bad_Bucket"
    )


def plan_output(uri: str) -> Any:
    from novareel.s3uri import output_location

    return output_location(uri, notices=[])
