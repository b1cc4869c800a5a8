"""The emulator at scale: indexed jobs, anchored page tokens, objects on disk, fast render.

Behaviours, not timings: the store counts the jobs it examines, so "a submit or a page
does not scan every job" is a count that must not grow with the store.
"""

from __future__ import annotations

import io
import os
from typing import Any

import pytest
from botocore.exceptions import ClientError
from emu_helpers import RAY, RAY_REGION, V0, V1, automated, aws_client, start, text_video, wait

from novareel.emulator import EmulatorConfig
from novareel.emulator.state import Job, JobStore, new_invocation_id

# -- helpers -------------------------------------------------------------------------


def _job(submit_time: float, *, model: str = V0, done: bool = True, failed: bool = False) -> Job:
    job_id = new_invocation_id()
    return Job(
        invocation_id=job_id,
        arn=f"arn:aws:bedrock:us-east-1:123456789012:async-invoke/{job_id}",
        model_id=model,
        region="us-east-1",
        task_type="TEXT_VIDEO",
        output_uri=f"s3://filler/{job_id}",
        submit_time=submit_time,
        due_time=submit_time,
        client_request_token=f"filler-{job_id}",
        fingerprint="filler",
        video_seconds=6,
        render_done_time=submit_time if done else None,
        failure_message="boom" if failed else None,
    )


def _fill(store: JobStore, count: int, start: float = 1_000_000.0) -> None:
    """Finished jobs submitted long ago (they count for List, not against quotas)."""
    for i in range(count):
        store.add(_job(start + i * 0.001))


def _arns(page: dict[str, Any]) -> list[str]:
    return [s["invocationArn"] for s in page["asyncInvokeSummaries"]]


def _walk(client: Any, between: Any = None, **kwargs: Any) -> list[str]:
    """Every page of a listing; ``between(i)`` runs after page ``i``."""
    seen: list[str] = []
    token, i = None, 0
    while True:
        args = dict(kwargs)
        if token:
            args["nextToken"] = token
        page = client.list_async_invokes(**args)
        seen += _arns(page)
        token = page.get("nextToken")
        if not token:
            return seen
        if between is not None:
            between(i)
        i += 1


# -- the job store's indexes ------------------------------------------------------------


def test_store_keeps_states_and_quota_counts_in_step() -> None:
    store = JobStore(clock=lambda: 5.0)
    running = [_job(1.0 + i, model=V1, done=False) for i in range(4)]
    for job in running:
        store.add(job)
    store.add(_job(0.5, model=V1))  # finished: not counted against the quota
    assert store.in_progress(V1) == 4
    assert store.in_progress(V0) == 0

    store.mark_rendered(running[0].invocation_id)
    store.mark_rendered(running[1].invocation_id, "Shot 1 failed: boom")
    assert store.in_progress(V1) == 2
    assert (store.count("InProgress"), store.count("Completed"), store.count("Failed")) == (2, 2, 1)

    def ids(status: str | None, descending: bool = False) -> list[str]:
        page = store.page(
            after=None, before=None, status=status, descending=descending, anchor=None, limit=10
        )
        return [j.invocation_id for j in page.jobs]

    assert ids("InProgress") == [running[2].invocation_id, running[3].invocation_id]
    assert ids("Failed") == [running[1].invocation_id]
    assert ids(None, descending=True)[0] == running[3].invocation_id
    assert len(ids(None)) == 5
    store.clear()
    assert len(store) == 0
    assert store.in_progress(V1) == 0


