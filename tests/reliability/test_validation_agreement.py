"""Bad input: novareel's validation and the emulator's independent validation agree.

Hypothesis draws requests around every boundary of the contract (text 0/1/512/513/
4000/4001, durations 0/6/12/13/120/126, 0-22 shots, seeds -1/0/2147483646/2147483647,
models v1:0/v1:1/unknown, good and bad starting frames, output URIs with and without
the trailing slash). Each is built through novareel's public API; the request novareel
would send (or, when it refuses, would have sent) is checked by the emulator's own
validator:

* novareel accepts  => the emulator accepts exactly the payload novareel sends;
* novareel refuses  => the emulator refuses the raw equivalent JSON.

The in-process comparison runs thousands of cases; a smaller sample goes over real
HTTP with boto3 and shows that a locally refused request makes no request at all.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from novareel import MultiShotAutomated, MultiShotManual, Shot, TextVideo
from novareel.emulator.errors import ApiError
from novareel.emulator.validation import validate_start_request
from novareel.foundation.errors import InvalidRequestError
from novareel.foundation.s3uri import output_location
from novareel.jobs import VideoGenerator
from novareel.media.images import load_starting_frame
from novareel.models.base import StartingFrame
from novareel.models.nova_reel import build_request
from tests.helpers import BUCKET, make_client

MODELS = ["amazon.nova-reel-v1:1", "amazon.nova-reel-v1:0", "amazon.nova-reel-v2:0", "bad model!"]
TEXT_LENGTHS = [0, 1, 2, 511, 512, 513, 3999, 4000, 4001]
DURATIONS = [None, 0, 5, 6, 7, 12, 13, 18, 24, 60, 114, 120, 121, 126]
SEEDS = [-1, 0, 1, 42, 2_147_483_646, 2_147_483_647]
OUTPUTS = [
    f"s3://{BUCKET}",
    f"s3://{BUCKET}/",
    f"s3://{BUCKET}/videos/",
    f"s3://{BUCKET}/videos",  # novareel adds the '/', with a notice
    f"s3://{BUCKET}/a/b/c/",
    "s3://Bad_Bucket/",
    "s3://ab/",
]


# ----------------------------------------------------------------------- images


def _encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def _image_bytes() -> dict[str, tuple[str, bytes]]:
    """name -> (file suffix, bytes)."""
    rgb = Image.new("RGB", (1280, 720), (30, 120, 200))
    rgba_clear = Image.new("RGBA", (1280, 720), (30, 120, 200, 255))
    rgba_clear.putpixel((5, 7), (0, 0, 0, 0))
    return {
        "png": (".png", _encode(rgb, "PNG")),
        "jpeg": (".jpg", _encode(rgb, "JPEG")),
        "png_1280x721": (".png", _encode(Image.new("RGB", (1280, 721)), "PNG")),
        "jpeg_720x1280": (".jpg", _encode(Image.new("RGB", (720, 1280)), "JPEG")),
        "rgba_transparent": (".png", _encode(rgba_clear, "PNG")),
        "rgba_opaque": (".png", _encode(Image.new("RGBA", (1280, 720), (9, 9, 9, 255)), "PNG")),
        "grayscale_png": (".png", _encode(Image.new("L", (1280, 720), 128), "PNG")),
        "palette_png": (".png", _encode(rgb.convert("P"), "PNG")),
        "jpeg_named_png": (".png", _encode(rgb, "JPEG")),
        "gif": (".gif", _encode(rgb.convert("P"), "GIF")),
        "not_an_image": (".png", b"this is not an image"),
    }


IMAGE_NAMES = list(_image_bytes())


@dataclass(frozen=True)
class Frame:
    """A starting frame as novareel loads it, and the raw JSON a caller would send."""

    name: str
    frame: StartingFrame | None  # None: novareel refused the file
    raw: dict[str, Any] = field(repr=False)


@cache
def _frames(folder: str) -> dict[str, Frame]:
    out: dict[str, Frame] = {}
    for name, (suffix, data) in _image_bytes().items():
        path = Path(folder) / f"{name}{suffix}"
        path.write_bytes(data)
        try:
            frame: StartingFrame | None = load_starting_frame(path)
        except InvalidRequestError:
            frame = None
        # The raw image as novareel would send it: the real format when novareel can
        # tell it, else what the extension says.
        real = frame.format if frame is not None else ("jpeg" if suffix == ".jpg" else "png")
        raw = {"format": real, "source": {"bytes": base64.b64encode(data).decode()}}
        out[name] = Frame(name, frame, raw)
    return out


@pytest.fixture(scope="module")
def frames_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("frames"))


def frames_in(folder: str) -> dict[str, Frame]:
    return _frames(folder)


# ----------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    task: str
    model: str
    text_len: int
    duration: int | None
    shots: tuple[tuple[int, str | None], ...]  # (text length, image name)
    image: str | None
    seed: int
    output: str

    def text(self, n: int, salt: int = 0) -> str:
        return ("abcdefghij"[salt % 10] + "x" * max(n - 1, 0))[:n]


GOOD_IMAGES = [None, "png", "jpeg", "rgba_opaque", "jpeg_named_png"]
any_image = st.one_of(st.none(), st.none(), st.sampled_from(IMAGE_NAMES))
FIELDS = ["model", "text", "duration", "seed", "output", "image", "shots", "shot_text"]


@st.composite
def cases(draw: Any, *, http: bool = False) -> Case:
    """Half the cases are valid but for at most one field; the rest are anything."""
    task = draw(st.sampled_from(["TEXT_VIDEO", "MULTI_SHOT_AUTOMATED", "MULTI_SHOT_MANUAL"]))
    near_valid = draw(st.booleans())
    broken = draw(st.sampled_from([*FIELDS, "none", "none"])) if near_valid else "all"

    def pick(name: str, good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> Any:
        return draw(bad if broken in (name, "all") else good)

    manual = task == "MULTI_SHOT_MANUAL"
    good_models = ["amazon.nova-reel-v1:1"] + (["amazon.nova-reel-v1:0"] * (task == "TEXT_VIDEO"))
    model = pick("model", st.sampled_from(good_models), st.sampled_from(MODELS))
    good_len = [1, 2, 511, 512] + ([3999, 4000] if task == "MULTI_SHOT_AUTOMATED" else [])
    text_len = pick("text", st.sampled_from(good_len), st.sampled_from(TEXT_LENGTHS))
    n_shots = pick("shots", st.integers(2, 20), st.integers(0, 22)) if manual else 0
    shot_image_pool = GOOD_IMAGES if n_shots <= 4 else [None, None, "png"]
    bad_shot_pool = IMAGE_NAMES if n_shots <= 4 else ["png", "not_an_image"]
    shots = tuple(
        (
            pick("shot_text", st.sampled_from([1, 30, 512]), st.sampled_from([0, 1, 512, 513])),
            pick("shot_text", st.sampled_from(shot_image_pool), st.sampled_from(bad_shot_pool)),
        )
        for _ in range(n_shots)
    )
    durations: dict[str, list[int | None]] = {
        "TEXT_VIDEO": [None, 6],
        "MULTI_SHOT_AUTOMATED": [12, 18, 24, 60, 114, 120],
        "MULTI_SHOT_MANUAL": [None, 6 * n_shots],
    }
    good_duration = durations[task]
    duration = pick("duration", st.sampled_from(good_duration), st.sampled_from(DURATIONS))
    seed = pick("seed", st.sampled_from([0, 1, 42, 2_147_483_646]), st.sampled_from(SEEDS))
    output = pick("output", st.sampled_from(OUTPUTS[:5]), st.sampled_from(OUTPUTS))
    good_image = GOOD_IMAGES if task == "TEXT_VIDEO" else [None]
    # A job-level image on a storyboard has no place in the raw JSON at all (novareel
    # refuses it; see test_manual_job_level_image_is_refused_locally).
    image = None if manual else pick("image", st.sampled_from(good_image), any_image)
    if http:
        # The request classes take no image on automated/manual jobs and never send a
        # manual duration, so the wire sample sticks to what they can express.
        if task != "TEXT_VIDEO":
            image = None
        if manual:
            duration = None
        elif duration is None:
            duration = 6 if task == "TEXT_VIDEO" else 12
    return Case(task, model, text_len, duration, shots, image, seed, output)


# ----------------------------------------------------------------------- both sides


def novareel_payload(case: Case, frames: dict[str, Frame]) -> dict[str, Any]:
    """The StartAsyncInvoke body novareel would send; InvalidRequestError if refused."""

    def frame(name: str | None) -> StartingFrame | None:
        if name is None:
            return None
        loaded = frames[name].frame
        if loaded is None:
            raise InvalidRequestError([])  # load_starting_frame refused the file
        return loaded

    prompt = case.text(case.text_len)
    if case.task == "MULTI_SHOT_MANUAL":
        shots = [Shot(case.text(n, i), image=frame(img)) for i, (n, img) in enumerate(case.shots)]
        request = build_request(
            None,
            task="manual",
            duration=case.duration,
            image=frame(case.image),
            shots=shots,
            seed=case.seed,
            model_id=case.model,
        )
    else:
        request = build_request(
            prompt,
            task="text" if case.task == "TEXT_VIDEO" else "auto",
            duration=case.duration,
            image=frame(case.image),
            seed=case.seed,
            model_id=case.model,
        )
    output = output_location(case.output)
    return {
        "modelId": request.model_id,
        "modelInput": request.to_model_input(),
        "outputDataConfig": output.to_output_data_config(),
        "clientRequestToken": "agreement-token",
    }


def raw_payload(case: Case, frames: dict[str, Frame]) -> dict[str, Any]:
    """What the caller asked for, as the raw JSON novareel would have sent."""
    config: dict[str, Any] = {"fps": 24, "dimension": "1280x720", "seed": case.seed}
    if case.duration is not None:
        config["durationSeconds"] = case.duration
    elif case.task == "TEXT_VIDEO":
        config["durationSeconds"] = 6
    prompt = case.text(case.text_len)
    model_input: dict[str, Any] = {"taskType": case.task, "videoGenerationConfig": config}
    if case.task == "TEXT_VIDEO":
        params: dict[str, Any] = {"text": prompt}
        if case.image:
            params["images"] = [frames[case.image].raw]
        model_input["textToVideoParams"] = params
    elif case.task == "MULTI_SHOT_AUTOMATED":
        params = {"text": prompt}
        if case.image:
            params["images"] = [frames[case.image].raw]
        model_input["multiShotAutomatedParams"] = params
    else:
        shots = []
        for i, (n, img) in enumerate(case.shots):
            shot: dict[str, Any] = {"text": case.text(n, i)}
            if img:
                shot["image"] = frames[img].raw
            shots.append(shot)
        model_input["multiShotManualParams"] = {"shots": shots}
    uri = case.output
    if uri.startswith(f"s3://{BUCKET}/") and not uri.endswith("/"):
        uri += "/"  # novareel's documented fix, applied to the raw equivalent too
    return {
        "modelId": case.model,
        "modelInput": model_input,
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": uri}},
        "clientRequestToken": "agreement-token",
    }


def emulator_accepts(body: dict[str, Any]) -> tuple[bool, str]:
    """Run the emulator's validator in-process on a JSON round-trip of ``body``."""
    try:
        validate_start_request(
            json.loads(json.dumps(body)),
            region="us-east-1",
            bucket_exists=lambda bucket: True,
            fetch_object=lambda bucket, key: None,
            blocked_input_words=[],
        )
    except ApiError as exc:
        assert exc.code == "ValidationException"
        return False, exc.message
    return True, ""


