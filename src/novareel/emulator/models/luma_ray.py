"""Luma Ray 2 (``luma.ray-v2:0``): validation, sizes, latency, rendering, S3 layout.

Same async API as Nova Reel (StartAsyncInvoke / GetAsyncInvoke / ListAsyncInvokes),
hosted in ``us-west-2`` only. ``modelInput`` (written from the brief's spec, not from
the client's code):

* ``prompt`` string 1-5000 characters (required);
* ``aspect_ratio`` 1:1 16:9 9:16 4:3 3:4 21:9 9:21 (default 16:9);
* ``resolution`` 540p or 720p (default 720p): the SHORT side of the video;
* ``duration`` the strings "5s" or "9s" (default "5s");
* ``loop`` a JSON boolean (default false);
* ``keyframes`` optional ``{"frame0"?, "frame1"?}``, each
  ``{"type": "image", "source": {"type": "base64", "media_type", "data"}}``.

Any other key is refused. Choices where the real service is uncertain (see
``docs/emulator.md``): unknown keys inside keyframe objects are refused too; an image
must decode and its real format must match ``media_type``; any pixel size is accepted
(the renderer covers and centre-crops it); a successful job writes only
``output.mp4`` (no manifest, no status file); latency is the emulator's own model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from novareel.emulator.errors import validation
from novareel.emulator.faults import PlannedFailure
from novareel.emulator.latency import DEFAULT_PRESET
from novareel.emulator.models.base import (
    Files,
    InputContext,
    JobPlan,
    ModelFamily,
    ModelInfo,
    decode_base64,
    failure_text,
    open_image,
    show,
    sniff_image,
)
from novareel.emulator.state import Job

RAY_V2 = "luma.ray-v2:0"
FPS = 24
MAX_PROMPT = 5000
ALLOWED_KEYS = ("prompt", "aspect_ratio", "resolution", "duration", "loop", "keyframes")
ASPECT_RATIOS: dict[str, tuple[int, int]] = {
    "1:1": (1, 1),
    "16:9": (16, 9),
    "9:16": (9, 16),
    "4:3": (4, 3),
    "3:4": (3, 4),
    "21:9": (21, 9),
    "9:21": (9, 21),
}
RESOLUTIONS: dict[str, int] = {"540p": 540, "720p": 720}
DURATIONS: dict[str, int] = {"5s": 5, "9s": 9}
MEDIA_TYPES: dict[str, str] = {"image/png": "png", "image/jpeg": "jpeg"}
KEYFRAMES = ("frame0", "frame1")

#: The emulator's latency model (no published figures; Luma "takes longer" than Nova):
#: 90 s for 5 s and 150 s for 9 s at 720p (15 s per second of video + 15 s), 540p at
#: three quarters of that. A guess, the same under every preset (neither the seed lab
#: nor AWS's guide has a Ray figure); spread and scale apply as for every model.
LATENCY_PER_SECOND = 15.0
LATENCY_BASE = 15.0
LATENCY_540P_FACTOR = 0.75

MODELS = (
    ModelInfo(
        model_id=RAY_V2,
        name="Ray v2",
        provider="Luma AI",
        regions=frozenset({"us-west-2"}),
        input_modalities=("TEXT", "IMAGE"),
        output_modalities=("VIDEO",),
        start_of_life_time="2025-01-23T00:00:00.000Z",
        # Invented by the emulator (nothing published): shown only in the legacy states.
        legacy_time="2026-10-01T00:00:00.000Z",
        public_extended_access_time="2027-01-01T00:00:00.000Z",
        end_of_life_time="2027-04-01T00:00:00.000Z",
        default_quota=3,  # UNCERTAIN upstream
        aliases=("luma-ray2", "luma-ray-v2", "ray2"),
    ),
)


def video_size(resolution: str, aspect_ratio: str) -> tuple[int, int]:
    """(width, height): ``resolution`` is the short side, the long side follows the ratio."""
    short = RESOLUTIONS[resolution]
    a, b = ASPECT_RATIOS[aspect_ratio]
    long_side = short * max(a, b) // min(a, b)
    long_side -= long_side % 2
    return (long_side, short) if a >= b else (short, long_side)


def ray_latency(duration: str, resolution: str) -> float:
    """Seconds the real service would need (before the speed factor)."""
    seconds = LATENCY_BASE + LATENCY_PER_SECOND * DURATIONS[duration]
    return seconds * (LATENCY_540P_FACTOR if resolution == "540p" else 1.0)


@dataclass(frozen=True)
class RayPlan(JobPlan):
    """A validated Ray 2 job: one clip, written as ``output.mp4`` only."""

    model_id: str
    task_type: str
    text: str
    aspect_ratio: str = "16:9"
    resolution: str = "720p"
    duration: str = "5s"
    loop: bool = False
    frame0: bytes | None = None
    frame1: bytes | None = None

    @property
    def texts(self) -> tuple[str, ...]:
        return (self.text,)

    @property
    def video_seconds(self) -> int:
        return DURATIONS[self.duration]

    @property
    def size(self) -> tuple[int, int]:
        return video_size(self.resolution, self.aspect_ratio)

    @property
    def frames(self) -> int:
        return self.video_seconds * FPS

    def real_latency(self, preset: str = DEFAULT_PRESET) -> float:
        # One guess for every preset (see LATENCY_PER_SECOND).
        return ray_latency(self.duration, self.resolution)

    def render(
        self, job: Job, cancelled: Callable[[], bool], *, fast: bool = False
    ) -> Files | None:
        from novareel.emulator.render import clip_defects, fast_video, render_video

        if cancelled():
            return None
        width, height = self.size
        defects = clip_defects(job.injected_defects, 0.0, self.video_seconds)
        if fast and not defects:  # a defect is this job's own: rendered, never the cache
            return [("output.mp4", fast_video(width, height, self.frames))]
        detail = f"ray-v2 {self.resolution} {self.aspect_ratio} {self.duration}"
        video = render_video(
            self.text,
            0,  # Ray 2 takes no seed: the scene comes from the prompt alone
            image=self.frame0,
            width=width,
            height=height,
            frames=self.frames,
            loop=self.loop,
            last_image=self.frame1,
            detail=detail + (" loop" if self.loop else ""),
            defects=defects,
        )
        return [("output.mp4", video)]

    def failed_files(self, job: Job, failure: PlannedFailure) -> Files:
        return []  # what Luma writes on failure is unknown: nothing

    def failure_message(self, failure: PlannedFailure) -> str:
        return failure_text(failure)


def _one_of(model_input: dict[str, Any], key: str, allowed: dict[str, Any], default: str) -> str:
    value = model_input.get(key, default)
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(f'"{k}"' for k in allowed)
        raise validation(f"modelInput.{key} {show(value)} is not valid: must be one of {choices}")
    return value


def _only_keys(obj: dict[str, Any], allowed: tuple[str, ...], name: str) -> None:
    for key in obj:
        if key not in allowed:
            raise validation(
                f"{name}.{key} is not a valid parameter for {RAY_V2}: "
                f"allowed keys are {', '.join(allowed)}"
            )


def _keyframe(frame: Any, name: str) -> bytes:
    if not isinstance(frame, dict):
        raise validation(
            f"{name} {show(frame)} is not valid: must be an object "
            '{"type": "image", "source": {...}}'
        )
    _only_keys(frame, ("type", "source"), name)
    if frame.get("type") != "image":
        raise validation(f'{name}.type {show(frame.get("type"))} is not valid: must be "image"')
    source = frame.get("source")
    if not isinstance(source, dict):
        raise validation(
            f"{name}.source {show(source)} is not valid: must be an object "
            '{"type": "base64", "media_type", "data"}'
        )
    _only_keys(source, ("type", "media_type", "data"), f"{name}.source")
    if source.get("type") != "base64":
        raise validation(
            f'{name}.source.type {show(source.get("type"))} is not valid: must be "base64"'
        )
    media_type = source.get("media_type")
    if media_type not in MEDIA_TYPES:
        raise validation(
            f"{name}.source.media_type {show(media_type)} is not valid: "
            'must be "image/png" or "image/jpeg"'
        )
    data = decode_base64(source.get("data"), f"{name}.source.data")
    actual = sniff_image(data)
    if actual is None:
        raise validation(f"{name}.source.data is not a PNG or JPEG image")
    if actual != MEDIA_TYPES[media_type]:
        raise validation(
            f"{name}.source.media_type {show(media_type)} does not match the data, "
            f"which is a {actual.upper()} image"
        )
    open_image(data, f"{name}.source.data")
    return data


def validate_input(model_input: dict[str, Any], ctx: InputContext) -> RayPlan:
    """Validate Ray 2's ``modelInput``; raise ValidationException naming the field."""
    _only_keys(model_input, ALLOWED_KEYS, "modelInput")
    if "prompt" not in model_input:
        raise validation(f"modelInput.prompt is required: a string of 1-{MAX_PROMPT} characters")
    prompt = model_input["prompt"]
    if not isinstance(prompt, str):
        raise validation(
            f"modelInput.prompt {show(prompt)} is not valid: "
            f"must be a string of 1-{MAX_PROMPT} characters"
        )
    if not 1 <= len(prompt) <= MAX_PROMPT:
        raise validation(
            f"modelInput.prompt has {len(prompt)} characters: must be 1-{MAX_PROMPT} characters"
        )
    aspect = _one_of(model_input, "aspect_ratio", ASPECT_RATIOS, "16:9")
    resolution = _one_of(model_input, "resolution", RESOLUTIONS, "720p")
    duration = _one_of(model_input, "duration", DURATIONS, "5s")
    loop = model_input.get("loop", False)
    if not isinstance(loop, bool):
        raise validation(
            f"modelInput.loop {show(loop)} is not valid: must be a JSON boolean, true or false"
        )
    frames: dict[str, bytes] = {}
    if "keyframes" in model_input:
        keyframes = model_input["keyframes"]
        if not isinstance(keyframes, dict) or not keyframes:
            raise validation(
                f"modelInput.keyframes {show(keyframes)} is not valid: "
                "must be an object with frame0 and/or frame1"
            )
        _only_keys(keyframes, KEYFRAMES, "modelInput.keyframes")
        for key in KEYFRAMES:
            if key in keyframes:
                frames[key] = _keyframe(keyframes[key], f"modelInput.keyframes.{key}")
    return RayPlan(
        model_id=ctx.model_id,
        task_type="IMAGE_VIDEO" if frames else "TEXT_VIDEO",
        text=prompt,
        aspect_ratio=aspect,
        resolution=resolution,
        duration=duration,
        loop=loop,
        frame0=frames.get("frame0"),
        frame1=frames.get("frame1"),
    )


FAMILY = ModelFamily(name="Luma Ray", models=MODELS, validate_input=validate_input)
