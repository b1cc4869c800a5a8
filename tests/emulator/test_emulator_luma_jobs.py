"""Luma Ray 2 jobs: sizes, frame counts, loop, keyframes, S3 layout, failures, quota."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError
from emu_helpers import (
    RAY,
    RAY_REGION,
    V1,
    aws_client,
    decode_video,
    error_of,
    make_image,
    ray_input,
    start,
    start_ray,
    text_video,
    wait,
)

from novareel.emulator.models.luma_ray import RayPlan, ray_latency, video_size
from novareel.emulator.render import fit_image
from novareel.emulator.state import Job

EXPECTED_SIZES = {
    ("540p", "16:9"): (960, 540),
    ("540p", "9:16"): (540, 960),
    ("540p", "1:1"): (540, 540),
    ("540p", "4:3"): (720, 540),
    ("540p", "3:4"): (540, 720),
    ("540p", "21:9"): (1260, 540),
    ("540p", "9:21"): (540, 1260),
    ("720p", "16:9"): (1280, 720),
    ("720p", "9:16"): (720, 1280),
    ("720p", "1:1"): (720, 720),
    ("720p", "4:3"): (960, 720),
    ("720p", "3:4"): (720, 960),
    ("720p", "21:9"): (1680, 720),
    ("720p", "9:21"): (720, 1680),
}


def _job() -> Job:
    return Job(
        "abcdefabcdef", "arn", RAY, RAY_REGION, "TEXT_VIDEO", "s3://b/p/x", 0, 0, "t", "f", 5
    )


def _render(**fields: Any) -> bytes:
    plan = RayPlan(model_id=RAY, task_type="TEXT_VIDEO", **fields)
    files = plan.render(_job(), lambda: False)
    assert files is not None and [name for name, _ in files] == ["output.mp4"]
    return files[0][1]


@pytest.mark.parametrize(("key", "size"), sorted(EXPECTED_SIZES.items()))
def test_video_size_table(key: tuple[str, str], size: tuple[int, int]) -> None:
    assert video_size(*key) == size


@pytest.mark.parametrize(
    ("resolution", "ratio", "duration", "frames"),
    [("540p", "21:9", "5s", 120), ("540p", "1:1", "9s", 216)],  # 9:16 below, 720p further
)
def test_rendered_video_has_the_size_and_frame_count(
    resolution: str, ratio: str, duration: str, frames: int
) -> None:
    data = _render(
        text="a lighthouse, pan left",
        resolution=resolution,
        aspect_ratio=ratio,
        duration=duration,
    )
    info, decoded = decode_video(data)
    assert (info["width"], info["height"]) == EXPECTED_SIZES[(resolution, ratio)]
    assert info["codec"] == "h264" and info["fps"] == 24
    assert len(decoded) == frames
    assert decoded[0].shape == (info["height"], info["width"], 3)


def _first_last_difference(frames: list[Any]) -> float:
    first, last = (f.astype(np.int16) for f in (frames[0], frames[-1]))
    h = first.shape[0]
    # Leave out the label (top) and the caption and progress bar (bottom).
    return float(np.abs(first - last)[60 : h - 90].mean())


def test_loop_returns_to_the_first_frame() -> None:
    fields = {"text": "pan right across a harbour", "resolution": "540p", "aspect_ratio": "1:1"}
    _, looped = decode_video(_render(loop=True, **fields))
    _, straight = decode_video(_render(loop=False, **fields))
    assert _first_last_difference(looped) < 2.0
    assert _first_last_difference(straight) > 10.0
    # and the looped camera does move in between
    mid = looped[len(looped) // 2].astype(np.int16)
    assert float(np.abs(mid - looped[0].astype(np.int16))[60:-90].mean()) > 10.0


def test_frame0_is_the_first_frame_and_frame1_the_last() -> None:
    from PIL import Image, ImageDraw

    first_png = make_image((1280, 720))  # 16:9 image into a 9:16 video: covered, cropped
    last = Image.new("RGB", (400, 400), (20, 200, 60))
    ImageDraw.Draw(last).ellipse((50, 50, 350, 350), fill=(250, 240, 20))
    buf = io.BytesIO()
    last.save(buf, format="JPEG")
    last_jpeg = buf.getvalue()
    data = _render(
        text="static shot",
        resolution="540p",
        aspect_ratio="9:16",
        frame0=first_png,
        frame1=last_jpeg,
    )
    info, frames = decode_video(data)
    w, h = info["width"], info["height"]
    assert (w, h, len(frames)) == (540, 960, 120)
    want_first = fit_image(first_png, w, h).astype(np.int16)
    want_last = fit_image(last_jpeg, w, h).astype(np.int16)

    def diff(frame: Any, want: Any) -> float:
        return float(np.abs(frame.astype(np.int16) - want)[80 : h - 100].mean())

    assert diff(frames[0], want_first) < 6.0
    assert diff(frames[-1], want_last) < 6.0
    assert diff(frames[0], want_last) > 20.0
    assert diff(frames[-1], want_first) > 20.0


def test_latency_model() -> None:
    assert ray_latency("5s", "720p") == 90.0
    assert ray_latency("9s", "720p") == 150.0
    assert ray_latency("5s", "540p") < ray_latency("5s", "720p")
    assert ray_latency("9s", "540p") < ray_latency("9s", "720p")


@pytest.fixture
def west(emulator: Any, s3_client: Any) -> tuple[Any, Any, str]:
    """(bedrock-runtime and s3 clients in us-west-2, bucket)."""
    s3_client.create_bucket(Bucket="ray-jobs")
    return (
        aws_client("bedrock-runtime", emulator.url, RAY_REGION),
        s3_client,
        "ray-jobs",
    )


def _keys(s3: Any, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_ray_job_round_trip_writes_only_output_mp4(
    emulator: Any, west: tuple[Any, Any, str]
) -> None:
    client, s3, bucket = west
    model_input = ray_input(
        "a kite over dunes, zoom in", resolution="540p", aspect_ratio="4:3", duration="5s"
    )
    arn = start_ray(client, bucket, model_input, clientRequestToken="ray-token-1")
    assert arn.startswith(f"arn:aws:bedrock:{RAY_REGION}:123456789012:async-invoke/")
    job_id = arn.rsplit("/", 1)[1]
    assert _keys(s3, bucket) == []  # no manifest: nothing while InProgress
    done = wait(client, arn)
    assert done["status"] == "Completed"
    assert done["modelArn"] == f"arn:aws:bedrock:{RAY_REGION}::foundation-model/{RAY}"
    assert done["clientRequestToken"] == "ray-token-1"
    assert done["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"] == (
        f"s3://{bucket}/out/{job_id}"
    )
    assert set(done) >= {"submitTime", "endTime", "lastModifiedTime", "invocationArn"}
    assert _keys(s3, bucket) == [f"out/{job_id}/output.mp4"]
    video = s3.get_object(Bucket=bucket, Key=f"out/{job_id}/output.mp4")["Body"].read()
    info, frames = decode_video(video)
    assert (info["width"], info["height"], len(frames)) == (720, 540, 120)
    # List shows Ray jobs exactly like Nova jobs
    listed = client.list_async_invokes()["asyncInvokeSummaries"]
    assert [j["invocationArn"] for j in listed] == [arn]
    assert listed[0]["modelArn"] == done["modelArn"]
    # replaying the same token gives the same job
    assert start_ray(client, bucket, model_input, clientRequestToken="ray-token-1") == arn


def test_injected_failure_ends_failed_with_nothing_in_s3(
    emulator: Any, west: tuple[Any, Any, str]
) -> None:
    client, s3, bucket = west
    emulator.fail_jobs("INTERNAL_SERVER_EXCEPTION", shot=3)
    arn = start_ray(client, bucket, ray_input(resolution="540p"))
    done = wait(client, arn)
    assert done["status"] == "Failed"
    assert done["failureMessage"] == "Something went wrong on the server side."
    emulator.configure(blocked_output_words=["forbidden-output"])
    arn = start_ray(client, bucket, ray_input("a forbidden-output scene", resolution="540p"))
    done = wait(client, arn)
    assert done["status"] == "Failed"
    assert done["failureMessage"] == "The generated video has been blocked by our content filters."
    assert _keys(s3, bucket) == []


def test_ray_quota_is_its_own(emulator: Any, west: tuple[Any, Any, str]) -> None:
    client, _, bucket = west
    assert emulator.config()["quotas"][RAY] == 3
    emulator.configure(speed=1)  # jobs stay InProgress for over a minute
    emulator.fail_jobs(count=None)
    for _ in range(3):
        start_ray(client, bucket, ray_input())
    with pytest.raises(ClientError) as exc:
        start_ray(client, bucket, ray_input())
    code, status, message = error_of(exc.value)
    assert (code, status) == ("ThrottlingException", 429)
    assert RAY in message
    # Nova (another region, another model) is not affected
    nova = aws_client("bedrock-runtime", emulator.url, "us-east-1")
    start(nova, bucket, text_video(), modelId=V1)
    emulator.configure(quotas={RAY: 4})
    start_ray(client, bucket, ray_input())


def test_9s_720p_render_stays_fast() -> None:
    import time

    t0 = time.perf_counter()
    data = _render(text="static shot", resolution="720p", duration="9s")
    assert time.perf_counter() - t0 < 20  # a few seconds on a laptop core
    import av

    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height, stream.frames) == (1280, 720, 216)