# Known, deliberate differences are kept out of the property and pinned below.
def _whitespace_only(case: Case) -> bool:
    return False


def check_agreement(case: Case, frames: dict[str, Frame]) -> str:
    try:
        sent = novareel_payload(case, frames)
    except InvalidRequestError as exc:
        ok, message = emulator_accepts(raw_payload(case, frames))
        assert not ok, f"novareel refused ({exc}) but the emulator accepts {case}"
        return "refused"
    ok, message = emulator_accepts(sent)
    assert ok, f"novareel accepted but the emulator refused: {message} ({case})"
    config = sent["modelInput"]["videoGenerationConfig"]
    assert config["fps"] == 24 and config["dimension"] == "1280x720"
    return "accepted"


OUTCOMES: dict[str, int] = {"accepted": 0, "refused": 0}


@settings(
    max_examples=2000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases())
def test_novareel_and_emulator_agree_in_process(case: Case, frames_dir: str) -> None:
    OUTCOMES[check_agreement(case, frames_in(frames_dir))] += 1


def test_agreement_run_saw_both_outcomes() -> None:
    """The property above exercised both sides (guards against a vacuous pass)."""
    if sum(OUTCOMES.values()) == 0:
        pytest.skip("the property test did not run in this session")
    assert OUTCOMES["accepted"] >= 100
    assert OUTCOMES["refused"] >= 100


