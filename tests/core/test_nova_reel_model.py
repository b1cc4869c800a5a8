"""Every rule of the Nova Reel contract, at its exact boundary, before any I/O."""

from __future__ import annotations

import base64

import pytest

from novareel.foundation.errors import InvalidRequestError
from novareel.models.base import Shot, StartingFrame
from novareel.models.nova_reel import (
    MODEL_V1_0,
    MODEL_V1_1,
    MultiShotAutomated,
    MultiShotManual,
    TaskType,
    TextVideo,
    build_request,
    estimate_cost_usd,
    parse_task_type,
)

PNG = StartingFrame(
    format="png", data=b"\x89PNG\r\n\x1a\nfake", source="frame.png", sha256="ab" * 32
)


def fields(exc: pytest.ExceptionInfo[InvalidRequestError]) -> list[str]:
    return [p.field for p in exc.value.problems]


@pytest.mark.parametrize("length", [1, 512])
def test_text_video_prompt_length_accepted(length: int) -> None:
    body = TextVideo("a" * length).to_model_input()
    assert body["textToVideoParams"]["text"] == "a" * length


@pytest.mark.parametrize("prompt", ["", "   ", "a" * 513])
def test_text_video_prompt_length_refused(prompt: str) -> None:
    with pytest.raises(InvalidRequestError) as exc:
        TextVideo(prompt).validate()
    assert fields(exc) == ["prompt"]
    assert exc.value.problems[0].limit == "1-512 characters"


def test_text_video_513_names_length_and_limit() -> None:
    with pytest.raises(InvalidRequestError, match="513 characters; the limit is 512"):
        TextVideo("a" * 513).validate()


def test_text_video_exact_body() -> None:
    body = TextVideo("waves", seed=7).to_model_input()
    assert body == {
        "taskType": "TEXT_VIDEO",
        "textToVideoParams": {"text": "waves"},
        "videoGenerationConfig": {
            "durationSeconds": 6,
            "fps": 24,
            "dimension": "1280x720",
            "seed": 7,
        },
    }


def test_text_video_with_image_body() -> None:
    body = TextVideo("waves", image=PNG).to_model_input()
    image = body["textToVideoParams"]["images"][0]
    assert image["format"] == "png"
    assert base64.b64decode(image["source"]["bytes"]) == PNG.data


def test_s3_image_is_passed_by_reference_with_owner() -> None:
    frame = StartingFrame(format="jpeg", s3_uri="s3://b/i.jpg", bucket_owner="123456789012")
    body = TextVideo("x", image=frame).to_model_input()
    assert body["textToVideoParams"]["images"][0] == {
        "format": "jpeg",
        "source": {"s3Location": {"uri": "s3://b/i.jpg", "bucketOwner": "123456789012"}},
    }


def test_describe_replaces_image_bytes_by_path_and_digest() -> None:
    described = TextVideo("x", image=PNG).describe()
    image = described["textToVideoParams"]["images"][0]
    assert image == {"format": "png", "path": "frame.png", "sha256": "ab" * 32, "size": 12}
    assert "bytes" not in repr(described)


@pytest.mark.parametrize("seed", [0, 2_147_483_646])
def test_seed_bounds_accepted(seed: int) -> None:
    assert TextVideo("x", seed=seed).to_model_input()["videoGenerationConfig"]["seed"] == seed


@pytest.mark.parametrize("seed", [-1, 2_147_483_647])
def test_seed_bounds_refused(seed: int) -> None:
    with pytest.raises(InvalidRequestError) as exc:
        TextVideo("x", seed=seed).validate()
    assert fields(exc) == ["seed"]
    assert exc.value.problems[0].value == seed
    assert exc.value.problems[0].limit == "0-2147483646"


def test_seed_refuses_bool() -> None:
    with pytest.raises(InvalidRequestError):
        TextVideo("x", seed=True).validate()


@pytest.mark.parametrize("duration", [12, 18, 60, 114, 120])
def test_automated_durations_accepted(duration: int) -> None:
    request = MultiShotAutomated("x", duration=duration)
    body = request.to_model_input()
    assert body["videoGenerationConfig"]["durationSeconds"] == duration
    assert request.shot_count == duration // 6


@pytest.mark.parametrize("duration", [0, 6, 11, 13, 15, 119, 121, 126])
def test_automated_durations_refused(duration: int) -> None:
    with pytest.raises(InvalidRequestError) as exc:
        MultiShotAutomated("x", duration=duration).validate()
    assert fields(exc) == ["duration"]
    assert "multiple of 6 from 12 to 120" in (exc.value.problems[0].limit or "")


