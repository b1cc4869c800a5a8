"""`novareel review` against the emulator: the seed's request shape, the money, the fields.

The emulator's review is synthetic (built from what it rendered), so these tests check
the plumbing, the price, the ledger and the parsing -- not the judgement.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from novareel import TextVideo, VideoGenerator
from novareel.cli import _register, app
from novareel.foundation.errors import BudgetExceededError, InvalidRequestError, NovaReelError
from novareel.ledger import Ledger
from novareel.models.understanding import NOVA_2_LITE
from novareel.review import parse_verdict, plan_review, review_video
from tests.helpers import OUTPUT

_register()
runner = CliRunner()

PROMPT = "A red kite over green hills, static shot"
LITE_ID = "amazon.nova-2-lite-v1:0"

#: The seed page's Nova Lite video request by S3 location ("Submit a single prompt with
#: InvokeModel"), with the Nova user guide's schemaVersion, system and inferenceConfig:
#: the shape every review must send (values differ, keys and types may not).
SEED_REQUEST: dict[str, Any] = {
    "schemaVersion": "messages-v1",
    "system": [{"text": "You are an expert media analyst."}],
    "messages": [
        {
            "role": "user",
            "content": [
                {
                    "video": {
                        "format": "mp4",
                        "source": {"s3Location": {"uri": "s3://amzn-s3-demo-bucket/video.mp4"}},
                    }
                },
                {"text": "What happens in this video?"},
            ],
        }
    ],
    "inferenceConfig": {"maxTokens": 1000, "temperature": 0.3},
}


def shape(value: Any) -> Any:
    """Keys and value types, values dropped."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


@pytest.fixture
def job(reel: VideoGenerator, tmp_path: Path) -> Any:
    result = reel.generate(TextVideo(PROMPT), OUTPUT, out_dir=tmp_path / "videos")
    assert result.status == "Completed" and result.ledger_id is not None
    return result