def test_store_page_examines_only_the_page_as_the_store_grows() -> None:
    store = JobStore(clock=lambda: 0.0)
    examined: dict[tuple[Any, ...], int] = {}
    for size in (100, 2_000):
        _fill(store, size - len(store))
        for status in (None, "Completed"):
            for descending in (True, False):
                before = store.examined
                page = store.page(
                    after=1_000_000.05,
                    before=None,
                    status=status,
                    descending=descending,
                    anchor=None,
                    limit=10,
                )
                assert len(page.jobs) == 10
                assert page.next_anchor is not None
                examined[(size, status, descending)] = store.examined - before
        before = store.examined
        store.in_progress(V0)
        examined[(size, "quota")] = store.examined - before
    assert examined[(2_000, "quota")] == examined[(100, "quota")] == 0
    assert {v for k, v in examined.items() if k[1] != "quota"} == {10}


# -- through HTTP with plain boto3 -------------------------------------------------------


def test_submit_and_list_page_examine_a_bounded_number_of_jobs(
    emulator_server: Any, emulator: Any, bedrock_client: Any, emulator_bucket: str
) -> None:
    """A submit examines no stored job and a page of 10 examines 10, at 100 and 2,000."""
    emulator.fail_jobs(count=None)  # no render needed
    store = emulator_server.backend.jobs
    per_size: dict[int, tuple[int, int, int]] = {}
    for size in (100, 2_000):
        _fill(store, size - len(store))
        before = store.examined
        arn = start(bedrock_client, emulator_bucket, text_video(), modelId=V0)
        submit = store.examined - before
        wait(bedrock_client, arn)
        before = store.examined
        page = bedrock_client.list_async_invokes(maxResults=10)
        listed = store.examined - before
        before = store.examined
        bedrock_client.list_async_invokes(
            maxResults=10, statusEquals="Completed", sortOrder="Ascending"
        )
        filtered = store.examined - before
        per_size[size] = (submit, listed, filtered)
        assert _arns(page)[0] == arn  # newest first
    assert per_size[100] == per_size[2_000] == (0, 10, 10)


def test_pages_neither_repeat_nor_skip_when_jobs_arrive_between_pages(
    emulator: Any, bedrock_client: Any, emulator_bucket: str
) -> None:
    emulator.configure(quotas={V1: 100})
    emulator.fail_jobs(count=None)
    first = [start(bedrock_client, emulator_bucket, text_video(f"job {i}")) for i in range(7)]
    late: list[str] = []

    def submit_more(_: int) -> None:
        late.extend(start(bedrock_client, emulator_bucket, text_video("late")) for _ in range(2))

    # Descending (the default): newer jobs sort before the pages already read, so the
    # walk returns exactly the jobs that existed when it began (an offset would repeat).
    assert _walk(bedrock_client, submit_more, maxResults=3) == first[::-1]
    assert len(late) == 4

    # Ascending: jobs submitted meanwhile come after the anchor and appear once, at the end.
    everything = first + late
    late.clear()
    walked = _walk(bedrock_client, submit_more, maxResults=4, sortOrder="Ascending")
    assert walked == everything + late
    assert len(set(walked)) == len(walked)


def test_token_reused_with_other_filters_or_order_is_refused(
    emulator: Any, bedrock_client: Any, emulator_bucket: str
) -> None:
    emulator.configure(quotas={V1: 100})
    emulator.fail_jobs(count=None)
    arns = [start(bedrock_client, emulator_bucket, text_video(f"job {i}")) for i in range(4)]
    for arn in arns:
        wait(bedrock_client, arn)
    page = bedrock_client.list_async_invokes(maxResults=2, statusEquals="Failed")
    token = page["nextToken"]
    assert "offset" not in token and arns[1].rsplit("/", 1)[1] not in token  # opaque

    for other in (
        {"statusEquals": "Completed"},
        {},  # the filter dropped
        {"statusEquals": "Failed", "sortOrder": "Ascending"},
        {"statusEquals": "Failed", "submitTimeAfter": "2020-01-01T00:00:00Z"},
    ):
        with pytest.raises(ClientError) as info:
            bedrock_client.list_async_invokes(maxResults=2, nextToken=token, **other)
        assert info.value.response["Error"]["Code"] == "ValidationException"
        assert "other filters or sort order" in info.value.response["Error"]["Message"]
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    # Same filters, another page size: fine.
    rest = bedrock_client.list_async_invokes(maxResults=5, statusEquals="Failed", nextToken=token)
    assert _arns(rest) == arns[:2][::-1]
    assert "nextToken" not in rest


