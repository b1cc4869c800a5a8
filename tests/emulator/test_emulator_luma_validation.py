"""Luma Ray 2's modelInput, checked by the emulator's own validator at every boundary."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from emu_helpers import (
    RAY,
    RAY_REGION,
    V1,
    aws_client,
    error_of,
    keyframe,
    make_image,
    ray_input,
    start,
    start_ray,
    text_video,
)

BLOCKED = (
    "This request has been blocked by our content filters. "
    "Please adjust your text prompt to submit a new request."
)


@pytest.fixture
def ray(emulator: Any, s3_client: Any) -> tuple[Any, str]:
    """(bedrock-runtime client in us-west-2, bucket); accepted jobs fail without rendering."""
    emulator.configure(quotas={RAY: 1000})
    emulator.fail_jobs(count=None)
    s3_client.create_bucket(Bucket="ray-out")
    return aws_client("bedrock-runtime", emulator.url, RAY_REGION), "ray-out"


def _accepts(ray: tuple[Any, str], model_input: dict[str, Any]) -> None:
    client, bucket = ray
    assert start_ray(client, bucket, model_input).startswith(
        f"arn:aws:bedrock:{RAY_REGION}:123456789012:async-invoke/"
    )


def _rejects(ray: tuple[Any, str], model_input: dict[str, Any]) -> str:
    client, bucket = ray
    with pytest.raises(ClientError) as exc:
        start_ray(client, bucket, model_input)
    code, status, message = error_of(exc.value)
    assert (code, status) == ("ValidationException", 400)
    return message


@pytest.mark.parametrize(("length", "ok"), [(0, False), (1, True), (5000, True), (5001, False)])
def test_prompt_length(ray: tuple[Any, str], length: int, ok: bool) -> None:
    model_input = ray_input("p" * length)
    if ok:
        _accepts(ray, model_input)
    else:
        message = _rejects(ray, model_input)
        assert "modelInput.prompt" in message and "1-5000" in message


def test_prompt_is_required_and_a_string(ray: tuple[Any, str]) -> None:
    assert "modelInput.prompt is required" in _rejects(ray, {"duration": "5s"})
    assert "modelInput.prompt 42 is not valid" in _rejects(ray, {"prompt": 42})
    _accepts(ray, ray_input(" "))  # the same emptiness rule as Nova's text: length only


def test_defaults_apply_when_fields_are_absent(ray: tuple[Any, str]) -> None:
    _accepts(ray, {"prompt": "only a prompt"})


@pytest.mark.parametrize("ratio", ["1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "9:21"])
def test_every_aspect_ratio_is_accepted(ray: tuple[Any, str], ratio: str) -> None:
    _accepts(ray, ray_input(aspect_ratio=ratio))


@pytest.mark.parametrize(
    ("field", "good", "bad"),
    [
        ("aspect_ratio", "21:9", "2:1"),
        ("aspect_ratio", "9:21", "16x9"),
        ("resolution", "540p", "1080p"),
        ("resolution", "720p", 720),
        ("duration", "5s", 5),
        ("duration", "9s", "7s"),
        ("duration", "9s", "10s"),
    ],
)
def test_enums_good_and_bad(ray: tuple[Any, str], field: str, good: Any, bad: Any) -> None:
    _accepts(ray, ray_input(**{field: good}))
    message = _rejects(ray, ray_input(**{field: bad}))
    # Names the field, the value as sent (JSON) and what is allowed.
    shown = f'"{bad}"' if isinstance(bad, str) else str(bad)
    assert f"modelInput.{field} {shown} is not valid" in message
    assert f'"{good}"' in message


def test_duration_message_lists_both_strings(ray: tuple[Any, str]) -> None:
    message = _rejects(ray, ray_input(duration=5))
    assert message == 'modelInput.duration 5 is not valid: must be one of "5s", "9s"'


@pytest.mark.parametrize(
    ("value", "ok"), [(True, True), (False, True), ("true", False), (1, False)]
)
def test_loop_must_be_a_json_boolean(ray: tuple[Any, str], value: Any, ok: bool) -> None:
    if ok:
        _accepts(ray, ray_input(loop=value))
    else:
        message = _rejects(ray, ray_input(loop=value))
        assert "modelInput.loop" in message and "boolean" in message


@pytest.mark.parametrize("key", ["taskType", "seed", "textToVideoParams", "aspectRatio"])
def test_unknown_keys_are_refused_by_name(ray: tuple[Any, str], key: str) -> None:
    message = _rejects(ray, ray_input(**{key: "x"}))
    assert f"modelInput.{key}" in message and "allowed keys are prompt" in message


def test_nova_input_sent_to_ray_is_refused(ray: tuple[Any, str]) -> None:
    assert "modelInput.taskType" in _rejects(ray, text_video())


def test_keyframes_png_and_jpeg_of_any_size(ray: tuple[Any, str]) -> None:
    png = make_image((300, 500))
    jpeg = make_image((1920, 1080), fmt="JPEG")
    _accepts(ray, ray_input(keyframes={"frame0": keyframe(png)}))
    _accepts(ray, ray_input(keyframes={"frame1": keyframe(jpeg, "image/jpeg")}))
    _accepts(
        ray,
        ray_input(keyframes={"frame0": keyframe(png), "frame1": keyframe(jpeg, "image/jpeg")}),
    )
    # RGBA and grayscale are fine too (Ray has no pixel-format rule).
    _accepts(ray, ray_input(keyframes={"frame0": keyframe(make_image((64, 64), mode="RGBA"))}))


def test_keyframe_media_type_must_match_the_data(ray: tuple[Any, str]) -> None:
    jpeg = make_image((640, 360), fmt="JPEG")
    message = _rejects(ray, ray_input(keyframes={"frame0": keyframe(jpeg, "image/png")}))
    assert message.startswith('modelInput.keyframes.frame0.source.media_type "image/png"')
    assert "JPEG" in message
    message = _rejects(ray, ray_input(keyframes={"frame1": keyframe(jpeg, "image/webp")}))
    assert '"image/webp" is not valid' in message and "image/jpeg" in message


@pytest.mark.parametrize("data", ["not base64!!", "", "aGVsbG8"])
def test_keyframe_data_must_be_valid_base64(ray: tuple[Any, str], data: str) -> None:
    message = _rejects(ray, ray_input(keyframes={"frame0": keyframe(data)}))
    assert "modelInput.keyframes.frame0.source.data" in message


def test_keyframe_data_must_be_an_image(ray: tuple[Any, str]) -> None:
    message = _rejects(ray, ray_input(keyframes={"frame0": keyframe(b"GIF89a....")}))
    assert "is not a PNG or JPEG image" in message
    truncated = make_image((200, 200))[:60]
    message = _rejects(ray, ray_input(keyframes={"frame0": keyframe(truncated)}))
    assert "cannot be decoded" in message


@pytest.mark.parametrize(
    ("keyframes", "needle"),
    [
        ({}, "modelInput.keyframes {} is not valid"),
        ([], "modelInput.keyframes [] is not valid"),
        ({"frame2": None}, "modelInput.keyframes.frame2"),
        ({"frame0": "abc"}, 'modelInput.keyframes.frame0 "abc" is not valid'),
    ],
)
def test_keyframes_object_shape(ray: tuple[Any, str], keyframes: Any, needle: str) -> None:
    assert needle in _rejects(ray, ray_input(keyframes=keyframes))


def test_keyframe_structure_is_strict(ray: tuple[Any, str]) -> None:
    good = keyframe(make_image((100, 100)))
    bad_type = {**good, "type": "video"}
    assert 'frame0.type "video" is not valid' in _rejects(
        ray, ray_input(keyframes={"frame0": bad_type})
    )
    extra = {**good, "url": "https://example.com/x.png"}
    assert "modelInput.keyframes.frame0.url" in _rejects(
        ray, ray_input(keyframes={"frame0": extra})
    )
    url_source = {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}
    assert "frame0.source.url" in _rejects(ray, ray_input(keyframes={"frame0": url_source}))
    plain_type = {"type": "image", "source": {**good["source"], "type": "bytes"}}
    assert 'frame0.source.type "bytes" is not valid' in _rejects(
        ray, ray_input(keyframes={"frame0": plain_type})
    )


def test_keyframe_size_limit(ray: tuple[Any, str]) -> None:
    big = "A" * ((25_000_000 * 4) // 3 + 8)
    assert "larger than 25 MB" in _rejects(ray, ray_input(keyframes={"frame0": keyframe(big)}))


def test_blocked_input_words_apply_to_the_prompt(ray: tuple[Any, str]) -> None:
    assert _rejects(ray, ray_input("a blocked-input scene")) == BLOCKED


def test_ray_only_in_us_west_2_and_nova_not_there(
    emulator: Any, bedrock_client: Any, emulator_bucket: str
) -> None:
    emulator.fail_jobs(count=None)
    with pytest.raises(ClientError) as exc:
        start_ray(bedrock_client, emulator_bucket, ray_input())  # signed for us-east-1
    code, status, message = error_of(exc.value)
    assert (code, status) == ("ValidationException", 400)
    assert RAY in message and "us-east-1" in message
    west = aws_client("bedrock-runtime", emulator.url, RAY_REGION)
    with pytest.raises(ClientError) as exc:
        start(west, emulator_bucket, text_video(), modelId=V1)
    assert error_of(exc.value)[0] == "ValidationException" and V1 in error_of(exc.value)[2]
    for region in ("eu-west-1", "ap-northeast-1"):
        other = aws_client("bedrock-runtime", emulator.url, region)
        with pytest.raises(ClientError):
            start_ray(other, emulator_bucket, ray_input())
