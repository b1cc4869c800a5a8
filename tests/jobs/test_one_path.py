"""One submit -> wait -> download path, with hooks, and a library dry run.

The command line, the MCP server and ``jobs retry`` call :meth:`VideoGenerator.generate`,
:meth:`VideoGenerator.finish`, :func:`novareel.running.replay.retry` and
:meth:`VideoGenerator.dry_run` and only print; these tests hold the library to what
those front ends rely on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from novareel import TextVideo, VideoGenerator
from novareel.client import start_async_invoke_params
from novareel.foundation.waiting import WaitProgress
from novareel.jobs import DownloadProgress
from tests.helpers import OUTPUT


def test_generate_hooks_fire_in_order_and_submitted_comes_before_the_wait(
    reel: VideoGenerator, tmp_path: Path
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


def test_generate_without_wait_still_reports_the_submit(reel: VideoGenerator) -> None:
    heard: list[Any] = []
    result = reel.generate(TextVideo("no wait"), OUTPUT, wait=False, on_submitted=heard.append)
    assert result.status == "InProgress"
    assert [j.ledger_id for j in heard] == [result.ledger_id]


def test_finish_downloads_into_the_remembered_folder_only_when_there_is_one(
    reel: VideoGenerator, tmp_path: Path
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
    reel: VideoGenerator, emulator: Any, tmp_path: Path
) -> None:
    emulator.fail_jobs(failure_type="INTERNAL_SERVER_EXCEPTION", shot=1)
    job = reel.submit(TextVideo("doomed"), OUTPUT)
    result = reel.finish(str(job.ledger_id), tmp_path, download=True)
    assert result.status == "Failed" and result.failure is not None
    names = {Path(p).name for p in result.local_files}
    assert "output.mp4" not in names and names  # the status/manifest files, no video


def test_retry_submits_once_and_finishes_like_generate(
    reel: VideoGenerator, emulator: Any, tmp_path: Path
) -> None:
    from novareel.running.replay import retry

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


def test_dry_run_is_what_submit_sends_and_sends_nothing(
    reel: VideoGenerator, emulator: Any
) -> None:
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


def test_dry_run_of_several_requests_shows_the_token_placeholder(reel: VideoGenerator) -> None:
    from novareel.jobs.dry_run import TOKEN_PLACEHOLDER

    plan = reel.dry_run([TextVideo("one"), TextVideo("two")], OUTPUT, client_token="fixed")
    assert [s["clientRequestToken"] for s in plan.start_async_invoke] == [TOKEN_PLACEHOLDER] * 2
    assert plan.estimated_cost_usd == pytest.approx(0.96)


def test_the_plan_function_shows_a_bad_output_uri_as_typed_with_its_problem() -> None:
    """The doors that print (``generate --dry-run``, the MCP estimate) show the plan
    and its problems, then refuse (exit 2); the Python door refuses (below)."""
    from novareel.jobs.dry_run import dry_run

    plan = dry_run([TextVideo("x")], "s3://Bad_Bucket/videos/")
    assert plan.problems and plan.problems[0].field.startswith("output")
    assert plan.results[0].output_uri == "s3://Bad_Bucket/videos/"
    assert plan.start_async_invoke[0]["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"].startswith(
        "s3://Bad_Bucket"
    )


# --- the Python door answers as submit and the command line do (issue 19) ---------------


@pytest.mark.parametrize(
    "output,token,tags,named",
    [
        ("s3://Bad_Bucket/videos/", None, None, ["output_uri"]),
        (OUTPUT, "has spaces", None, ["client_token"]),
        ("s3://ab/", "tok", {"bad key!": "x"}, ["output_uri", "tags[bad key!]"]),
    ],
)
def test_dry_run_refuses_what_submit_refuses(
    reel: VideoGenerator,
    emulator: Any,
    output: str,
    token: str | None,
    tags: dict[str, str] | None,
    named: list[str],
) -> None:
    """Before: the Python dry run priced a job whose output location (or token, tags)
    submit refuses; now it raises, naming every problem (submit stops at its first
    failing check), and nothing is sent either way."""
    from novareel.foundation.errors import InvalidRequestError

    request = TextVideo("a lighthouse at dawn")
    with pytest.raises(InvalidRequestError) as planned:
        reel.dry_run(request, output, client_token=token, tags=tags)
    with pytest.raises(InvalidRequestError) as submitted:
        reel.submit(request, output, client_token=token, tags=tags)
    assert [p.field for p in planned.value.problems] == named
    assert {p.field for p in submitted.value.problems} <= set(named)
    assert emulator.jobs() == []


def test_dry_run_says_what_submit_says_and_tells_the_hook(
    reel: VideoGenerator, tmp_path: Path
) -> None:
    """Before: ``plan.notices == ()`` for any request (no lifecycle, prompt or image
    notice reached a Python caller's dry run); now they are the notices the submit of
    the same request says, also through ``on_notice``."""
    from PIL import Image

    from novareel.models import get_model, lifecycle_notice

    frame = tmp_path / "frame.png"
    Image.new("RGB", (1280, 720), (10, 20, 30)).save(frame, format="JPEG")
    request = TextVideo("A quiet street, no cars", image=str(frame))
    heard: list[str] = []
    plan = reel.dry_run(request, f"{OUTPUT}plan", on_notice=heard.append)
    said = " | ".join(plan.notices)
    assert 'negation ("no")' in said and "image: frame.png is named .png but holds JPEG" in said
    eol = lifecycle_notice(get_model(request.model_id))
    assert eol is None or eol in plan.notices  # Nova Reel's end of life, from its dates
    assert heard == list(plan.notices)
    assert f"output URI {OUTPUT}plan does not end in '/'" in said  # as submit says it
    submitted = reel.submit(request, f"{OUTPUT}plan")
    assert set(plan.notices) == set(submitted.notices)


def test_generate_reads_an_image_path(reel: VideoGenerator, tmp_path: Path) -> None:
    """Before: ``TextVideo(prompt, image="seashell.png")`` was accepted and generate
    raised ``AttributeError: 'str' object has no attribute 'problems'``."""
    from PIL import Image

    Image.new("RGB", (1280, 720), (230, 200, 170)).save(tmp_path / "seashell.png")
    request = TextVideo("Closeup of a seashell", image=str(tmp_path / "seashell.png"))
    result = reel.generate(request, OUTPUT, out_dir=tmp_path / "out")
    assert result.status == "Completed" and result.video_path
    assert result.request["textToVideoParams"]["images"][0]["path"].endswith("seashell.png")


@pytest.mark.parametrize(
    "python_request,cli_args",
    [
        (
            lambda: TextVideo("A man walks", duration=12, seed=-1, image="nope.png"),
            ["A man walks", "--task", "text", "--duration", "12", "--seed", "-1", "--image",
             "nope.png"],
        ),
        (
            lambda: __import__("novareel").RayVideo("A man walks", duration=6, resolution="1k"),
            ["A man walks", "--model-id", "luma-ray2", "--duration", "6", "--resolution", "1k"],
        ),
        (
            lambda: __import__("novareel").MultiShotAutomated("A man walks", duration=25),
            ["A man walks", "--duration", "25"],
        ),
    ],
)  # fmt: skip
def test_python_refuses_with_the_problems_the_cli_reports(
    python_request: Any, cli_args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same input, the same verdict: the problems a request class raises when built
    are the command line's (``generate --dry-run --json``), field by field."""
    import json

    from typer.testing import CliRunner

    from novareel.cli import _register, app
    from novareel.foundation.errors import InvalidRequestError

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NOVAREEL_HOME", str(tmp_path / "home"))
    _register()
    said = CliRunner().invoke(
        app, ["generate", *cli_args, "--dry-run", "--json", "--output-uri", OUTPUT]
    )
    assert said.exit_code == 2, said.output
    cli = [(p["field"], p["message"]) for p in json.loads(said.stdout)["error"]["problems"]]
    with pytest.raises(InvalidRequestError) as refused:
        python_request()
    assert [(p.field, p.message) for p in refused.value.problems] == cli


def plan_output(uri: str) -> Any:
    from novareel.foundation.s3uri import output_location

    return output_location(uri, notices=[])
