"""The request received is the request asked for: first submit, `jobs retry`, batch resume.

The other agreement tests show that the emulator *accepts* what novareel sends. That
would not notice a request that is valid but wrong: a Luma Ray 2 retry that silently
drops ``loop`` or the end keyframe, a storyboard that loses a shot's image. Here every
accepted request is read back from the emulator (``GET /_emulator/jobs/<id>``: the
``modelInput`` exactly as received) and compared, field by field, with what the user
asked for, stated independently of novareel's builders (the prompt, aspect ratio,
resolution, duration, loop, both keyframes' bytes, seed, shots and their images, task
type). The same comparison runs on the replay paths: the job rebuilt from the ledger by
``replay.retry`` (`novareel jobs retry`) and a batch item sent again when a batch is
resumed.

Mutations tried by hand (each made the suite fail; see the closing report of issue 19):
forcing ``loop`` to false or dropping ``frame1`` in ``RayVideo._body`` and in
``LumaRayFamily.rebuild``.
"""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from novareel import MultiShotAutomated, MultiShotManual, Shot, TextVideo
from novareel.batch import run_batch
from novareel.client import AwsClient
from novareel.jobs import VideoGenerator
from novareel.media.images import load_starting_frame
from novareel.models import GenerateOptions, build_request
from novareel.models.luma_ray import FAMILY as RAY_FAMILY
from novareel.running.replay import retry
from tests.helpers import BUCKET