# ----------------------------------------------------------------------- boundaries

MANUAL = "MULTI_SHOT_MANUAL"


@pytest.mark.parametrize(
    "case,accepted",
    [
        (Case("TEXT_VIDEO", MODELS[0], 512, 6, (), "png", 0, OUTPUTS[2]), True),
        (Case("TEXT_VIDEO", MODELS[0], 513, 6, (), None, 0, OUTPUTS[2]), False),
        (Case("TEXT_VIDEO", MODELS[1], 1, 6, (), "jpeg", 2_147_483_646, OUTPUTS[0]), True),
        (Case("TEXT_VIDEO", MODELS[1], 1, 6, (), None, 2_147_483_647, OUTPUTS[0]), False),
        (Case("TEXT_VIDEO", MODELS[0], 10, 6, (), "rgba_transparent", 1, OUTPUTS[1]), False),
        (Case("TEXT_VIDEO", MODELS[0], 10, 6, (), "rgba_opaque", 1, OUTPUTS[1]), True),
        (Case("TEXT_VIDEO", MODELS[0], 10, 6, (), "png_1280x721", 1, OUTPUTS[1]), False),
        (Case("TEXT_VIDEO", MODELS[0], 10, 6, (), "jpeg_named_png", 1, OUTPUTS[3]), True),
        (Case("MULTI_SHOT_AUTOMATED", MODELS[0], 4000, 120, (), None, 0, OUTPUTS[2]), True),
        (Case("MULTI_SHOT_AUTOMATED", MODELS[0], 4001, 120, (), None, 0, OUTPUTS[2]), False),
        (Case("MULTI_SHOT_AUTOMATED", MODELS[0], 10, 126, (), None, 0, OUTPUTS[2]), False),
        (Case("MULTI_SHOT_AUTOMATED", MODELS[0], 10, 13, (), None, 0, OUTPUTS[2]), False),
        (Case("MULTI_SHOT_AUTOMATED", MODELS[1], 10, 12, (), None, 0, OUTPUTS[2]), False),
        (Case(MANUAL, MODELS[0], 0, None, ((1, None),) * 20, None, 0, OUTPUTS[2]), True),
        (Case(MANUAL, MODELS[0], 0, None, ((1, None),) * 21, None, 0, OUTPUTS[2]), False),
        (Case(MANUAL, MODELS[0], 0, None, ((1, None),), None, 0, OUTPUTS[2]), False),
        (Case(MANUAL, MODELS[0], 0, 12, ((1, "png"), (512, None)), None, 0, OUTPUTS[2]), True),
        (Case(MANUAL, MODELS[0], 0, 18, ((1, None), (1, None)), None, 0, OUTPUTS[2]), False),
    ],
)  # fmt: skip
def test_boundaries(case: Case, accepted: bool, frames_dir: str) -> None:
    assert check_agreement(case, frames_in(frames_dir)) == ("accepted" if accepted else "refused")