def test_automated_prompt_limit() -> None:
    assert MultiShotAutomated("a" * 4000, duration=12).problems() == []
    with pytest.raises(InvalidRequestError) as exc:  # refused when built
        MultiShotAutomated("a" * 4001, duration=12)
    assert fields(exc) == ["prompt"]


@pytest.mark.parametrize("count", [2, 20])
def test_manual_shot_counts_accepted(count: int) -> None:
    request = MultiShotManual([Shot(f"shot {i}") for i in range(count)])
    body = request.to_model_input()
    assert len(body["multiShotManualParams"]["shots"]) == count
    assert "durationSeconds" not in body["videoGenerationConfig"]
    assert request.duration_seconds == 6 * count


@pytest.mark.parametrize("count", [0, 1, 21])
def test_manual_shot_counts_refused(count: int) -> None:
    with pytest.raises(InvalidRequestError) as exc:
        MultiShotManual([Shot("s") for _ in range(count)]).validate()
    assert "shots" in fields(exc)


def test_manual_cost_is_six_seconds_per_shot() -> None:
    # pwshBedrock prices a manual job from DurationSeconds (default 6): wrong.
    request = MultiShotManual([Shot("a"), Shot("b"), Shot("c"), Shot("d")])
    assert request.duration_seconds == 24
    assert request.estimated_cost_usd == pytest.approx(1.92)


def test_manual_reports_every_bad_shot_with_its_number() -> None:
    shots = [Shot("ok"), Shot(""), Shot("b" * 513)]
    with pytest.raises(InvalidRequestError) as exc:
        MultiShotManual(shots, seed=-5).validate()
    assert fields(exc) == ["shots[2].text", "shots[3].text", "seed"]


def test_manual_image_per_shot() -> None:
    body = MultiShotManual([Shot("a"), Shot("b", image=PNG)]).to_model_input()
    shots = body["multiShotManualParams"]["shots"]
    assert "image" not in shots[0]
    assert shots[1]["image"]["format"] == "png"


def test_v1_0_is_text_video_only() -> None:
    assert TextVideo("x", model_id=MODEL_V1_0).problems() == []
    with pytest.raises(InvalidRequestError) as exc:
        MultiShotAutomated("x", duration=12, model_id=MODEL_V1_0).validate()
    assert fields(exc) == ["model_id"]
    assert MODEL_V1_1 in (exc.value.problems[0].limit or "")


@pytest.mark.parametrize("model", ["amazon.nova-reel-v2:0", "luma.ray-v2:0", "bad model!", ""])
def test_unknown_models_refused(model: str) -> None:
    with pytest.raises(InvalidRequestError) as exc:
        TextVideo("x", model_id=model).validate()
    assert fields(exc) == ["model_id"]


def test_image_over_25mb_refused() -> None:
    big = StartingFrame(format="png", data=b"0" * 25_000_001, source="big.png")
    with pytest.raises(InvalidRequestError, match="25,000,001 bytes"):
        TextVideo("x", image=big).validate()


def test_image_format_jpg_is_refused() -> None:
    frame = StartingFrame(format="jpg", data=b"x", source="a.jpg")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError) as exc:
        TextVideo("x", image=frame).validate()
    assert fields(exc) == ["image.format"]


def test_cost_table() -> None:
    assert estimate_cost_usd(MODEL_V1_1, 6) == pytest.approx(0.48)
    assert estimate_cost_usd(MODEL_V1_1, 120) == pytest.approx(9.60)
    assert TextVideo("x").estimated_cost_usd == pytest.approx(0.48)


# -- build_request: the task type a user means, and contradictions refused --


def test_default_is_text_video() -> None:
    assert build_request("x").task_type is TaskType.TEXT_VIDEO


def test_duration_above_six_without_task_means_automated() -> None:
    request = build_request("x", duration=24)
    assert isinstance(request, MultiShotAutomated)
    assert request.duration_seconds == 24


def test_shots_without_task_mean_manual() -> None:
    request = build_request(shots=[Shot("a"), Shot("b")])
    assert isinstance(request, MultiShotManual)


def test_text_video_with_twelve_seconds_is_an_error() -> None:
    with pytest.raises(InvalidRequestError) as exc:
        build_request("x", task="text", duration=12)
    assert fields(exc) == ["duration"]


def test_image_on_automated_is_an_error() -> None:
    with pytest.raises(InvalidRequestError) as exc:
        build_request("x", task="auto", duration=12, image=PNG)
    assert fields(exc) == ["image"]


def test_automated_without_duration_is_an_error() -> None:
    with pytest.raises(InvalidRequestError) as exc:
        build_request("x", task="MULTI_SHOT_AUTOMATED")
    assert "duration" in fields(exc)