# -- objects on disk -----------------------------------------------------------------


def _key(bucket: str, name: str) -> Any:
    from moto.s3.models import s3_backends

    return s3_backends["123456789012"]["aws"].get_object(bucket, name)


def test_job_videos_spill_to_disk_and_small_files_stay_in_memory(
    emulator: Any, bedrock_client: Any, emulator_bucket: str
) -> None:
    from novareel.emulator.s3 import KEY_BUFFER_ENV

    assert os.environ[KEY_BUFFER_ENV] == str(EmulatorConfig().s3_key_buffer_size)
    emulator.configure(render="fast")
    arn = start(bedrock_client, emulator_bucket, text_video(), modelId=V0)
    assert wait(bedrock_client, arn)["status"] == "Completed"
    folder = f"out/{arn.rsplit('/', 1)[1]}"
    video = _key(emulator_bucket, f"{folder}/output.mp4")
    manifest = _key(emulator_bucket, f"{folder}/manifest.json")
    # moto's key buffer is a SpooledTemporaryFile: rolled over = a real file on disk.
    assert video.size > EmulatorConfig().s3_key_buffer_size
    assert video._value_buffer._rolled
    assert not isinstance(video._value_buffer._file, io.BytesIO)
    assert not manifest._value_buffer._rolled

    # The setting is live: a larger buffer keeps the next job's video in RAM.
    emulator.configure(s3_key_buffer_size=50_000_000)
    assert os.environ[KEY_BUFFER_ENV] == "50000000"
    arn = start(bedrock_client, emulator_bucket, text_video(), modelId=V0)
    wait(bedrock_client, arn)
    kept = _key(emulator_bucket, f"out/{arn.rsplit('/', 1)[1]}/output.mp4")
    assert not kept._value_buffer._rolled
    # A client's own upload follows the same setting, and reset restores the default.
    emulator.reset()
    assert os.environ[KEY_BUFFER_ENV] == str(EmulatorConfig().s3_key_buffer_size)


def test_objects_stay_in_memory_while_descriptors_run_low(
    emulator_server: Any, emulator: Any, s3_client: Any, emulator_bucket: str, monkeypatch: Any
) -> None:
    from novareel.emulator import s3

    storage = emulator_server.backend.storage
    monkeypatch.setattr(s3, "FD_CHECK_EVERY", 1)
    big = b"x" * (EmulatorConfig().s3_key_buffer_size + 1)
    monkeypatch.setattr(s3, "descriptors_free", lambda: s3.FD_RESERVE - 1)
    storage.put_object(emulator_bucket, "low.bin", big)
    assert storage.in_ram
    assert not _key(emulator_bucket, "low.bin")._value_buffer._rolled
    monkeypatch.setattr(s3, "descriptors_free", lambda: s3.FD_RESERVE * 10)
    storage.put_object(emulator_bucket, "ok.bin", big)
    assert not storage.in_ram
    assert _key(emulator_bucket, "ok.bin")._value_buffer._rolled
    body = s3_client.get_object(Bucket=emulator_bucket, Key="low.bin")["Body"].read()
    assert body == big


# -- render fast ---------------------------------------------------------------------------


def _probe(data: bytes) -> dict[str, Any]:
    import av

    opened: Any = av.open(io.BytesIO(data))
    with opened as container:
        stream = container.streams.video[0]
        frames = len(list(container.decode(stream)))
        return {
            "format": container.format.name,
            "codec": stream.codec_context.name,
            "size": (stream.width, stream.height),
            "fps": stream.average_rate,
            "frames": frames,
            "seconds": round(container.duration / 1_000_000, 2),
        }