def test_manual_job_level_image_is_refused_locally(frames_dir: str) -> None:
    frame = frames_in(frames_dir)["png"].frame
    with pytest.raises(InvalidRequestError) as info:
        build_request(task="manual", shots=[Shot("a"), Shot("b")], image=frame)
    assert [p.field for p in info.value.problems] == ["image"]


def test_fields_only_raw_json_can_express_are_refused_by_the_emulator() -> None:
    """fps 23, another dimension, a float seed: novareel never produces them."""
    base = {
        "modelId": MODELS[0],
        "modelInput": {
            "taskType": "TEXT_VIDEO",
            "textToVideoParams": {"text": "a boat"},
            "videoGenerationConfig": {"durationSeconds": 6, "fps": 24, "dimension": "1280x720"},
        },
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/"}},
    }
    assert emulator_accepts(base)[0]
    for key, value in [("fps", 23), ("fps", 24.0), ("dimension", "1920x1080"), ("seed", 1.5)]:
        body = json.loads(json.dumps(base))
        body["modelInput"]["videoGenerationConfig"][key] = value
        assert not emulator_accepts(body)[0], (key, value)
    for request in (
        TextVideo("a boat"),
        MultiShotAutomated("a boat", duration=120),
        MultiShotManual([Shot("a"), Shot("b")]),
    ):
        config = request.to_model_input()["videoGenerationConfig"]
        assert (config["fps"], config["dimension"]) == (24, "1280x720")
        assert type(config["seed"]) is int


