"""Rebuilding recorded requests, retrying jobs, and syncing with the service."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from novareel.foundation.errors import ImageError, InvalidRequestError
from novareel.jobs import VideoGenerator
from novareel.media.images import load_starting_frame
from novareel.models.base import Shot, VideoRequest
from novareel.models.nova_reel import MultiShotAutomated, MultiShotManual, TextVideo
from novareel.running.replay import rebuild_request, retry_job, sync_jobs
from tests.helpers import BUCKET, OUTPUT, write_png


def _record(reel: VideoGenerator, request: VideoRequest, **kwargs: Any) -> Any:
    assert reel.ledger is not None
    return reel.ledger.add_intent(
        client_token=kwargs.pop("token", f"tok-{id(request)}"),
        model_id=request.model_id,
        task_type=str(request.task_type),
        request=request.describe(),
        output_uri=OUTPUT,
        duration_seconds=request.duration_seconds,
        seed=request.seed,
        estimated_cost_usd=request.estimated_cost_usd,
        **kwargs,
    )


@pytest.mark.parametrize("kind", ["text", "text+image", "auto", "manual+image"])
def test_rebuild_gives_back_the_exact_model_input(
    reel: VideoGenerator, frame_png: Path, kind: str
) -> None:
    frame = load_starting_frame(frame_png)
    request: VideoRequest = {
        "text": TextVideo("A kite", seed=3),
        "text+image": TextVideo("A kite from a picture", image=frame),
        "auto": MultiShotAutomated("A harbour day", duration=24, seed=11),
        "manual+image": MultiShotManual([Shot("one"), Shot("two", frame)], seed=5),
    }[kind]
    rebuilt = rebuild_request(_record(reel, request))
    assert rebuilt.to_model_input() == request.to_model_input()


def test_rebuild_reapplies_the_recorded_fit(reel: VideoGenerator, tmp_path: Path) -> None:
    from PIL import Image

    small = tmp_path / "small.png"
    Image.new("RGB", (640, 480), (10, 120, 200)).save(small)
    frame = load_starting_frame(small, fit="crop")
    request = TextVideo("A cropped picture", image=frame)
    record = _record(reel, request)
    assert record.request["textToVideoParams"]["images"][0]["fit"] == "crop"
    assert rebuild_request(record).to_model_input() == request.to_model_input()


def test_rebuild_refuses_an_image_that_changed(
    reel: VideoGenerator, tmp_path: Path, frame_png: Path
) -> None:
    record = _record(reel, TextVideo("p", image=load_starting_frame(frame_png)))
    write_png(frame_png, (0, 255, 0))
    with pytest.raises(ImageError) as caught:
        rebuild_request(record)
    assert "has changed since job" in str(caught.value)
    frame_png.unlink()
    with pytest.raises(ImageError, match="file not found"):
        rebuild_request(record)


def test_rebuild_refuses_an_adopted_job(reel: VideoGenerator) -> None:
    assert reel.ledger is not None
    record, created = reel.ledger.adopt(
        invocation_arn="arn:aws:bedrock:us-east-1:123456789012:async-invoke/abcdefabcdef",
        model_id="amazon.nova-reel-v1:1",
        status="Failed",
        submit_time=None,
        end_time=None,
        output_uri=OUTPUT,
        client_token=None,
        failure_message="boom",
    )
    assert created
    with pytest.raises(InvalidRequestError, match="no recorded request"):
        rebuild_request(record)


def test_retry_a_failed_job_as_a_new_linked_job(
    reel: VideoGenerator, emulator: Any, tmp_path: Path
) -> None:
    emulator.fail_jobs("INTERNAL_SERVER_EXCEPTION", shot=1, count=1)
    failed = reel.generate(TextVideo("A stormy sea"), OUTPUT, out_dir=None, raise_on_failure=False)
    assert failed.status == "Failed" and failed.ledger_id is not None

    retried = retry_job(reel, failed.ledger_id)
    assert retried.ledger_id != failed.ledger_id
    assert retried.client_token != failed.client_token
    assert reel.ledger is not None
    record = reel.ledger.get(retried.ledger_id or 0)
    assert (record.attempt, record.retry_of) == (2, failed.ledger_id)
    done = reel.wait(str(retried.ledger_id))
    assert done.status == "Completed"
    assert emulator.stats()["acceptedSubmissions"] == 2

    # running the same retry twice never pays twice
    with pytest.raises(InvalidRequestError, match="already retried as job"):
        retry_job(reel, failed.ledger_id)
    # a Completed job is not retried
    with pytest.raises(InvalidRequestError, match="only Failed or Rejected"):
        retry_job(reel, retried.ledger_id or 0)
    assert emulator.stats()["acceptedSubmissions"] == 2


def test_retry_refuses_a_job_in_progress(reel: VideoGenerator, emulator: Any) -> None:
    record = _record(reel, TextVideo("still running"))
    assert reel.ledger is not None
    reel.ledger.mark_submitted(
        record.id,
        invocation_arn="arn:aws:bedrock:us-east-1:123456789012:async-invoke/aaaaaaaaaaaa",
        submit_time=datetime.now(timezone.utc),
    )
    with pytest.raises(InvalidRequestError, match="InProgress"):
        retry_job(reel, record.id)
    assert emulator.stats()["requests"].get("StartAsyncInvoke", 0) == 0


def test_retry_of_a_submitting_job_resends_its_own_token(
    reel: VideoGenerator, emulator: Any
) -> None:
    """A crash left the row Submitting after the service accepted: no second job."""
    request = TextVideo("A crash in the middle")
    record = _record(reel, request, token="crash-token-1")
    from novareel.foundation.s3uri import output_location

    arn = reel.client.start_async_invoke(
        model_id=request.model_id,
        model_input=request.to_model_input(),
        output=output_location(OUTPUT),
        client_token="crash-token-1",
    )
    healed = retry_job(reel, record.id)
    assert healed.ledger_id == record.id and healed.invocation_arn == arn
    stats = emulator.stats()
    assert stats["acceptedSubmissions"] == 1 and stats["idempotentReplays"] == 1


def test_sync_adopts_foreign_jobs_and_heals_crashed_rows(
    reel: VideoGenerator, emulator: Any, bedrock_client: Any
) -> None:
    # a job submitted elsewhere (console, another machine)
    foreign = bedrock_client.start_async_invoke(
        modelId="amazon.nova-reel-v1:1",
        modelInput=TextVideo("From another machine").to_model_input(),
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/elsewhere/"}},
        clientRequestToken="foreign-token",
    )["invocationArn"]
    # a row a crash left Submitting, although the service accepted the job
    request = TextVideo("Crashed before the answer")
    record = _record(reel, request, token="crashed-token")
    from novareel.foundation.s3uri import output_location

    arn = reel.client.start_async_invoke(
        model_id=request.model_id,
        model_input=request.to_model_input(),
        output=output_location(OUTPUT),
        client_token="crashed-token",
    )
    report = sync_jobs(reel)
    assert report.seen == 2
    assert len(report.adopted) == 1 and report.updated == [record.id]
    assert reel.ledger is not None
    adopted = reel.ledger.get(report.adopted[0])
    assert adopted.invocation_arn == foreign and adopted.task_type == "UNKNOWN"
    healed = reel.ledger.get(record.id)
    assert healed.invocation_arn == arn and healed.status != "Submitting"
    # a second sync finds nothing new
    again = sync_jobs(reel)
    assert again.adopted == [] and again.seen == 2


def test_retry_writes_where_the_original_did_with_the_same_kms_key(
    reel: VideoGenerator, emulator: Any
) -> None:
    from novareel.foundation.s3uri import output_location

    kms = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    output = output_location(OUTPUT, bucket_owner="123456789012", kms_key_id=kms)
    emulator.fail_jobs("INTERNAL_SERVER_EXCEPTION", shot=1, count=1)
    failed = reel.generate(TextVideo("A foggy pier"), output, out_dir=None, raise_on_failure=False)
    assert failed.status == "Failed" and failed.ledger_id is not None

    retried = retry_job(reel, failed.ledger_id)
    assert reel.ledger is not None
    record = reel.ledger.get(retried.ledger_id or 0)
    assert (record.output_bucket_owner, record.output_kms_key_id) == ("123456789012", kms)
    sent = [j for j in emulator.jobs() if j.get("clientRequestToken") == retried.client_token]
    assert sent, "the emulator saw the retry"
    assert kms in repr(sent[0]) and "123456789012" in repr(sent[0])
