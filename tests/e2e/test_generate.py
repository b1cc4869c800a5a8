"""Every task type end to end: real boto3 over HTTP against the emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from novareel import (
    JobFailedError,
    MultiShotAutomated,
    MultiShotManual,
    Shot,
    TextVideo,
    VideoGenerator,
    WaitTimeoutError,
    load_starting_frame,
)
from novareel.foundation.errors import InvalidRequestError
from novareel.models import get_model, lifecycle_notice
from tests.helpers import OUTPUT, job_dir


def video_facts(path: str | Path) -> tuple[str, int, int, float, int]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return (
            stream.codec_context.name,
            stream.codec_context.width,
            stream.codec_context.height,
            float(stream.average_rate),
            frames,
        )


def first_frame(path: str | Path) -> np.ndarray:
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return frame.to_ndarray(format="rgb24").astype(np.int16)


def test_text_video_end_to_end(reel: VideoGenerator, tmp_path: Path) -> None:
    result = reel.generate(
        TextVideo("A golden sunset over calm ocean waves"), OUTPUT, out_dir=tmp_path
    )
    assert result.status == "Completed"
    assert result.invocation_id and len(result.invocation_id) == 12
    folder = job_dir(tmp_path, result.invocation_id)
    assert folder.name.endswith("-a-golden-sunset-over-calm-ocean-waves-" + result.invocation_id)
    assert sorted(p.name for p in folder.iterdir()) == [
        "manifest.json",
        "output.mp4",
        "video-generation-status.json",
    ]
    assert result.video_path == str(folder / "output.mp4")
    assert video_facts(folder / "output.mp4") == ("h264", 1280, 720, 24.0, 144)
    assert result.estimated_cost_usd == pytest.approx(0.48)
    assert result.end_time is not None and result.submit_time is not None
    # The only notice is the default model's lifecycle (said before the submit).
    lifecycle = lifecycle_notice(get_model(result.model_id))
    assert result.notices == ((lifecycle,) if lifecycle else ())
    assert reel.ledger is not None
    row = reel.ledger.get(result.invocation_id)
    assert row.ran_locally and row.endpoint == reel.client.endpoint_url


def test_starting_frame_is_the_first_frame(
    reel: VideoGenerator, tmp_path: Path, frame_png: Path
) -> None:
    request = TextVideo("Camera zooms in slowly", image=load_starting_frame(frame_png))
    result = reel.generate(request, OUTPUT, out_dir=tmp_path)
    got = first_frame(result.video_path or "")
    want = np.asarray(Image.open(frame_png).convert("RGB"), dtype=np.int16)
    assert np.abs(got - want).mean() < 6


def test_automated_multi_shot(reel: VideoGenerator, tmp_path: Path) -> None:
    request = MultiShotAutomated("Ocean waves. Coral reef. A whale breaches.", duration=18)
    result = reel.generate(request, OUTPUT, out_dir=tmp_path)
    names = sorted(Path(p).name for p in result.local_files)
    assert names == [
        "manifest.json",
        "output.mp4",
        "shot_0001.mp4",
        "shot_0002.mp4",
        "shot_0003.mp4",
        "video-generation-status.json",
    ]
    assert video_facts(result.video_path or "")[4] == 3 * 144
    assert result.estimated_cost_usd == pytest.approx(1.44)


def test_manual_storyboard_with_image_on_shot_two(
    reel: VideoGenerator, tmp_path: Path, frame_png: Path
) -> None:
    shots = [
        Shot("A dense forest in spring"),
        Shot("The same forest in summer", image=load_starting_frame(frame_png)),
    ]
    result = reel.generate(MultiShotManual(shots), OUTPUT, out_dir=tmp_path)
    assert result.duration_seconds == 12
    shot2 = next(p for p in result.local_files if p.endswith("shot_0002.mp4"))
    want = np.asarray(Image.open(frame_png).convert("RGB"), dtype=np.int16)
    assert np.abs(first_frame(shot2) - want).mean() < 6
    assert video_facts(result.video_path or "")[4] == 2 * 144


def test_v1_0_text_video(reel: VideoGenerator, tmp_path: Path) -> None:
    result = reel.generate(
        TextVideo("A red sports car", model_id="amazon.nova-reel-v1:0"), OUTPUT, out_dir=tmp_path
    )
    assert result.status == "Completed" and result.model_id == "amazon.nova-reel-v1:0"


def test_failed_job_is_explained(reel: VideoGenerator, emulator: Any, tmp_path: Path) -> None:
    emulator.fail_jobs(failure_type="INTERNAL_SERVER_EXCEPTION", shot=2)
    with pytest.raises(JobFailedError) as exc:
        reel.generate(MultiShotAutomated("Long documentary", duration=18), OUTPUT, out_dir=tmp_path)
    result = exc.value.result
    assert result.status == "Failed"
    assert result.failure.type == "INTERNAL_SERVER_EXCEPTION"
    assert result.failure.shot == 2
    assert "Resubmit" in result.failure.advice
    assert "shot 2" in str(exc.value)
    # the status file is kept locally; there is no video
    names = {Path(p).name for p in result.local_files}
    assert "video-generation-status.json" in names and "output.mp4" not in names
    # and the ledger remembers the failure
    record = reel.ledger.get(result.ledger_id)
    assert (record.status, record.failure_type, record.failure_shot) == (
        "Failed",
        "INTERNAL_SERVER_EXCEPTION",
        2,
    )


def test_blocked_output_is_explained_with_rephrase_advice(reel: VideoGenerator) -> None:
    submitted = reel.submit(TextVideo("a blocked-output scene"), OUTPUT)
    result = reel.wait(str(submitted.ledger_id))
    assert result.status == "Failed"
    assert result.failure.type == "RAI_VIOLATION_OUTPUT_VIDEO_DEFLECTION"
    assert "Rephrase" in result.failure.advice


def test_timeout_leaves_job_running_and_says_how_to_resume(
    reel: VideoGenerator, emulator: Any
) -> None:
    emulator.configure(speed=1.0)  # a 6 s video takes 76 s: far beyond the timeout
    submitted = reel.submit(TextVideo("slow job"), OUTPUT)
    with pytest.raises(WaitTimeoutError) as exc:
        reel.wait(str(submitted.ledger_id), timeout=0.3)
    assert exc.value.result.status == "InProgress"
    assert f"novareel wait {submitted.ledger_id}" in (exc.value.hint or "")
    emulator.finish(submitted.invocation_arn)
    finished = reel.wait(str(submitted.ledger_id), timeout=30)
    assert finished.status == "Completed"


def test_invalid_request_sends_nothing(reel: VideoGenerator, emulator: Any) -> None:
    before = emulator.stats()["totalRequests"]
    with pytest.raises(InvalidRequestError) as exc:
        reel.submit(MultiShotAutomated("x", duration=13), OUTPUT)
    assert exc.value.field == "duration"
    assert emulator.stats()["totalRequests"] == before
    assert reel.ledger.list_jobs() == []


def test_status_and_list_resolve_every_kind_of_reference(reel: VideoGenerator) -> None:
    submitted = reel.submit(TextVideo("refs"), OUTPUT)
    arn = submitted.invocation_arn or ""
    for ref in (str(submitted.ledger_id), submitted.invocation_id or "", arn):
        assert reel.status(ref).invocation_arn == arn
    reel.wait(arn)
    listed = reel.list(status="Completed")
    assert [r.invocation_arn for r in listed] == [arn]
    assert listed[0].ledger_id == submitted.ledger_id


def test_download_twice_fetches_nothing_new(
    reel: VideoGenerator, emulator: Any, tmp_path: Path
) -> None:
    result = reel.generate(TextVideo("twice"), OUTPUT, out_dir=tmp_path)
    gets_before = emulator.stats()["requests"].get("GetObject", 0)
    again = reel.download(str(result.ledger_id), tmp_path)
    assert again.local_files == result.local_files
    assert emulator.stats()["requests"].get("GetObject", 0) == gets_before


def test_status_file_is_valid_json_with_full_video(reel: VideoGenerator, tmp_path: Path) -> None:
    result = reel.generate(TextVideo("status file"), OUTPUT, out_dir=tmp_path)
    status = json.loads((Path(result.local_dir or "") / "video-generation-status.json").read_text())
    assert status["fullVideo"]["status"] == "SUCCESS"


def test_download_flags_a_video_that_is_not_what_was_asked(
    reel: VideoGenerator, tmp_path: Path, s3_client: Any
) -> None:
    """An output.mp4 of the wrong length or size is downloaded but flagged."""
    import io

    result = reel.generate(TextVideo("to be swapped"), OUTPUT, out_dir=None)
    # Replace the job's output.mp4 with a 2-second 640x360 clip.
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        for _ in range(48):
            frame = av.VideoFrame.from_ndarray(np.zeros((360, 640, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    bucket, _, key = (result.output_uri or "")[len("s3://") :].partition("/")
    s3_client.put_object(Bucket=bucket, Key=f"{key}/output.mp4", Body=buf.getvalue())

    downloaded = reel.download(str(result.ledger_id), tmp_path)
    flagged = " ".join(downloaded.notices)
    assert "output.mp4: size is 640x360, expected 1280x720" in flagged
    assert "duration is 2 s, expected 6 s" in flagged
    assert Path(downloaded.video_path or "").is_file()  # kept: the user paid for it