def test_manual_with_prompt_and_wrong_duration_reports_both() -> None:
    with pytest.raises(InvalidRequestError) as exc:
        build_request("x", task="manual", duration=6, shots=[Shot("a"), Shot("b")])
    assert fields(exc) == ["prompt", "duration"]


def test_manual_duration_matching_shots_is_fine() -> None:
    request = build_request(task="manual", duration=12, shots=[Shot("a"), Shot("b")])
    assert request.duration_seconds == 12


@pytest.mark.parametrize(
    "alias,expected",
    [
        ("text", TaskType.TEXT_VIDEO),
        ("TEXT_VIDEO", TaskType.TEXT_VIDEO),
        ("auto", TaskType.MULTI_SHOT_AUTOMATED),
        ("multi-shot-automated", TaskType.MULTI_SHOT_AUTOMATED),
        ("Manual", TaskType.MULTI_SHOT_MANUAL),
    ],
)
def test_task_aliases(alias: str, expected: TaskType) -> None:
    assert parse_task_type(alias) is expected


def test_unknown_task_type() -> None:
    with pytest.raises(InvalidRequestError) as exc:
        parse_task_type("long")
    assert fields(exc) == ["task"]


def test_declared_format_must_match_the_bytes() -> None:
    jpeg_bytes = StartingFrame(format="png", data=b"\xff\xd8\xff\xe0 jfif", source="a.png")
    with pytest.raises(InvalidRequestError) as exc:
        TextVideo("x", image=jpeg_bytes).validate()
    assert fields(exc) == ["image.format"]
    assert "bytes are jpeg" in str(exc.value)


# --- checked when built, images as paths (issue 19) ------------------------------------


def test_an_invalid_request_is_refused_when_built_with_every_problem() -> None:
    """Before: ``TextVideo("A man walks", duration=12)`` was built, and a dry run quoted
    $0.96 for it; now building it raises, naming every problem by field."""
    with pytest.raises(InvalidRequestError) as exc:
        TextVideo("A man walks", duration=12, seed=-1)
    assert fields(exc) == ["duration", "seed"]
    with pytest.raises(InvalidRequestError) as exc:
        MultiShotAutomated("A man walks", duration=25)
    assert fields(exc) == ["duration"]
    with pytest.raises(InvalidRequestError) as exc:
        MultiShotManual([Shot("only one", image=42)], model_id=MODEL_V1_0)  # type: ignore[arg-type]
    assert fields(exc) == ["shots[1].image", "shots", "model_id"]


def write_frame(path: object, fmt: str = "PNG", size: tuple[int, int] = (1280, 720)) -> None:
    from PIL import Image

    Image.new("RGB", size, (40, 90, 160)).save(path, format=fmt)  # type: ignore[arg-type]


def test_an_image_path_is_read_as_the_cli_reads_it(tmp_path: object) -> None:
    """Before: ``TextVideo(prompt, image="seashell.png")`` kept the string, and generate
    failed with AttributeError; now a str or Path is read by images' loader (the one
    ``--image`` uses), notes and all."""
    from pathlib import Path

    from novareel.media.images import load_starting_frame

    path = Path(str(tmp_path)) / "seashell.png"
    write_frame(path, "JPEG")  # JPEG bytes behind a .png name: accepted with a note
    expected = load_starting_frame(path)
    for given in (str(path), path):
        request = TextVideo("A seashell", image=given)
        assert isinstance(request.image, StartingFrame)
        assert request.image == expected and request.image.format == "jpeg"
        assert request.image.notes == expected.notes and request.image.notes
        assert request.to_model_input()["textToVideoParams"]["images"][0]["format"] == "jpeg"
    by_uri = TextVideo("A seashell", image="s3://bucket/frames/seashell.png")
    assert by_uri.frames[0].s3_uri == "s3://bucket/frames/seashell.png"
    shots = MultiShotManual([Shot("one", image=str(path)), Shot("two")])
    assert shots.frames == [expected]


def test_a_bad_image_path_is_an_image_error_among_the_other_problems(tmp_path: object) -> None:
    from pathlib import Path

    from novareel.foundation.errors import ImageError

    small = Path(str(tmp_path)) / "small.png"
    write_frame(small, size=(640, 360))
    with pytest.raises(ImageError) as only_image:
        TextVideo("x", image=small)
    assert fields(only_image) == ["image"] and "1280x720" in str(only_image.value)
    with pytest.raises(InvalidRequestError) as mixed:
        TextVideo("x", image=str(tmp_path) + "/missing.png", duration=12)
    assert not isinstance(mixed.value, ImageError)
    assert fields(mixed) == ["image", "duration"]
    with pytest.raises(ImageError) as shot:
        MultiShotManual([Shot("one"), Shot("two", image=small)])
    assert fields(shot) == ["shots[2].image"]