RAY = "luma.ray-v2:0"
V11 = "amazon.nova-reel-v1:1"
V10 = "amazon.nova-reel-v1:0"
OUTPUT = f"s3://{BUCKET}/received/"
RATIOS = ["1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "9:21"]
#: prompts with the characters that could be mangled on the way (quotes, unicode, newline)
PROMPTS = ["a fox", 'a "quoted" fox, 50% faster', "un renard à l'aube\nzoom in", "狐 🦊 runs"]
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# ----------------------------------------------------------------------- images


def _image(fmt: str, size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


#: name -> (suffix, bytes); start and end frames differ, so a swap is caught too
IMAGES: dict[str, tuple[str, bytes]] = {
    "start_png": (".png", _image("PNG", (64, 36), (200, 30, 30))),
    "start_jpeg": (".jpg", _image("JPEG", (64, 36), (30, 200, 30))),
    "end_png": (".png", _image("PNG", (48, 48), (30, 30, 200))),
    "end_jpeg": (".jpg", _image("JPEG", (36, 64), (200, 200, 30))),
    "nova_png": (".png", _image("PNG", (1280, 720), (10, 120, 200))),
    "nova_jpeg": (".jpg", _image("JPEG", (1280, 720), (120, 10, 200))),
    "shot_png": (".png", _image("PNG", (1280, 720), (90, 90, 10))),
}


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("received-images")
    for name, (suffix, data) in IMAGES.items():
        (folder / f"{name}{suffix}").write_bytes(data)
    return folder


def image_path(folder: Path, name: str) -> Path:
    return folder / f"{name}{IMAGES[name][0]}"


def _real_format(data: bytes) -> str:
    return "png" if data.startswith(b"\x89PNG") else "jpeg"


# ----------------------------------------------------------------------- the emulator


@pytest.fixture
def reel(emulator: Any) -> Any:
    """VideoGenerator with its ledger on the emulator; no region configured, so each model
    goes to its own region (Ray 2: us-west-2). Every job fails at once (no render), so
    it can be retried, and quotas do not get in the way."""
    emulator.configure(
        speed=5000.0,
        quotas={V11: 100_000, V10: 100_000, RAY: 100_000},
        latency_spread=0.0,
    )
    emulator.fail_jobs("INTERNAL_SERVER_EXCEPTION", shot=1, count=None, marker="")
    client = AwsClient(
        endpoint_url=emulator.url, access_key="testing", secret_key="testing", max_attempts=2
    )
    client.ensure_bucket(BUCKET)
    with VideoGenerator(client, time_scale=5000.0) as api:
        yield api


def received(emulator: Any, arn: str) -> dict[str, Any]:
    detail = emulator.job(arn)
    assert detail["invocationArn"] == arn
    model_input: dict[str, Any] = detail["modelInput"]
    return model_input


def wait_failed(api: VideoGenerator, ledger_id: int | None) -> None:
    deadline = time.monotonic() + 30
    while True:
        result = api.status(str(ledger_id))
        if result.done:
            assert result.status == "Failed", result
            return
        assert time.monotonic() < deadline, "the job did not end"
        time.sleep(0.05)


def retried(api: VideoGenerator, emulator: Any, first: Any) -> dict[str, Any]:
    """``jobs retry`` of a Failed job (``replay.retry``): what the emulator received."""
    wait_failed(api, first.ledger_id)
    again = retry(api, str(first.ledger_id), wait=False)
    assert again.invocation_arn != first.invocation_arn
    assert again.ledger_id != first.ledger_id
    return received(emulator, again.invocation_arn)


# ----------------------------------------------------------------------- Luma Ray 2


def assert_ray_received(asked: dict[str, Any], got: dict[str, Any], folder: Path) -> None:
    """Field by field: what the user asked for (``asked``, in the user's terms) is what
    the emulator received (``got``, Luma's ``modelInput``)."""
    assert got["prompt"] == asked["prompt"]
    assert got["aspect_ratio"] == asked["aspect_ratio"]
    assert got["resolution"] == asked["resolution"]
    assert got["duration"] == f"{asked['duration']}s"
    assert got.get("loop", False) is asked["loop"], f"loop: asked {asked['loop']}, got {got}"
    wanted = {
        key: asked[name]
        for key, name in (("frame0", "image"), ("frame1", "end_image"))
        if asked[name] is not None
    }
    keyframes = got.get("keyframes", {})
    assert sorted(keyframes) == sorted(wanted), (
        f"keyframes: asked {wanted}, got {sorted(keyframes)}"
    )
    for key, name in wanted.items():
        data = IMAGES[name][1]
        source = keyframes[key]["source"]
        assert base64.b64decode(source["data"], validate=True) == data, key
        assert source["media_type"] == f"image/{_real_format(data)}", key
    assert set(got) <= {"prompt", "aspect_ratio", "resolution", "duration", "loop", "keyframes"}


@st.composite
def ray_asks(draw: Any) -> dict[str, Any]:
    return {
        "prompt": draw(st.sampled_from(PROMPTS)),
        "aspect_ratio": draw(st.sampled_from(RATIOS)),
        "resolution": draw(st.sampled_from(["540p", "720p"])),
        "duration": draw(st.sampled_from([5, 9])),
        "loop": draw(st.booleans()),
        "image": draw(st.sampled_from([None, "start_png", "start_jpeg"])),
        "end_image": draw(st.sampled_from([None, "end_png", "end_jpeg"])),
    }


def ray_request(asked: dict[str, Any], folder: Path) -> Any:
    """The request as the doors build it: options through the registry, images loaded
    from files with the family's rules (what `generate --image/--end-image` does)."""
    base = GenerateOptions(aspect_ratio=asked["aspect_ratio"], resolution=asked["resolution"])
    rules = RAY_FAMILY.frame_rules_for(base)

    def frame(name: str | None, field: str) -> Any:
        if name is None:
            return None
        return load_starting_frame(image_path(folder, name), field=field, rules=rules)

    return build_request(
        GenerateOptions(
            model_id="luma-ray2",
            prompt=asked["prompt"],
            aspect_ratio=asked["aspect_ratio"],
            resolution=asked["resolution"],
            duration=asked["duration"],
            loop=asked["loop"],
            image=frame(asked["image"], "image"),
            end_image=frame(asked["end_image"], "end_image"),
        )
    )


@SETTINGS
@given(asked=ray_asks())
def test_ray2_received_is_asked_on_submit_and_on_retry(
    asked: dict[str, Any], reel: VideoGenerator, emulator: Any, image_dir: Path
) -> None:
    first = reel.submit(ray_request(asked, image_dir), OUTPUT)
    assert ":us-west-2:" in first.invocation_arn
    assert_ray_received(asked, received(emulator, first.invocation_arn), image_dir)
    assert_ray_received(asked, retried(reel, emulator, first), image_dir)


def test_ray2_loop_and_both_keyframes_survive_a_retry(
    reel: VideoGenerator, emulator: Any, image_dir: Path
) -> None:
    """The case the issue names, pinned whatever Hypothesis draws."""
    asked = {
        "prompt": "a paper boat, orbit",
        "aspect_ratio": "9:16",
        "resolution": "540p",
        "duration": 9,
        "loop": True,
        "image": "start_png",
        "end_image": "end_jpeg",
    }
    first = reel.submit(ray_request(asked, image_dir), OUTPUT)
    assert_ray_received(asked, received(emulator, first.invocation_arn), image_dir)
    assert_ray_received(asked, retried(reel, emulator, first), image_dir)


# ----------------------------------------------------------------------- Nova Reel


def assert_nova_received(asked: dict[str, Any], got: dict[str, Any]) -> None:
    """Field by field, in the contract's terms: task type, text(s), duration, seed,
    fps and size, the image (bytes and format) and every shot with its image."""
    task = asked["task"]
    assert got["taskType"] == task
    config = got["videoGenerationConfig"]
    assert config["seed"] == asked["seed"]
    assert (config["fps"], config["dimension"]) == (24, "1280x720")

    def image_ok(sent: dict[str, Any], name: str) -> None:
        data = IMAGES[name][1]
        assert base64.b64decode(sent["source"]["bytes"], validate=True) == data
        assert sent["format"] == _real_format(data)

    if task == "TEXT_VIDEO":
        params = got["textToVideoParams"]
        assert params["text"] == asked["prompt"]
        assert config["durationSeconds"] == 6
        if asked["image"] is None:
            assert "images" not in params
        else:
            assert len(params["images"]) == 1
            image_ok(params["images"][0], asked["image"])
    elif task == "MULTI_SHOT_AUTOMATED":
        assert got["multiShotAutomatedParams"] == {"text": asked["prompt"]}
        assert config["durationSeconds"] == asked["duration"]
    else:
        shots = got["multiShotManualParams"]["shots"]
        assert [s["text"] for s in shots] == [text for text, _ in asked["shots"]]
        for shot, (_, name) in zip(shots, asked["shots"], strict=True):
            if name is None:
                assert "image" not in shot
            else:
                image_ok(shot["image"], name)
        assert config.get("durationSeconds", 6 * len(shots)) == 6 * len(shots)


@st.composite
def nova_asks(draw: Any) -> dict[str, Any]:
    task = draw(st.sampled_from(["TEXT_VIDEO", "MULTI_SHOT_AUTOMATED", "MULTI_SHOT_MANUAL"]))
    asked: dict[str, Any] = {
        "task": task,
        "model_id": draw(st.sampled_from([V11, V10])) if task == "TEXT_VIDEO" else V11,
        "prompt": draw(st.sampled_from(PROMPTS)),
        "seed": draw(st.sampled_from([0, 1, 42, 2_147_483_646])),
        "image": None,
        "duration": None,
        "shots": [],
    }
    if task == "TEXT_VIDEO":
        asked["image"] = draw(st.sampled_from([None, "nova_png", "nova_jpeg"]))
    elif task == "MULTI_SHOT_AUTOMATED":
        asked["duration"] = draw(st.sampled_from([12, 18, 60, 120]))
    else:
        count = draw(st.integers(2, 4))
        asked["shots"] = [
            (
                f"shot {i}: {draw(st.sampled_from(PROMPTS))}",
                draw(st.sampled_from([None, "shot_png"])),
            )
            for i in range(count)
        ]
    return asked


def nova_request(asked: dict[str, Any], folder: Path) -> Any:
    def frame(name: str | None) -> Any:
        return None if name is None else load_starting_frame(image_path(folder, name))

    if asked["task"] == "TEXT_VIDEO":
        return TextVideo(
            asked["prompt"], image=frame(asked["image"]), seed=asked["seed"],
            model_id=asked["model_id"],
        )  # fmt: skip
    if asked["task"] == "MULTI_SHOT_AUTOMATED":
        return MultiShotAutomated(asked["prompt"], duration=asked["duration"], seed=asked["seed"])
    shots = [Shot(text, image=frame(name)) for text, name in asked["shots"]]
    return MultiShotManual(shots, seed=asked["seed"])


@SETTINGS
@given(asked=nova_asks())
def test_nova_received_is_asked_on_submit_and_on_retry(
    asked: dict[str, Any], reel: VideoGenerator, emulator: Any, image_dir: Path
) -> None:
    first = reel.submit(nova_request(asked, image_dir), OUTPUT)
    assert_nova_received(asked, received(emulator, first.invocation_arn))
    assert_nova_received(asked, retried(reel, emulator, first))


# ----------------------------------------------------------------------- batch resume


def test_a_resumed_batch_sends_what_the_file_asks(
    reel: VideoGenerator, emulator: Any, image_dir: Path, tmp_path: Path
) -> None:
    """A batch whose submits all failed (503, the outcome unknown: rows left
    Submitting) is run again: each item is sent again, with its recorded token, and
    what the emulator receives is what the file says, Ray 2's loop and keyframes
    included."""
    ray = {
        "prompt": "a lighthouse, loop",
        "aspect_ratio": "21:9",
        "resolution": "720p",
        "duration": 5,
        "loop": True,
        "image": "start_jpeg",
        "end_image": "end_png",
    }
    text = {
        "task": "TEXT_VIDEO", "model_id": V11, "prompt": "a kite, pan left", "seed": 7,
        "image": "nova_png", "duration": None, "shots": [],
    }  # fmt: skip
    manual = {
        "task": "MULTI_SHOT_MANUAL", "model_id": V11, "prompt": "", "seed": 3, "image": None,
        "duration": None, "shots": [("a door opens", "shot_png"), ("a cat walks in", None)],
    }  # fmt: skip
    path = tmp_path / "resume.yaml"
    path.write_text(
        f"""defaults:
  output_uri: {OUTPUT}
items:
  - id: ray
    model_id: luma-ray2
    prompt: {ray["prompt"]}
    aspect_ratio: "{ray["aspect_ratio"]}"
    resolution: {ray["resolution"]}
    duration: {ray["duration"]}
    loop: true
    image: {image_path(image_dir, "start_jpeg")}
    end_image: {image_path(image_dir, "end_png")}
  - id: text
    prompt: {text["prompt"]}
    seed: 7
    image: {image_path(image_dir, "nova_png")}
  - id: manual
    seed: 3
    shots:
      - text: a door opens
        image: {image_path(image_dir, "shot_png")}
      - text: a cat walks in
""",
        encoding="utf-8",
    )
    emulator.fail_calls("StartAsyncInvoke", "ServiceUnavailableException", count=None)
    first = run_batch(reel, path, out_dir=tmp_path / "out", max_retries=0, timeout=60)
    assert not first.ok
    assert emulator.jobs() == []  # nothing accepted: every submit answered 503
    emulator.clear_faults()
    emulator.fail_jobs("INTERNAL_SERVER_EXCEPTION", shot=1, count=None, marker="")
    run_batch(reel, path, out_dir=tmp_path / "out", max_retries=0, timeout=60)
    jobs = {job["invocationArn"]: job for job in emulator.jobs()}
    assert len(jobs) == 3
    by_model = {}
    for arn in jobs:
        detail = emulator.job(arn)
        key = "ray" if detail["modelId"] == RAY else detail["taskType"]
        by_model[key] = detail["modelInput"]
    assert_ray_received(ray, by_model["ray"], image_dir)
    assert_nova_received(text, by_model["TEXT_VIDEO"])
    assert_nova_received(manual, by_model["MULTI_SHOT_MANUAL"])