@pytest.fixture
def local(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("NOVAREEL_EMULATOR_URL", emulator.url)
    return ["--local"]


def test_review_sends_the_seeds_request_shape_and_parses_the_verdict(
    reel: VideoGenerator, emulator: Any, job: Any
) -> None:
    outcome = review_video(reel, str(job.ledger_id))
    received = emulator.invocations()
    assert [(r["modelId"], r["error"]) for r in received] == [("us." + LITE_ID, None)]
    sent = received[0]["body"]
    assert shape(sent) == shape(SEED_REQUEST)
    assert sent["schemaVersion"] == "messages-v1"
    video, text = sent["messages"][0]["content"]
    uri = f"{job.output_uri}/output.mp4"
    assert video == {"video": {"format": "mp4", "source": {"s3Location": {"uri": uri}}}}
    assert PROMPT in text["text"] and "JSON" in text["text"]
    assert sent["inferenceConfig"]["maxTokens"] == 2000
    # The emulator's synthetic verdict, parsed into fields (it came in a ```json fence).
    assert [e["element"] for e in outcome.verdict.elements] == [
        "A red kite over green hills",
        "static shot",
    ]
    assert outcome.verdict.parse_error is None and outcome.verdict.defects == []
    assert outcome.verdict.summary.startswith("Synthetic review")
    # The price is the service's token counts at Nova 2 Lite's rates, under the estimate.
    assert outcome.input_tokens >= 6 * NOVA_2_LITE.tokens_per_frame
    assert outcome.cost_usd == pytest.approx(
        NOVA_2_LITE.cost_usd(outcome.input_tokens, outcome.output_tokens)
    )
    assert 0 < outcome.cost_usd <= outcome.plan.estimated_cost_usd


def test_over_max_cost_is_refused_before_any_call(
    emulator: Any, job: Any, local: list[str]
) -> None:
    said = runner.invoke(
        app, ["review", str(job.ledger_id), *local, "--max-cost", "0.0001", "--json"]
    )
    assert said.exit_code == 2, said.output
    assert "--max-cost" in json.loads(said.stdout)["error"]["message"]
    assert emulator.invocations() == []
    with Ledger.open_default() as ledger:
        assert ledger.reviews_of(job.ledger_id) == []


def test_a_review_counts_in_spend_and_against_the_standing_budget(
    reel: VideoGenerator, emulator: Any, job: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = review_video(reel, str(job.ledger_id))
    with Ledger.open_default() as ledger:
        rows = {r.model_id: r for r in ledger.spend(group_by=("model",))}
    assert rows[LITE_ID].usd == pytest.approx(outcome.cost_usd)
    assert rows[LITE_ID].jobs == 1 and rows[LITE_ID].ran_locally
    said = runner.invoke(app, ["spend", "--by", "model", "--json"])
    assert said.exit_code == 0 and LITE_ID in said.stdout
    # A standing budget (rehearsed locally) that the spend so far leaves no room in.
    monkeypatch.setenv("NOVAREEL_BUDGET_COUNT_LOCAL", "1")
    monkeypatch.setenv("NOVAREEL_BUDGET_DAILY_USD", "0.0001")
    with pytest.raises(BudgetExceededError):
        review_video(reel, str(job.ledger_id))
    assert len(emulator.invocations()) == 1  # the refused one sent nothing


def test_a_refused_call_is_recorded_failed_and_costs_nothing(
    reel: VideoGenerator, emulator: Any, job: Any
) -> None:
    emulator.fail_calls(operation="InvokeModel", code="AccessDeniedException", count=5)
    with pytest.raises(NovaReelError):
        review_video(reel, str(job.ledger_id))
    with Ledger.open_default() as ledger:
        (review,) = ledger.reviews_of(job.ledger_id)
        assert review.status == "Failed" and review.error
        assert LITE_ID not in {r.model_id for r in ledger.spend(group_by=("model",))}


def test_jobs_show_gallery_and_question_carry_the_review(
    job: Any, local: list[str], tmp_path: Path
) -> None:
    said = runner.invoke(
        app, ["review", str(job.ledger_id), *local, "--question", "Is it windy?", "--json"]
    )
    assert said.exit_code == 0, said.output
    assert json.loads(said.stdout)["verdict"]["answer"].endswith("Is it windy?")
    shown = runner.invoke(app, ["jobs", "show", str(job.ledger_id), "--json"])
    assert shown.exit_code == 0, shown.output
    (review,) = json.loads(shown.stdout)["reviews"]
    assert review["status"] == "Completed" and review["synthetic"] is True
    assert review["model_id"] == LITE_ID and review["cost_usd"] > 0
    assert review["input_tokens"] > 0 and review["output_tokens"] > 0
    assert [e["element"] for e in review["verdict"]["elements"]] == [
        "A red kite over green hills",
        "static shot",
    ]
    text = runner.invoke(app, ["jobs", "show", str(job.ledger_id)])
    assert "review" in text.stdout and "static shot" in text.stdout
    out = tmp_path / "gallery"
    built = runner.invoke(app, ["gallery", "--out", str(out), "--no-presign"])
    assert built.exit_code == 0, built.output
    page = (out / "index.html").read_text()
    assert 'class="review"' in page and "Review by amazon.nova-2-lite-v1:0" in page
    assert "static shot" in page.split('class="review"', 1)[1]


def test_the_mcp_tool_reviews_within_the_session_caps(
    emulator: Any, job: Any, local: list[str], tmp_path: Path
) -> None:
    from novareel.mcp_server.tools import AgentTools, ServerSettings

    root = tmp_path / "root"
    root.mkdir()
    tools = AgentTools(ServerSettings(root=root, local=True, max_cost_usd=5.0))
    payload = tools.review_job(str(job.ledger_id))
    assert [e["element"] for e in payload["verdict"]["elements"]][-1] == "static shot"
    assert payload["synthetic"] is True and payload["cost_usd"] > 0
    # The session's caps count whole cents: the review's hold is settled, not pending.
    assert payload["session"]["session_pending_usd"] == 0
    assert len(emulator.invocations()) == 1
    # Only ledger jobs: a video file elsewhere on the machine is not read and sent.
    with pytest.raises(NovaReelError):
        tools.review_job(str(Path(job.local_dir) / "output.mp4"))
    assert len(emulator.invocations()) == 1


def test_a_local_file_goes_as_bytes_within_the_limit(
    reel: VideoGenerator, emulator: Any, job: Any, tmp_path: Path
) -> None:
    video = Path(job.local_dir) / "output.mp4"
    outcome = review_video(reel, str(video))
    (received,) = emulator.invocations()
    source = received["body"]["messages"][0]["content"][0]["video"]["source"]
    assert source["bytes"]["base64Length"] > 0
    assert outcome.review_id is not None and outcome.plan.job is None
    big = tmp_path / "big.mp4"
    with big.open("wb") as f:
        f.truncate(NOVA_2_LITE.max_inline_video_bytes + 1)
    with pytest.raises(InvalidRequestError) as caught:
        plan_review(reel, str(big))
    assert caught.value.field == "video" and "25000000" in str(caught.value)
    assert len(emulator.invocations()) == 1


def test_an_unfinished_or_unknown_model_is_refused_before_sending(
    reel: VideoGenerator, emulator: Any, job: Any
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        plan_review(reel, str(job.ledger_id), model_id="nova-reel")
    assert caught.value.field == "--model-id"
    plan = plan_review(reel, str(job.ledger_id), model_id="global." + LITE_ID)
    assert plan.invoke_id == "global." + LITE_ID
    assert emulator.invocations() == []


def test_video_doors_do_not_offer_the_review_model() -> None:
    said = runner.invoke(
        app,
        ["generate", "a fox", "--model-id", "nova-2-lite", "--dry-run", "--json"],
        env={**os.environ},
    )
    assert said.exit_code == 2, said.output
    message = json.loads(said.stdout)["error"]["message"]
    assert "reviews videos" in message and "nova-2-lite" in message
    models = runner.invoke(app, ["models", "--offline", "--json"])
    assert "nova-2-lite" not in models.stdout


@pytest.mark.parametrize(
    "text",
    [
        '```json\n{"elements": [{"element": "kite", "score": 0.8}], "summary": "ok"}\n```',
        'Here is the review:\n{"elements": [{"element": "kite", "score": 0.8}], "summary": "ok"}'
        "\nHope it helps.",
        '{"elements": [{"element": "kite", "score": 0.8}], "summary": "ok"}',
    ],
)
def test_the_verdict_is_found_whatever_wraps_it(text: str) -> None:
    verdict = parse_verdict(text)
    assert verdict.parse_error is None
    assert verdict.elements == [{"element": "kite", "score": 0.8}] and verdict.score == 0.8


def test_a_parse_failure_is_reported_not_raised() -> None:
    verdict = parse_verdict("I cannot see a video.")
    assert verdict.parse_error == "the answer holds no JSON object"
    assert verdict.summary == "I cannot see a video." and verdict.elements == []
    assert parse_verdict('{"defects": []}').parse_error == "the JSON lacks elements, summary"


def test_generate_review_reviews_the_finished_video(
    emulator: Any, local: list[str], tmp_path: Path
) -> None:
    said = runner.invoke(
        app, ["generate", PROMPT, *local, "--out", str(tmp_path / "v"), "--review", "--json"]
    )
    assert said.exit_code == 0, said.output
    data = json.loads(said.stdout)
    assert data["status"] == "Completed"
    review = data["review"]
    assert review["job_id"] == data["ledger_id"] and review["synthetic"] is True
    assert review["verdict"]["elements"][-1]["element"] == "static shot"
    (received,) = emulator.invocations()
    assert received["body"]["messages"][0]["content"][0]["video"]["source"]["s3Location"]["uri"]
    text = runner.invoke(app, ["generate", "A quiet pond", *local, "--out", str(tmp_path / "w")])
    assert text.exit_code == 0 and "summary:" not in text.stdout  # no --review, no review
    assert len(emulator.invocations()) == 1


def test_batch_review_reviews_each_done_item_and_reports_the_failed_one(
    emulator: Any, local: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "b.yaml"
    path.write_text(
        "- prompt: A quiet pond, static shot\n- prompt: This is blocked-output content\n"
        "- prompt: A windmill at dusk\n",
        encoding="utf-8",
    )
    said = runner.invoke(
        app, ["batch", str(path), *local, "--out", str(tmp_path / "out"), "--review", "--json"]
    )
    assert said.exit_code == 1, said.output  # one item failed
    summary = json.loads(said.stdout)
    done = [i["job_id"] for i in summary["items"] if i["status"] == "done"]
    assert len(done) == 2
    assert sorted(r["job_id"] for r in summary["reviews"]) == sorted(done)
    assert all(r["verdict"]["parse_error"] is None for r in summary["reviews"])
    assert len(emulator.invocations()) == 2


def test_review_text_shows_the_price_first_then_the_fields(job: Any, local: list[str]) -> None:
    said = runner.invoke(app, ["review", str(job.ledger_id), *local])
    assert said.exit_code == 0, said.output
    assert "reviewing s3://" in said.stderr and "at most ~$0.00" in said.stderr
    assert "synthetic" in said.stdout and "summary: Synthetic review" in said.stdout
    assert "  - static shot [shown, 0.9]" in said.stdout
    assert "on AWS (nothing here)" in said.stdout


def test_a_job_whose_s3_copy_is_gone_is_reviewed_from_its_download(
    reel: VideoGenerator, emulator: Any, job: Any
) -> None:
    """An emulator that restarted (or an S3 lifecycle rule) took the object away: the
    downloaded copy is sent as bytes instead of a call the service can only refuse;
    with no copy either, the review is refused before any call, naming the job."""
    from novareel.foundation.s3uri import parse_s3_uri

    uri = parse_s3_uri(f"{job.output_uri}/output.mp4")
    reel.client.s3.delete_object(Bucket=uri.bucket, Key=uri.key)
    outcome = review_video(reel, str(job.ledger_id))
    received = emulator.invocations()
    assert [r["error"] for r in received] == [None]
    video = received[0]["body"]["messages"][0]["content"][0]["video"]
    assert "bytes" in video["source"] and "s3Location" not in video["source"]
    assert outcome.plan.video.endswith("output.mp4") and not outcome.plan.video.startswith("s3:")

    for name in job.local_files:
        Path(name).unlink(missing_ok=True)
    with pytest.raises(InvalidRequestError) as refused:
        review_video(reel, str(job.ledger_id))
    assert refused.value.problems[0].field == "job"
    assert "no longer in S3" in str(refused.value)
    assert len(emulator.invocations()) == 1  # nothing more was sent


def test_a_storyboard_shot_is_reviewed_and_checked_from_its_shot_file(
    reel: VideoGenerator, emulator: Any, tmp_path: Path
) -> None:
    """A per-shot storyboard fetches each shot's video as ``shot_000N.mp4`` into its one
    folder (running/shotboard) and the ledger records that file as the job's: a review
    whose S3 copy is gone, and ``qa <job>``, read it (as the gallery always did)
    instead of finding no video because the file is not called output.mp4."""
    from novareel.foundation.s3uri import parse_s3_uri
    from novareel.running.shotboard import _fetch_shot

    submitted = reel.submit(TextVideo(PROMPT), OUTPUT)
    assert submitted.ledger_id is not None
    done = reel.finish(str(submitted.ledger_id), download=False)
    assert done.status == "Completed" and done.output_uri is not None
    shot = tmp_path / "board" / "shot_0001.mp4"
    shot.parent.mkdir()
    _fetch_shot(reel, submitted.ledger_id, shot, check_video=False)
    assert reel.ledger is not None
    assert reel.ledger.get(submitted.ledger_id).local_files == [str(shot)]

    uri = parse_s3_uri(f"{done.output_uri}/output.mp4")
    reel.client.s3.delete_object(Bucket=uri.bucket, Key=uri.key)
    outcome = review_video(reel, str(submitted.ledger_id))
    assert outcome.plan.video == str(shot)
    sent = emulator.invocations()[-1]["body"]["messages"][0]["content"][0]["video"]
    assert "bytes" in sent["source"]

    checked = runner.invoke(app, ["qa", str(submitted.ledger_id), "--json"])
    assert checked.exit_code != 2, checked.output  # 1: the static shot is "frozen"
    data = json.loads(checked.stdout)
    assert data["job"] == submitted.ledger_id and data["path"] == str(shot)


def test_a_review_is_held_to_the_mcp_session_cap_and_carries_its_session(
    emulator: Any, job: Any, local: list[str], tmp_path: Path
) -> None:
    """The session's cap is checked in the review's reservation transaction (as a
    job's is), and the review row carries the session's key, so every server process
    of that session counts it."""
    from novareel.mcp_server.tools import AgentTools, ServerSettings

    root = tmp_path / "root"
    root.mkdir()
    capped = AgentTools(
        ServerSettings(root=root, local=True, session_max_cost_usd=0.004, session="team-a")
    )
    with pytest.raises(BudgetExceededError):
        capped.review_job(str(job.ledger_id))  # ~$0.0055 estimated, over $0.004
    assert emulator.invocations() == []
    roomy = AgentTools(
        ServerSettings(root=root, local=True, session_max_cost_usd=1.0, session="team-b")
    )
    payload = roomy.review_job(str(job.ledger_id))
    assert len(emulator.invocations()) == 1
    with Ledger() as ledger:
        rows = ledger.conn.execute("SELECT session_key, status FROM reviews").fetchall()
        assert [(r["session_key"], r["status"]) for r in rows] == [("team-b", "Completed")]
        spent, pending = ledger.session_spend("team-b")
    assert spent == pytest.approx(payload["cost_usd"], abs=1e-6) and pending == 0
