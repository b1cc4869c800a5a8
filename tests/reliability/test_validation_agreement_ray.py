"""Luma Ray 2: novareel's validation and the emulator's independent one agree.

Hypothesis draws Ray 2 requests around every boundary (prompt 0/1/5000/5001
characters, each aspect ratio and wrong ones, 540p/720p and wrong ones, durations
0/4/5/6/9/10, loop, start/end keyframes as PNG, JPEG or mislabelled bytes). Each is
built through novareel's registry; the request novareel would send (or, when it
refuses, the raw JSON it would have sent) is checked by the emulator's own validator:

* novareel accepts  => the emulator accepts exactly the payload novareel sends;
* novareel refuses  => the emulator refuses the raw equivalent JSON.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from novareel.emulator.errors import ApiError
from novareel.emulator.validation import validate_start_request
from novareel.foundation.errors import InvalidRequestError
from novareel.models import GenerateOptions, build_request
from novareel.models.base import StartingFrame

RATIOS = ["1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "9:21", "2:1", "16:10", ""]
RESOLUTIONS = ["540p", "720p", "1080p", "720"]
DURATIONS = [0, 4, 5, 6, 9, 10]
PROMPT_LENGTHS = [0, 1, 2, 4999, 5000, 5001]
OUTPUT = {"s3OutputDataConfig": {"s3Uri": "s3://agreement-bucket/ray/"}}


def _image(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 36), (10, 120, 200)).save(buffer, format=fmt)
    return buffer.getvalue()


PNG = _image("PNG")
JPEG = _image("JPEG")
#: (declared format, bytes): a JPEG labelled PNG is the classic mistake
FRAMES: dict[str, tuple[str, bytes]] = {
    "png": ("png", PNG),
    "jpeg": ("jpeg", JPEG),
    "jpeg-as-png": ("png", JPEG),
}


def frame(name: str | None) -> StartingFrame | None:
    if name is None:
        return None
    fmt, data = FRAMES[name]
    return StartingFrame(format=fmt, data=data, source=f"{name}.img", sha256="0" * 64)  # type: ignore[arg-type]


def raw_keyframe(name: str) -> dict[str, Any]:
    fmt, data = FRAMES[name]
    return {
        "type": "image",
        "source": {
            "type": "base64",
            "media_type": f"image/{fmt}",
            "data": base64.b64encode(data).decode(),
        },
    }


def emulator_accepts(model_input: dict[str, Any]) -> tuple[bool, str]:
    body = {
        "modelId": "luma.ray-v2:0",
        "modelInput": model_input,
        "outputDataConfig": OUTPUT,
        "clientRequestToken": "ray-agreement",
    }
    try:
        validate_start_request(
            json.loads(json.dumps(body)),
            region="us-west-2",
            bucket_exists=lambda bucket: True,
            fetch_object=lambda bucket, key: None,
            blocked_input_words=[],
        )
    except ApiError as exc:
        assert exc.code == "ValidationException", exc.message
        return False, exc.message
    return True, ""


@st.composite
def cases(draw: Any) -> dict[str, Any]:
    return {
        "prompt": "p" * draw(st.sampled_from(PROMPT_LENGTHS)),
        "aspect_ratio": draw(st.sampled_from(RATIOS)),
        "resolution": draw(st.sampled_from(RESOLUTIONS)),
        "duration": draw(st.sampled_from(DURATIONS)),
        "loop": draw(st.booleans()),
        "image": draw(st.sampled_from([None, None, "png", "jpeg", "jpeg-as-png"])),
        "end_image": draw(st.sampled_from([None, None, "png", "jpeg-as-png"])),
    }


def check(case: dict[str, Any]) -> str:
    options = GenerateOptions(
        model_id="luma-ray2",
        prompt=case["prompt"],
        aspect_ratio=case["aspect_ratio"],
        resolution=case["resolution"],
        duration=case["duration"],
        loop=case["loop"],
        image=frame(case["image"]),
        end_image=frame(case["end_image"]),
    )
    try:
        sent = build_request(options).to_model_input()
    except InvalidRequestError as exc:
        raw: dict[str, Any] = {
            "prompt": case["prompt"],
            "aspect_ratio": case["aspect_ratio"],
            "duration": f"{case['duration']}s",
            "resolution": case["resolution"],
            "loop": case["loop"],
        }
        keyframes = {
            key: raw_keyframe(case[name])
            for key, name in (("frame0", "image"), ("frame1", "end_image"))
            if case[name]
        }
        if keyframes:
            raw["keyframes"] = keyframes
        accepted, _ = emulator_accepts(raw)
        assert not accepted, f"novareel refused ({exc}) but the emulator accepts {case}"
        return "refused"
    accepted, message = emulator_accepts(sent)
    assert accepted, f"novareel sends what the emulator refuses: {message} ({case})"
    return "accepted"


SEEN: set[str] = set()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_novareel_and_emulator_agree_on_ray2(case: dict[str, Any]) -> None:
    SEEN.add(check(case))


def test_the_run_saw_both_outcomes() -> None:
    assert {"accepted", "refused"} == SEEN


@pytest.mark.parametrize(
    "change,accepted",
    [
        ({}, True),
        ({"prompt": "p" * 5000}, True),
        ({"prompt": "p" * 5001}, False),
        ({"prompt": ""}, False),
        ({"aspect_ratio": "21:9"}, True),
        ({"aspect_ratio": "2:1"}, False),
        ({"resolution": "540p"}, True),
        ({"resolution": "1080p"}, False),
        ({"duration": 9}, True),
        ({"duration": 6}, False),
        ({"image": "jpeg"}, True),
        ({"image": "jpeg-as-png"}, False),
    ],
)
def test_boundaries(change: dict[str, Any], accepted: bool) -> None:
    case = {
        "prompt": "a fox",
        "aspect_ratio": "16:9",
        "resolution": "720p",
        "duration": 5,
        "loop": False,
        "image": None,
        "end_image": None,
        **change,
    }
    assert check(case) == ("accepted" if accepted else "refused")
