"""Every Luma Ray 2 rule at its exact boundary, and the registry that finds it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from novareel.foundation.errors import InvalidRequestError
from novareel.models import (
    GenerateOptions,
    build_request,
    build_shot_requests,
    estimate_cost_usd,
    get_model,
    register,
    resolve_model_id,
    unregister,
)
from novareel.models.base import (
    FrameRules,
    Lifecycle,
    ModelInfo,
    RequestBase,
    Shot,
    StartingFrame,
    VideoShape,
)
from novareel.models.luma_ray import ASPECT_RATIOS, PIXELS, RayVideo

PNG = StartingFrame(
    format="png", data=b"\x89PNG\r\n\x1a\nfake", source="start.png", sha256="ab" * 32
)
JPEG = StartingFrame(format="jpeg", data=b"\xff\xd8\xfffake", source="end.jpg", sha256="cd" * 32)


def fields(exc: pytest.ExceptionInfo[InvalidRequestError]) -> list[str]:
    return [p.field for p in exc.value.problems]


def ray(**kwargs: Any) -> GenerateOptions:
    return GenerateOptions(model_id="luma-ray2", **{"prompt": "a fox", **kwargs})


def test_done_when_request_is_exact() -> None:
    request = build_request(
        ray(aspect_ratio="9:16", resolution="540p", duration=9, loop=True, prompt="fox")
    )
    assert request.to_model_input() == {
        "prompt": "fox",
        "aspect_ratio": "9:16",
        "duration": "9s",
        "resolution": "540p",
        "loop": True,
    }
    assert request.estimated_cost_usd == pytest.approx(6.75)
    assert request.seed is None


def test_defaults_are_sent_explicitly() -> None:
    body = build_request(ray()).to_model_input()
    assert body == {
        "prompt": "a fox",
        "aspect_ratio": "16:9",
        "duration": "5s",
        "resolution": "720p",
        "loop": False,
    }


@pytest.mark.parametrize("length", [1, 5000])
def test_prompt_length_accepted(length: int) -> None:
    assert RayVideo("a" * length).to_model_input()["prompt"] == "a" * length


@pytest.mark.parametrize("prompt", ["", "  ", "a" * 5001])
def test_prompt_length_refused(prompt: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        RayVideo(prompt).validate()
    assert fields(info) == ["prompt"]


@pytest.mark.parametrize("ratio", ASPECT_RATIOS)
@pytest.mark.parametrize("resolution", ["540p", "720p"])
def test_every_shape_is_even_and_short_side_is_the_resolution(ratio: str, resolution: str) -> None:
    shape = RayVideo("x", aspect_ratio=ratio, resolution=resolution).shape
    assert shape.width % 2 == 0 and shape.height % 2 == 0
    assert min(shape.width, shape.height) == int(resolution[:-1])
    w, h = (int(n) for n in ratio.split(":"))
    assert shape.width / shape.height == pytest.approx(w / h, rel=0.01)


@pytest.mark.parametrize("ratio", ["2:1", "16:10", "", "16x9", "9:16 "])
def test_unknown_aspect_ratio_refused(ratio: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        build_request(ray(aspect_ratio=ratio))
    assert fields(info) == ["aspect_ratio"]
    assert "1:1 | 16:9 | 9:16 | 4:3 | 3:4 | 21:9 | 9:21" in str(info.value.problems[0].limit)


@pytest.mark.parametrize("resolution", ["1080p", "480p", "720", "720P"])
def test_unknown_resolution_refused(resolution: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        build_request(ray(resolution=resolution))
    assert fields(info) == ["resolution"]


@pytest.mark.parametrize("duration", [5, 9])
def test_durations_accepted(duration: int) -> None:
    assert build_request(ray(duration=duration)).to_model_input()["duration"] == f"{duration}s"


@pytest.mark.parametrize("duration", [0, 4, 6, 8, 10, 18])
def test_durations_refused(duration: int) -> None:
    with pytest.raises(InvalidRequestError) as info:
        build_request(ray(duration=duration))
    assert fields(info) == ["duration"]
    assert info.value.problems[0].limit == "5 | 9 (seconds)"


@pytest.mark.parametrize(
    "options,flag",
    [({"seed": 1}, "seed"), ({"task": "text"}, "task"), ({"seed": 0}, "seed")],
)
def test_flags_ray_does_not_take_are_refused_naming_the_model(
    options: dict[str, Any], flag: str
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        build_request(ray(**options))
    problem = info.value.problems[0]
    assert problem.field == flag
    assert "Luma Ray 2 (luma.ray-v2:0) takes no" in problem.message
    assert "--aspect-ratio" in str(problem.limit) and "--seed" not in str(problem.limit)


@pytest.mark.parametrize(
    "options",
    [
        {"aspect_ratio": "1:1"},
        {"resolution": "540p"},
        {"loop": True},
        {"end_image": PNG},
    ],
)
def test_flags_nova_does_not_take_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequestError) as info:
        build_request(GenerateOptions(prompt="x", model_id="nova-reel", **options))
    assert "Nova Reel 1.1 (amazon.nova-reel-v1:1) takes no" in info.value.problems[0].message


def test_every_problem_at_once() -> None:
    with pytest.raises(InvalidRequestError) as info:
        build_request(ray(prompt="", seed=1, duration=7, aspect_ratio="2:1", resolution="4k"))
    assert sorted(fields(info)) == ["aspect_ratio", "duration", "prompt", "resolution", "seed"]


def test_keyframes_are_lumas_shape() -> None:
    body = build_request(ray(image=PNG, end_image=JPEG)).to_model_input()
    assert body["keyframes"]["frame0"] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PNG.base64},
    }
    assert body["keyframes"]["frame1"]["source"]["media_type"] == "image/jpeg"
    described = build_request(ray(image=PNG)).describe()
    assert described["keyframes"]["frame0"]["source"]["path"] == "start.png"
    assert "data" not in described["keyframes"]["frame0"]["source"]


def test_s3_keyframe_refused() -> None:
    frame = StartingFrame(format="png", s3_uri="s3://bucket/a.png", source="s3://bucket/a.png")
    with pytest.raises(InvalidRequestError) as info:
        build_request(ray(image=frame))
    assert fields(info) == ["image"]


def test_cost_by_resolution() -> None:
    assert build_request(ray(duration=9)).estimated_cost_usd == pytest.approx(13.5)
    assert build_request(ray(duration=5, resolution="540p")).estimated_cost_usd == 3.75
    assert estimate_cost_usd("luma.ray-v2:0", 9, "720p") == 13.5
    assert estimate_cost_usd("amazon.nova-reel-v1:1", 6) == 0.48
    assert estimate_cost_usd("unknown.model-v9:0", 6) is None


def test_storyboard_is_one_request_per_shot() -> None:
    shots = [Shot("one"), Shot("two", image=PNG), Shot("three")]
    requests = build_shot_requests(ray(prompt=None, shots=shots, duration=9, resolution="540p"))
    assert [r.to_model_input()["prompt"] for r in requests] == ["one", "two", "three"]
    assert [bool(r.frames) for r in requests] == [False, True, False]
    assert sum(r.estimated_cost_usd for r in requests) == pytest.approx(3 * 6.75)


def test_storyboard_problems_name_the_shot() -> None:
    with pytest.raises(InvalidRequestError) as info:
        build_shot_requests(ray(prompt=None, shots=[Shot("ok"), Shot("")], duration=7))
    assert sorted(fields(info)) == ["duration", "shots[2].text"]


def test_aliases_resolve() -> None:
    assert resolve_model_id("nova-reel") == "amazon.nova-reel-v1:1"
    assert resolve_model_id("nova-reel-v1:0") == "amazon.nova-reel-v1:0"
    assert resolve_model_id("luma-ray2") == "luma.ray-v2:0"
    assert resolve_model_id("LUMA-RAY2") == "luma.ray-v2:0"
    assert resolve_model_id(None) == "amazon.nova-reel-v1:1"
    with pytest.raises(InvalidRequestError) as info:
        get_model("sora")
    assert "luma-ray2" in str(info.value.problems[0].limit)


def test_pixels_table_covers_every_option() -> None:
    assert len(PIXELS) == 14


# -------------------------------------------------------- a third family, in the tests


@dataclass(frozen=True)
class FakeVideo(RequestBase):
    prompt: str
    model_id: str = "fake.video-v1:0"
    task_type: str = "TEXT_VIDEO"
    seed: int | None = None
    duration_seconds: int = 4

    @property
    def estimated_cost_usd(self) -> float:
        return 0.04

    @property
    def frames(self) -> list[StartingFrame]:
        return []

    @property
    def shape(self) -> VideoShape:
        return VideoShape(640, 360, 24, 4)

    def problems(self) -> list[Any]:
        return []

    def _body(self, describe: bool) -> dict[str, Any]:
        return {"text": self.prompt}


class FakeFamily:
    name = "Fake"
    models = (
        ModelInfo(
            model_id="fake.video-v1:0",
            family="fake",
            name="Fake Video",
            provider="Tests",
            regions=("eu-north-1",),
            lifecycle=Lifecycle(),
            price_usd_per_second={"*": 0.01},
            task_types=("TEXT_VIDEO",),
            aliases=("fake",),
        ),
    )
    accepts = frozenset({"duration"})
    video_name = "output.mp4"
    status_files: tuple[str, ...] = ()
    retryable_failures: frozenset[str] = frozenset()
    multi_shot = False

    def frame_rules_for(self, options: GenerateOptions) -> FrameRules:
        return FrameRules(model_name="Fake", size=None)

    def build(self, options: GenerateOptions) -> FakeVideo:
        return FakeVideo(options.prompt or "")

    def build_shots(self, options: GenerateOptions) -> list[Any]:
        return [FakeVideo(s.text) for s in options.shots or ()]

    def rebuild(self, model_id: str, task_type: str, body: dict[str, Any], **_: Any) -> FakeVideo:
        return FakeVideo(body["text"])

    def expected_generation_seconds(self, model_id: str, shape: VideoShape) -> float:
        return 10.0

    def shape_from_body(self, body: dict[str, Any], duration: int | None) -> VideoShape:
        return VideoShape(640, 360, 24, 4)


def test_a_third_family_is_one_registration() -> None:
    family = FakeFamily()
    register(family)
    try:
        request = build_request(GenerateOptions(prompt="hello", model_id="fake"))
        assert request.to_model_input() == {"text": "hello"}
        assert get_model("fake").info.default_region == "eu-north-1"
        assert estimate_cost_usd("fake.video-v1:0", 10) == 0.1
    finally:
        unregister(family)
    assert resolve_model_id("fake") == "fake"


def test_lifecycle_notice_follows_the_dates() -> None:
    from datetime import date

    from novareel.models import lifecycle_notice

    nova = get_model("nova-reel")
    assert lifecycle_notice(nova, date(2026, 1, 1)) is None
    legacy = lifecycle_notice(nova, date(2026, 6, 1))
    assert legacy is not None and "is Legacy since 2026-03-30" in legacy
    ended = lifecycle_notice(nova, date(2026, 10, 1))
    assert ended is not None and "reached end of life on 2026-09-30" in ended
    assert "Luma Ray 2 (--model-id luma-ray2, $0.75/s at 540p" in ended
    assert "novareel doctor" in ended
    assert lifecycle_notice(get_model("luma-ray2"), date(2026, 10, 1)) is None


# --- checked when built, one price function (issue 19) ---------------------------------


def test_ray_request_is_refused_when_built() -> None:
    """Before: ``RayVideo(duration=6)`` was built and a dry run quoted $9.00 for it."""
    with pytest.raises(InvalidRequestError) as info:
        RayVideo("A kite", duration=6, resolution="1080p")
    assert fields(info) == ["resolution", "duration"]


def test_ray_keyframes_may_be_paths_read_as_the_cli_reads_them(tmp_path: Any) -> None:
    from PIL import Image

    from novareel.foundation.errors import ImageError
    from novareel.media.images import load_starting_frame
    from novareel.models.luma_ray import frame_rules

    start, end = tmp_path / "start.png", tmp_path / "end.jpg"
    Image.new("RGB", (960, 540), (1, 2, 3)).save(start)
    Image.new("RGB", (960, 540), (4, 5, 6)).save(end, format="JPEG")
    request = RayVideo("A kite", resolution="540p", start_frame=str(start), end_frame=end)
    rules = frame_rules("16:9", "540p")
    assert request.frames == [
        load_starting_frame(start, rules=rules),
        load_starting_frame(end, field="end_image", rules=rules),
    ]
    keyframes = request.to_model_input()["keyframes"]
    assert keyframes["frame1"]["source"]["media_type"] == "image/jpeg"
    with pytest.raises(ImageError) as info:  # the CLI's words for --image s3://...
        RayVideo("A kite", start_frame="s3://bucket/start.png")
    assert fields(info) == ["image"] and "documented form" in str(info.value)


def test_the_public_price_is_the_registrys() -> None:
    """Before: ``novareel.estimate_cost_usd("luma.ray-v2:0", 5)`` returned 0.40, Nova
    Reel's price; now it is the registry's, by resolution (720p, Ray 2's default and
    dearest, when not given)."""
    import novareel

    assert novareel.estimate_cost_usd is estimate_cost_usd
    assert novareel.estimate_cost_usd("luma.ray-v2:0", 5) == 7.5
    assert novareel.estimate_cost_usd("luma-ray2", 5, "540p") == 3.75
    assert novareel.estimate_cost_usd("nova-reel", 6) == 0.48
    with pytest.raises(InvalidRequestError) as info:
        novareel.estimate_cost_usd("luma.ray-v2:0", -5, "1080p")
    assert fields(info) == ["duration_seconds", "resolution"]


@pytest.mark.parametrize("resolution", ["540p", "720p"])
@pytest.mark.parametrize("duration", [5, 9])
def test_a_requests_price_is_the_public_price(resolution: str, duration: int) -> None:
    from novareel.models.nova_reel import MultiShotAutomated, TextVideo

    request = RayVideo("x", resolution=resolution, duration=duration)
    assert request.estimated_cost_usd == estimate_cost_usd(request.model_id, duration, resolution)
    for nova in (TextVideo("x"), MultiShotAutomated("x", duration=duration * 12 + 12)):
        assert nova.estimated_cost_usd == estimate_cost_usd(nova.model_id, nova.duration_seconds)
