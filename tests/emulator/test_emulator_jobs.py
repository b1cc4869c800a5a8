"""What lands in S3 for each task type, and real MP4s checked with PyAV."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
from emu_helpers import (
    automated,
    decode_video,
    image_ref,
    make_image,
    manual,
    start,
    text_video,
    wait,
)


def _objects(s3: Any, bucket: str, folder: str) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=folder + "/")
    return {
        o["Key"][len(folder) + 1 :]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
        for o in listed.get("Contents", [])
    }


def _folder(job: dict[str, Any], bucket: str) -> str:
    uri: str = job["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"]
    assert uri.startswith(f"s3://{bucket}/")
    return uri[len(f"s3://{bucket}/") :]


def test_manifest_is_written_at_submit(
    emulator: Any, bedrock_client: Any, s3_client: Any, emulator_bucket: str
) -> None:
    emulator.configure(speed=1)
    emulator.fail_jobs()
    arn = start(bedrock_client, emulator_bucket, text_video(), clientRequestToken="m-1")
    job = bedrock_client.get_async_invoke(invocationArn=arn)
    assert job["status"] == "InProgress"
    files = _objects(s3_client, emulator_bucket, _folder(job, emulator_bucket))
    assert list(files) == ["manifest.json"]
    manifest = json.loads(files["manifest.json"])
    assert manifest["invocationArn"] == arn
    assert manifest["invocationId"] == arn.rsplit("/", 1)[1]
    assert manifest["modelId"] == "amazon.nova-reel-v1:1"
    assert manifest["taskType"] == "TEXT_VIDEO"
    assert manifest["clientRequestToken"] == "m-1"
    assert manifest["requestId"]


def test_text_video_with_starting_frame(
    bedrock_client: Any, s3_client: Any, emulator_bucket: str
) -> None:
    png = make_image()
    body = text_video("Static shot of a red square and a blue circle")
    body["textToVideoParams"]["images"] = [image_ref(png)]
    job = wait(bedrock_client, start(bedrock_client, emulator_bucket, body))
    assert job["status"] == "Completed"
    folder = _folder(job, emulator_bucket)
    files = _objects(s3_client, emulator_bucket, folder)
    assert sorted(files) == ["manifest.json", "output.mp4", "video-generation-status.json"]

    info, frames = decode_video(files["output.mp4"])
    assert info["codec"] == "h264"
    assert (info["width"], info["height"]) == (1280, 720)
    assert info["fps"] == 24
    assert len(frames) == 144
    assert abs(info["duration"] - 6.0) < 0.05

    from PIL import Image

    expected = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)
    diff = np.abs(frames[0].astype(np.int16) - expected).mean()
    assert diff < 8.0, diff

    status = json.loads(files["video-generation-status.json"])
    location = f"s3://{emulator_bucket}/{folder}/output.mp4"
    assert status["schemaVersion"] == "1.0"
    assert status["fullVideo"] == {"status": "SUCCESS", "location": location}
    assert [s["status"] for s in status["shots"]] == ["SUCCESS"]


def test_multi_shot_automated_layout_and_concatenation(
    bedrock_client: Any, s3_client: Any, emulator_bucket: str
) -> None:
    body = automated("Pan left over a desert. Zoom in on a cactus.", duration=12)
    job = wait(bedrock_client, start(bedrock_client, emulator_bucket, body))
    assert job["status"] == "Completed"
    folder = _folder(job, emulator_bucket)
    files = _objects(s3_client, emulator_bucket, folder)
    assert sorted(files) == [
        "manifest.json",
        "output.mp4",
        "shot_0001.mp4",
        "shot_0002.mp4",
        "video-generation-status.json",
    ]
    info, frames = decode_video(files["output.mp4"])
    assert len(frames) == 288
    assert abs(info["duration"] - 12.0) < 0.05
    import av

    for name in ("shot_0001.mp4", "shot_0002.mp4"):
        with av.open(io.BytesIO(files[name])) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264"
            assert sum(1 for p in container.demux(stream) if p.size) == 144
    # Shots differ (different prompts and palettes); output starts with shot 1.
    first_diff = np.abs(frames[0].astype(np.int16) - frames[144].astype(np.int16)).mean()
    assert first_diff > 10
    status = json.loads(files["video-generation-status.json"])
    assert [s["location"] for s in status["shots"]] == [
        f"s3://{emulator_bucket}/{folder}/shot_0001.mp4",
        f"s3://{emulator_bucket}/{folder}/shot_0002.mp4",
    ]


def test_multi_shot_manual_with_image_on_second_shot(
    bedrock_client: Any, s3_client: Any, emulator_bucket: str
) -> None:
    png = make_image()
    body = manual(
        [{"text": "static shot, a field"}, {"text": "static shot", "image": image_ref(png)}]
    )
    job = wait(bedrock_client, start(bedrock_client, emulator_bucket, body))
    assert job["status"] == "Completed"
    files = _objects(s3_client, emulator_bucket, _folder(job, emulator_bucket))
    assert "shot_0002.mp4" in files and "shot_0003.mp4" not in files
    _, frames = decode_video(files["output.mp4"])
    assert len(frames) == 288
    from PIL import Image

    expected = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)
    assert np.abs(frames[144].astype(np.int16) - expected).mean() < 8.0


def test_job_fails_at_shot_k_with_status_file(
    emulator: Any, bedrock_client: Any, s3_client: Any, emulator_bucket: str
) -> None:
    emulator.fail_jobs("INTERNAL_SERVER_EXCEPTION", shot=2)
    body = automated("One. Two. Three.", duration=18)
    job = wait(bedrock_client, start(bedrock_client, emulator_bucket, body))
    assert job["status"] == "Failed"
    assert "Something went wrong on the server side." in job["failureMessage"]
    assert "endTime" in job
    files = _objects(s3_client, emulator_bucket, _folder(job, emulator_bucket))
    assert sorted(files) == ["manifest.json", "video-generation-status.json"]
    status = json.loads(files["video-generation-status.json"])
    assert [s["status"] for s in status["shots"]] == ["SUCCESS", "FAILURE", "FAILURE"]
    assert status["shots"][1]["failureType"] == "INTERNAL_SERVER_EXCEPTION"
    assert status["shots"][2]["failureType"] == "ABORTED"
    assert status["fullVideo"]["status"] == "FAILURE"
    assert status["fullVideo"]["failureType"] == "INTERNAL_SERVER_EXCEPTION"


def test_job_fault_by_marker_and_other_failure_types(
    emulator: Any, bedrock_client: Any, s3_client: Any, emulator_bucket: str
) -> None:
    emulator.fail_jobs("RATE_LIMIT_EXCEEDED", marker="TRIP", count=None)
    for _ in range(2):
        job = wait(bedrock_client, start(bedrock_client, emulator_bucket, text_video("TRIP it")))
        assert job["status"] == "Failed"
        files = _objects(s3_client, emulator_bucket, _folder(job, emulator_bucket))
        status = json.loads(files["video-generation-status.json"])
        assert status["shots"][0]["failureType"] == "RATE_LIMIT_EXCEEDED"


def test_blocked_output_word_fails_the_job(
    bedrock_client: Any, s3_client: Any, emulator_bucket: str
) -> None:
    job = wait(
        bedrock_client, start(bedrock_client, emulator_bucket, text_video("a blocked-output dog"))
    )
    assert job["status"] == "Failed"
    assert job["failureMessage"] == "The generated video has been blocked by our content filters."
    files = _objects(s3_client, emulator_bucket, _folder(job, emulator_bucket))
    assert "output.mp4" not in files
    status = json.loads(files["video-generation-status.json"])
    assert status["fullVideo"]["failureType"] == "RAI_VIOLATION_OUTPUT_VIDEO_DEFLECTION"