def test_fast_render_writes_valid_videos_of_the_right_shape(
    emulator: Any, bedrock_client: Any, s3_client: Any, emulator_bucket: str
) -> None:
    emulator.configure(render="fast", quotas={V1: 10})
    assert emulator.config()["render"] == "fast"
    one = start(bedrock_client, emulator_bucket, text_video("a fox, pan left"), modelId=V0)
    other = start(bedrock_client, emulator_bucket, text_video("a whale, zoom in"), modelId=V0)
    multi = start(bedrock_client, emulator_bucket, automated("One. Two.", duration=12))

    def video(arn: str, name: str = "output.mp4") -> bytes:
        assert wait(bedrock_client, arn)["status"] == "Completed"
        key = f"out/{arn.rsplit('/', 1)[1]}/{name}"
        data: bytes = s3_client.get_object(Bucket=emulator_bucket, Key=key)["Body"].read()
        return data

    first = video(one)
    info = _probe(first)
    assert "mp4" in info["format"]
    assert (info["codec"], info["size"], info["fps"], info["frames"]) == (
        "h264",
        (1280, 720),
        24,
        144,
    )
    assert info["seconds"] == 6.0
    assert video(other) == first  # all alike: prompts are ignored in this mode
    joined = _probe(video(multi))
    assert (joined["size"], joined["frames"], joined["seconds"]) == ((1280, 720), 288, 12.0)
    assert video(multi, "shot_0002.mp4") == first

    ray = aws_client("bedrock-runtime", emulator.url, RAY_REGION)
    s3_client.create_bucket(
        Bucket="ray-fast", CreateBucketConfiguration={"LocationConstraint": RAY_REGION}
    )
    arn = ray.start_async_invoke(
        modelId=RAY,
        modelInput={"prompt": "a lighthouse", "resolution": "540p", "aspect_ratio": "9:16"},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://ray-fast/r/"}},
    )["invocationArn"]
    assert wait(ray, arn)["status"] == "Completed"
    data = s3_client.get_object(Bucket="ray-fast", Key=f"r/{arn.rsplit('/', 1)[1]}/output.mp4")
    ray_info = _probe(data["Body"].read())
    assert (ray_info["size"], ray_info["fps"], ray_info["frames"]) == ((540, 960), 24, 120)


def test_fast_render_is_one_encode_per_shape(monkeypatch: Any) -> None:
    from novareel.emulator import render

    calls: list[tuple[int, int, int]] = []
    real = render.render_video

    def counting(*args: Any, **kwargs: Any) -> bytes:
        calls.append((kwargs["width"], kwargs["height"], kwargs["frames"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(render, "render_video", counting)
    render._fast_video.cache_clear()
    render._fast_concat.cache_clear()
    try:
        for _ in range(3):
            render.fast_video(320, 180, 2)
            render.fast_video(180, 320, 2)
            render.fast_concat(320, 180, 2, 2)
    finally:
        render._fast_video.cache_clear()
        render._fast_concat.cache_clear()
    assert calls == [(320, 180, 2), (180, 320, 2)]


def test_render_mode_and_buffer_size_are_validated(emulator: Any) -> None:
    from novareel.emulator.control_client import EmulatorControlError

    with pytest.raises(ValueError, match="render"):
        EmulatorConfig(render="slow")
    with pytest.raises(ValueError, match="s3_key_buffer_size"):
        EmulatorConfig(s3_key_buffer_size=0)
    for bad in ({"render": "slow"}, {"s3_key_buffer_size": 0}):
        with pytest.raises(EmulatorControlError) as info:
            emulator.configure(**bad)
        assert info.value.status == 400


def test_cli_refuses_an_unknown_render_mode() -> None:
    from typer.testing import CliRunner

    from novareel.cli import _register, app

    _register()
    result = CliRunner().invoke(app, ["emulator", "--port", "0", "--render", "slow"])
    assert result.exit_code == 2
    assert "full or fast" in result.output