# ----------------------------------------------------------------------- over HTTP


@pytest.fixture
def http_setup(emulator: Any) -> Any:
    """VideoGenerator without a ledger and a one-attempt raw boto3 client, on the emulator.

    Every accepted job is made to fail at once (no rendering), and the quota is lifted.
    """
    client = make_client(emulator.url, max_attempts=1)
    client.ensure_bucket(BUCKET)
    emulator.configure(quotas={"amazon.nova-reel-v1:1": 100_000, "amazon.nova-reel-v1:0": 100_000})
    emulator.fail_jobs("INTERNAL_SERVER_EXCEPTION", shot=1, count=None, marker="")
    return VideoGenerator(client, ledger=False), client.bedrock


def _request_object(case: Case, frames: dict[str, Frame]) -> Any:
    """The request built with the classes (validated only when submitted)."""

    def frame(name: str | None) -> StartingFrame | None:
        if name is None:
            return None
        loaded = frames[name].frame
        if loaded is None:
            raise InvalidRequestError([])
        return loaded

    prompt = case.text(case.text_len)
    if case.task == "TEXT_VIDEO":
        return TextVideo(
            prompt, image=frame(case.image), seed=case.seed, model_id=case.model,
            duration=case.duration if case.duration is not None else 6,
        )  # fmt: skip
    if case.task == "MULTI_SHOT_AUTOMATED":
        return MultiShotAutomated(
            prompt, duration=case.duration or 12, seed=case.seed, model_id=case.model
        )
    shots = [Shot(case.text(n, i), image=frame(img)) for i, (n, img) in enumerate(case.shots)]
    return MultiShotManual(shots, seed=case.seed, model_id=case.model)


HTTP_SEEN: dict[str, int] = {"accepted": 0, "refused": 0}


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases(http=True))
def test_wire_path_agrees_and_refusals_cost_no_request(
    case: Case, frames_dir: str, emulator: Any, http_setup: Any
) -> None:
    frames = frames_in(frames_dir)
    reel, raw_bedrock = http_setup
    before = emulator.stats()["totalRequests"]
    try:
        request = _request_object(case, frames)
        submitted = reel.submit(request, case.output)
    except InvalidRequestError:
        assert emulator.stats()["totalRequests"] == before, "a refused request reached AWS"
        body = raw_payload(case, frames)
        try:
            raw_bedrock.start_async_invoke(**body)
        except raw_bedrock.exceptions.ValidationException:
            HTTP_SEEN["refused"] += 1
            return
        pytest.fail(f"novareel refused but the emulator accepted over HTTP: {case}")
    assert submitted.invocation_arn
    assert emulator.stats()["totalRequests"] == before + 1
    # The request received is the request asked for: the emulator's record of the
    # modelInput equals the raw JSON of what the case asks (images as the files' bytes).
    received = emulator.job(submitted.invocation_arn)["modelInput"]
    assert received == raw_payload(case, frames)["modelInput"], case
    HTTP_SEEN["accepted"] += 1


def test_wire_sample_saw_both_outcomes() -> None:
    if sum(HTTP_SEEN.values()) == 0:
        pytest.skip("the wire sample did not run in this session")
    assert HTTP_SEEN["accepted"] >= 10
    assert HTTP_SEEN["refused"] >= 10


def test_whitespace_only_prompt_is_a_deliberate_local_refusal(frames_dir: str) -> None:
    """The one known difference: novareel refuses a blank prompt that the contract's
    1-512 character rule (and so the emulator) would accept, to save a paid job."""
    case = Case("TEXT_VIDEO", MODELS[0], 3, 6, (), None, 0, OUTPUTS[2])
    body = raw_payload(case, frames_in(frames_dir))
    body["modelInput"]["textToVideoParams"]["text"] = "   "
    assert emulator_accepts(body)[0]
    with pytest.raises(InvalidRequestError) as info:
        build_request("   ")
    assert [p.field for p in info.value.problems] == ["prompt"]
