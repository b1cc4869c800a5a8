"""The emulator's own validation, at the boundaries, through boto3 over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from emu_helpers import V0, V1, automated, image_ref, make_image, manual, start, text_video

BLOCKED = (
    "This request has been blocked by our content filters. "
    "Please adjust your text prompt to submit a new request."
)


@pytest.fixture(autouse=True)
def _cheap_jobs(emulator: Any) -> None:
    """Accepted jobs fail immediately (no rendering) and quotas do not get in the way."""
    emulator.configure(quotas={V1: 1000, V0: 1000})
    emulator.fail_jobs(count=None)


def _rejects(client: Any, bucket: str, model_input: dict[str, Any], **kw: Any) -> str:
    with pytest.raises(ClientError) as exc:
        start(client, bucket, model_input, **kw)
    err = exc.value.response
    assert err["Error"]["Code"] == "ValidationException"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
    message: str = err["Error"]["Message"]
    return message


def _accepts(client: Any, bucket: str, model_input: dict[str, Any], **kw: Any) -> None:
    assert start(client, bucket, model_input, **kw).startswith("arn:aws:bedrock:")


def test_text_lengths(bedrock_client: Any, emulator_bucket: str) -> None:
    _accepts(bedrock_client, emulator_bucket, text_video("x" * 512))
    assert "textToVideoParams.text" in _rejects(
        bedrock_client, emulator_bucket, text_video("x" * 513)
    )
    _rejects(bedrock_client, emulator_bucket, text_video(""))
    _accepts(bedrock_client, emulator_bucket, automated("y" * 4000))
    assert "multiShotAutomatedParams.text" in _rejects(
        bedrock_client, emulator_bucket, automated("y" * 4001)
    )
    _accepts(bedrock_client, emulator_bucket, manual([{"text": "z" * 512}, {"text": "b"}]))
    assert "shots[0].text" in _rejects(
        bedrock_client, emulator_bucket, manual([{"text": "z" * 513}, {"text": "b"}])
    )


@pytest.mark.parametrize(
    ("duration", "ok"),
    [(6, False), (12, True), (18, True), (120, True), (126, False), (13, False), (0, False)],
)
def test_automated_duration(
    bedrock_client: Any, emulator_bucket: str, duration: int, ok: bool
) -> None:
    body = automated("A story.", duration)
    if ok:
        _accepts(bedrock_client, emulator_bucket, body)
    else:
        assert "durationSeconds" in _rejects(bedrock_client, emulator_bucket, body)


def test_text_video_duration_and_config(bedrock_client: Any, emulator_bucket: str) -> None:
    assert "durationSeconds" in _rejects(
        bedrock_client, emulator_bucket, text_video(durationSeconds=12)
    )
    assert "fps" in _rejects(bedrock_client, emulator_bucket, text_video(fps=30))
    assert "dimension" in _rejects(
        bedrock_client, emulator_bucket, text_video(dimension="1280x721")
    )
    _accepts(bedrock_client, emulator_bucket, text_video(seed=0))
    _accepts(bedrock_client, emulator_bucket, text_video(seed=2147483646))
    assert "seed" in _rejects(bedrock_client, emulator_bucket, text_video(seed=2147483647))
    assert "seed" in _rejects(bedrock_client, emulator_bucket, text_video(seed=-1))


def test_manual_shot_count_and_duration(bedrock_client: Any, emulator_bucket: str) -> None:
    shots = [{"text": f"shot {i}"} for i in range(21)]
    _accepts(bedrock_client, emulator_bucket, manual(shots[:20]))
    _accepts(bedrock_client, emulator_bucket, manual(shots[:2]))
    assert "shots" in _rejects(bedrock_client, emulator_bucket, manual(shots))
    assert "shots" in _rejects(bedrock_client, emulator_bucket, manual(shots[:1]))
    _accepts(bedrock_client, emulator_bucket, manual(shots[:3], durationSeconds=18))
    assert "durationSeconds" in _rejects(
        bedrock_client, emulator_bucket, manual(shots[:3], durationSeconds=12)
    )


def test_models_and_task_types(bedrock_client: Any, emulator_bucket: str) -> None:
    _accepts(bedrock_client, emulator_bucket, text_video(), modelId=V0)
    assert "taskType" in _rejects(bedrock_client, emulator_bucket, automated("a. b."), modelId=V0)
    assert "modelId" in _rejects(
        bedrock_client, emulator_bucket, text_video(), modelId="amazon.nova-reel-v9:9"
    )
    assert "modelId" in _rejects(bedrock_client, emulator_bucket, text_video(), modelId="bad id!")
    body = text_video()
    body["taskType"] = "IMAGE_VIDEO"
    assert "taskType" in _rejects(bedrock_client, emulator_bucket, body)


def test_output_uri_rules(bedrock_client: Any, emulator_bucket: str) -> None:
    def out(uri: str) -> dict[str, Any]:
        return {"s3OutputDataConfig": {"s3Uri": uri}}

    message = _rejects(
        bedrock_client,
        emulator_bucket,
        text_video(),
        outputDataConfig=out(f"s3://{emulator_bucket}/prefix"),
    )
    assert message == "The provided S3 URI does not point to a bucket or a directory"
    assert "does not exist" in _rejects(
        bedrock_client, emulator_bucket, text_video(), outputDataConfig=out("s3://no-such-bucket/")
    )
    assert "s3Uri" in _rejects(
        bedrock_client, emulator_bucket, text_video(), outputDataConfig=out("https://x/y/")
    )
    _accepts(
        bedrock_client,
        emulator_bucket,
        text_video(),
        outputDataConfig=out(f"s3://{emulator_bucket}/a/b/"),
    )


def test_tokens_and_tags(bedrock_client: Any, emulator_bucket: str) -> None:
    _accepts(bedrock_client, emulator_bucket, text_video(), clientRequestToken="~" * 256)
    assert "clientRequestToken" in _rejects(
        bedrock_client, emulator_bucket, text_video(), clientRequestToken="has space"
    )
    _accepts(
        bedrock_client,
        emulator_bucket,
        text_video(),
        tags=[{"key": "project", "value": "demo reel"}],
    )
    assert "tags[0].key" in _rejects(
        bedrock_client, emulator_bucket, text_video(), tags=[{"key": "bad#", "value": "v"}]
    )


def test_blocked_input_words(bedrock_client: Any, emulator_bucket: str, emulator: Any) -> None:
    assert _rejects(bedrock_client, emulator_bucket, text_video("a blocked-input cat")) == BLOCKED
    emulator.configure(blocked_input_words=["forbidden"])
    assert _rejects(bedrock_client, emulator_bucket, text_video("Forbidden fruit")) == BLOCKED
    _accepts(bedrock_client, emulator_bucket, text_video("a blocked-input cat"))


def test_images(bedrock_client: Any, emulator_bucket: str) -> None:
    png, jpeg = make_image(), make_image(fmt="JPEG")

    def tv(*images: dict[str, Any]) -> dict[str, Any]:
        body = text_video()
        body["textToVideoParams"]["images"] = list(images)
        return body

    _accepts(bedrock_client, emulator_bucket, tv(image_ref(png)))
    _accepts(bedrock_client, emulator_bucket, tv(image_ref(jpeg, "jpeg")))
    _accepts(bedrock_client, emulator_bucket, tv(image_ref(make_image(mode="RGBA"))))
    cases = {
        "format": tv(image_ref(png, "jpeg")),
        "jpg": tv(image_ref(jpeg, "jpg")),
        "1280x721": tv(image_ref(make_image(size=(1280, 721)))),
        "translucent": tv(image_ref(make_image(mode="RGBA", alpha=200))),
        "8-bit RGB": tv(image_ref(make_image(mode="L"))),
        "at most 1": tv(image_ref(png), image_ref(png)),
        "base64": tv({"format": "png", "source": {"bytes": "***"}}),
    }
    for label, body in cases.items():
        message = _rejects(bedrock_client, emulator_bucket, body)
        assert "images" in message, (label, message)
    auto = automated("a. b.")
    auto["multiShotAutomatedParams"]["images"] = [image_ref(png)]
    assert "images" in _rejects(bedrock_client, emulator_bucket, auto)
    shots = [{"text": "a", "image": image_ref(make_image(size=(640, 360)))}, {"text": "b"}]
    assert "shots[0].image" in _rejects(bedrock_client, emulator_bucket, manual(shots))


def test_s3_image_sources(bedrock_client: Any, s3_client: Any, emulator_bucket: str) -> None:
    s3_client.put_object(Bucket=emulator_bucket, Key="frames/first.png", Body=make_image())
    body = text_video()
    body["textToVideoParams"]["images"] = [
        {
            "format": "png",
            "source": {"s3Location": {"uri": f"s3://{emulator_bucket}/frames/first.png"}},
        }
    ]
    _accepts(bedrock_client, emulator_bucket, body)
    body["textToVideoParams"]["images"][0]["source"]["s3Location"]["uri"] = (
        f"s3://{emulator_bucket}/frames/missing.png"
    )
    assert "s3Location" in _rejects(bedrock_client, emulator_bucket, body)
