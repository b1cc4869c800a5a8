"""Amazon Nova Reel (``amazon.nova-reel-v1:0`` / ``v1:1``): validation, rendering, S3 layout.

Written from the contract (``nova-reel-contract.md`` sections 1-2) and deliberately
independent of ``novareel``'s own request builder: if the client's validation has a
bug, the emulator catches the bad request the way the real service would.

Choices where the real service is uncertain (also in ``docs/emulator.md``):

* MULTI_SHOT_MANUAL ``durationSeconds`` must be absent or equal ``6 x shots``.
* TEXT_VIDEO ``durationSeconds`` may be omitted (treated as 6); MULTI_SHOT_AUTOMATED
  requires it. ``fps``/``dimension``/``seed`` may be omitted (24, 1280x720, 42).
* Shots: 2-20 for MULTI_SHOT_MANUAL.
* Image size limit: 25,000,000 decoded bytes.
* Unknown keys in ``modelInput`` are ignored.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from novareel.emulator.errors import validation
from novareel.emulator.faults import PlannedFailure
from novareel.emulator.latency import AWS_GUIDE_2026, DEFAULT_PRESET, LAB_2025, interpolate
from novareel.emulator.models.base import (
    MAX_IMAGE_BYTES,
    OWNER_RE,
    Files,
    InputContext,
    JobPlan,
    ModelFamily,
    ModelInfo,
    ObjectFetcher,
    check_text,
    decode_base64,
    failure_text,
    is_int,
    open_image,
    parse_s3_uri,
    sniff_image,
)
from novareel.emulator.state import Job

V1_0 = "amazon.nova-reel-v1:0"
V1_1 = "amazon.nova-reel-v1:1"
TASK_TYPES = ("TEXT_VIDEO", "MULTI_SHOT_AUTOMATED", "MULTI_SHOT_MANUAL")
#: Task types per model.
MODEL_TASKS: dict[str, frozenset[str]] = {
    V1_0: frozenset({"TEXT_VIDEO"}),
    V1_1: frozenset(TASK_TYPES),
}
SHOT_SECONDS = 6
MAX_SEED = 2_147_483_646

# Launch 2024-12-03 (v1:1 shown with the same date); the legacy dates are the ones the
# Bedrock model lifecycle page gives for Nova Reel (shown only in the legacy states).
_LIFECYCLE = {
    "start_of_life_time": "2024-12-03T00:00:00.000Z",
    "legacy_time": "2026-03-30T00:00:00.000Z",
    "end_of_life_time": "2026-09-30T00:00:00.000Z",
}
MODELS = (
    ModelInfo(
        model_id=V1_0,
        name="Nova Reel",
        provider="Amazon",
        regions=frozenset({"us-east-1", "eu-west-1", "ap-northeast-1"}),
        input_modalities=("TEXT", "IMAGE"),
        output_modalities=("VIDEO",),
        default_quota=10,  # contract section 4 (UNCERTAIN upstream)
        aliases=("nova-reel-v1:0",),
        **_LIFECYCLE,
    ),
    ModelInfo(
        model_id=V1_1,
        name="Nova Reel",
        provider="Amazon",
        regions=frozenset({"us-east-1"}),
        input_modalities=("TEXT", "IMAGE"),
        output_modalities=("VIDEO",),
        default_quota=3,  # contract section 4 (UNCERTAIN upstream)
        aliases=("nova-reel", "nova-reel-v1:1"),
        **_LIFECYCLE,
    ),
)


@dataclass(frozen=True)
class ShotSpec:
    """One 6-second shot to render: its prompt and optional starting frame bytes."""

    text: str
    image: bytes | None = None


#: Median generation seconds per preset: (seconds of video, seconds on the real service).
#: ``lab-2025``: the seed lab's measurements (us-east-1, seed lab 002): 76 s for 6 s,
#: 150 s for 18 s, 350 s for 60 s, 509-510 s for 120 s.
#: ``aws-guide-2026``: AWS's Nova user guide (2026): "about 90 seconds" for a 6 s video
#: and "14-17 minutes" for a 2-minute one (the midpoint, 15.5 min = 930 s); lengths in
#: between are interpolated linearly (the guide gives no other point).
LATENCY_POINTS: dict[str, tuple[tuple[float, float], ...]] = {
    LAB_2025: ((6.0, 76.0), (18.0, 150.0), (60.0, 350.0), (120.0, 510.0)),
    AWS_GUIDE_2026: ((6.0, 90.0), (120.0, 930.0)),
}


def real_latency(video_seconds: float, preset: str = DEFAULT_PRESET) -> float:
    """Median seconds the real service needs for ``video_seconds`` of Nova Reel video."""
    return interpolate(LATENCY_POINTS[preset], video_seconds)


@dataclass(frozen=True)
class NovaPlan(JobPlan):
    """A validated Nova Reel job: one or more 6 s shots at 1280x720."""

    model_id: str
    task_type: str
    shots: tuple[ShotSpec, ...]
    seed: int

    @property
    def texts(self) -> tuple[str, ...]:
        return tuple(s.text for s in self.shots)

    @property
    def video_seconds(self) -> int:
        return SHOT_SECONDS * len(self.shots)

    def real_latency(self, preset: str = DEFAULT_PRESET) -> float:
        return real_latency(self.video_seconds, preset)

    def submit_files(self, job: Job) -> Files:
        """``manifest.json``, written at submit."""
        submit = datetime.fromtimestamp(job.submit_time, tz=timezone.utc)
        manifest = {
            "schemaVersion": "1.0",
            "requestId": str(uuid.uuid4()),
            "invocationId": job.invocation_id,
            "invocationArn": job.arn,
            "modelId": job.model_id,
            "taskType": job.task_type,
            "clientRequestToken": job.client_request_token,
            "submitTime": submit.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "durationSeconds": self.video_seconds,
            "shotCount": len(self.shots),
            "seed": self.seed,
            "outputUri": job.output_uri,
            "generator": "novareel-emulator preview renderer (not a generative model)",
        }
        return [("manifest.json", json.dumps(manifest, indent=2).encode())]

    def render(
        self, job: Job, cancelled: Callable[[], bool], *, fast: bool = False
    ) -> Files | None:
        """Every shot, ``output.mp4`` (shots remuxed) and the status file."""
        from novareel.emulator.render import (
            FPS,
            FRAMES_PER_SHOT,
            HEIGHT,
            WIDTH,
            clip_defects,
            concat_mp4,
            fast_concat,
            fast_video,
            render_shot,
        )

        n = len(self.shots)
        shot_s = FRAMES_PER_SHOT / FPS
        fast = fast and not job.injected_defects  # a defect is this job's own render
        parts = []
        for i, shot in enumerate(self.shots):
            if cancelled():
                return None
            if fast:
                parts.append(fast_video(WIDTH, HEIGHT, FRAMES_PER_SHOT))
            else:
                defects = clip_defects(job.injected_defects, i * shot_s, shot_s)
                parts.append(render_shot(shot.text, self.seed, i, n, shot.image, defects))
        multi = self.task_type != "TEXT_VIDEO"
        files: Files = []
        if multi:
            files += [(f"shot_{i + 1:04d}.mp4", part) for i, part in enumerate(parts)]
        output = fast_concat(WIDTH, HEIGHT, FRAMES_PER_SHOT, n) if fast else concat_mp4(parts)
        files.append(("output.mp4", output))
        status = {
            "schemaVersion": "1.0",
            "shots": [
                {
                    "status": "SUCCESS",
                    "location": f"{job.output_uri}/shot_{i + 1:04d}.mp4"
                    if multi
                    else f"{job.output_uri}/output.mp4",
                }
                for i in range(n)
            ],
            "fullVideo": {"status": "SUCCESS", "location": f"{job.output_uri}/output.mp4"},
        }
        files.append(("video-generation-status.json", json.dumps(status, indent=2).encode()))
        return files

    def failed_files(self, job: Job, failure: PlannedFailure) -> Files:
        """Only the status file: earlier shots SUCCESS, the failing one, later ABORTED."""
        shots: list[dict[str, Any]] = []
        for i in range(1, len(self.shots) + 1):
            if i < failure.shot:
                shots.append({"status": "SUCCESS"})
            elif i == failure.shot:
                shots.append(
                    {
                        "status": "FAILURE",
                        "failureType": failure.failure_type,
                        "failureMessage": failure.message,
                    }
                )
            else:
                shots.append(
                    {
                        "status": "FAILURE",
                        "failureType": "ABORTED",
                        "failureMessage": f"Aborted because shot {failure.shot} failed.",
                    }
                )
        status = {
            "schemaVersion": "1.0",
            "shots": shots,
            "fullVideo": {
                "status": "FAILURE",
                "failureType": failure.failure_type,
                "failureMessage": failure.message,
            },
        }
        return [("video-generation-status.json", json.dumps(status, indent=2).encode())]

    def failure_message(self, failure: PlannedFailure) -> str:
        text = failure_text(failure)
        if failure.failure_type == "RAI_VIOLATION_OUTPUT_VIDEO_DEFLECTION":
            return text
        return f"Shot {failure.shot} failed: {text}"


def validate_input(model_input: dict[str, Any], ctx: InputContext) -> NovaPlan:
    """Validate Nova Reel's ``modelInput``; raise ValidationException if bad."""
    model_id = ctx.model_id
    task_type = model_input.get("taskType")
    if task_type not in TASK_TYPES:
        raise validation(f"modelInput.taskType must be one of {', '.join(TASK_TYPES)}")
    if task_type not in MODEL_TASKS[model_id]:
        raise validation(f"modelInput.taskType {task_type} is not supported by {model_id}")

    loader = _ImageLoader(ctx.fetch_object)
    seed, duration = _validate_generation_config(model_input.get("videoGenerationConfig"))
    shots: list[ShotSpec]
    if task_type == "TEXT_VIDEO":
        shots = [_text_video(model_input, loader)]
        if duration is not None and duration != SHOT_SECONDS:
            raise validation("videoGenerationConfig.durationSeconds must be 6 for TEXT_VIDEO")
    elif task_type == "MULTI_SHOT_AUTOMATED":
        text = _automated_text(model_input)
        if duration is None:
            raise validation(
                "videoGenerationConfig.durationSeconds is required for MULTI_SHOT_AUTOMATED"
            )
        if not (12 <= duration <= 120 and duration % SHOT_SECONDS == 0):
            raise validation(
                "videoGenerationConfig.durationSeconds must be a multiple of 6 "
                "between 12 and 120 for MULTI_SHOT_AUTOMATED"
            )
        shots = [ShotSpec(t) for t in split_automated_prompt(text, duration // SHOT_SECONDS)]
    else:
        shots = _manual_shots(model_input, loader)
        if duration is not None and duration != SHOT_SECONDS * len(shots):
            raise validation(
                "videoGenerationConfig.durationSeconds must be omitted or equal "
                f"6 x shots ({SHOT_SECONDS * len(shots)}) for MULTI_SHOT_MANUAL"
            )
    return NovaPlan(model_id=model_id, task_type=task_type, shots=tuple(shots), seed=seed)


def split_automated_prompt(text: str, n_shots: int) -> list[str]:
    """Cut one MULTI_SHOT_AUTOMATED prompt into ``n_shots`` shot prompts.

    The real model decides its own cuts; the emulator splits by sentences and cycles
    through them so every shot gets a (usually) different prompt.
    """
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s.strip()]
    if not sentences:
        sentences = [text.strip() or text]
    return [sentences[i % len(sentences)] for i in range(n_shots)]


def _validate_generation_config(config: Any) -> tuple[int, int | None]:
    """Return (seed, durationSeconds or None)."""
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise validation("modelInput.videoGenerationConfig must be an object")
    prefix = "videoGenerationConfig"
    fps = config.get("fps", 24)
    if not is_int(fps) or fps != 24:
        raise validation(f"{prefix}.fps must be 24")
    if config.get("dimension", "1280x720") != "1280x720":
        raise validation(f"{prefix}.dimension must be 1280x720")
    seed = config.get("seed", 42)
    if not is_int(seed) or not 0 <= seed <= MAX_SEED:
        raise validation(f"{prefix}.seed must be an integer between 0 and {MAX_SEED}")
    duration = config.get("durationSeconds")
    if duration is not None and not is_int(duration):
        raise validation(f"{prefix}.durationSeconds must be an integer")
    return seed, duration


def _text_video(model_input: dict[str, Any], loader: _ImageLoader) -> ShotSpec:
    params = model_input.get("textToVideoParams")
    if not isinstance(params, dict):
        raise validation("modelInput.textToVideoParams is required for TEXT_VIDEO")
    text = check_text(params.get("text"), "textToVideoParams.text", 512)
    images = params.get("images")
    image = None
    if images is not None:
        if not isinstance(images, list) or len(images) > 1:
            raise validation("textToVideoParams.images accepts at most 1 image")
        if images:
            image = loader.load(images[0], "textToVideoParams.images[0]")
    return ShotSpec(text, image)


def _automated_text(model_input: dict[str, Any]) -> str:
    params = model_input.get("multiShotAutomatedParams")
    if not isinstance(params, dict):
        raise validation("modelInput.multiShotAutomatedParams is required for MULTI_SHOT_AUTOMATED")
    if "images" in params or "image" in params:
        raise validation("multiShotAutomatedParams does not accept images")
    return check_text(params.get("text"), "multiShotAutomatedParams.text", 4000)


def _manual_shots(model_input: dict[str, Any], loader: _ImageLoader) -> list[ShotSpec]:
    params = model_input.get("multiShotManualParams")
    if not isinstance(params, dict):
        raise validation("modelInput.multiShotManualParams is required for MULTI_SHOT_MANUAL")
    shots = params.get("shots")
    if not isinstance(shots, list) or not 2 <= len(shots) <= 20:
        raise validation("multiShotManualParams.shots must hold 2-20 shots")
    out = []
    for i, shot in enumerate(shots):
        name = f"multiShotManualParams.shots[{i}]"
        if not isinstance(shot, dict):
            raise validation(f"{name} must be an object")
        text = check_text(shot.get("text"), f"{name}.text", 512)
        image = shot.get("image")
        out.append(ShotSpec(text, loader.load(image, f"{name}.image") if image else None))
    return out


class _ImageLoader:
    """Decode and check starting frames (bytes or s3Location sources)."""

    def __init__(self, fetch_object: ObjectFetcher) -> None:
        self._fetch = fetch_object

    def load(self, image: Any, name: str) -> bytes:
        if not isinstance(image, dict):
            raise validation(f"{name} must be an object with format and source")
        fmt = image.get("format")
        if fmt not in ("png", "jpeg"):
            raise validation(f"{name}.format must be 'png' or 'jpeg'")
        source = image.get("source")
        if not isinstance(source, dict):
            raise validation(f"{name}.source is required")
        if "bytes" in source:
            data = decode_base64(source["bytes"], f"{name}.source.bytes")
        elif "s3Location" in source:
            data = self._from_s3(source["s3Location"], f"{name}.source.s3Location")
        else:
            raise validation(f"{name}.source needs bytes or s3Location")
        check_image(data, fmt, name)
        return data

    def _from_s3(self, location: Any, name: str) -> bytes:
        if not isinstance(location, dict):
            raise validation(f"{name} must be an object with uri")
        owner = location.get("bucketOwner")
        if owner is not None and (not isinstance(owner, str) or not OWNER_RE.fullmatch(owner)):
            raise validation(f"{name}.bucketOwner must be 12 digits")
        bucket, key = parse_s3_uri(location.get("uri"), f"{name}.uri")
        data = self._fetch(bucket, key) if key else None
        if data is None:
            raise validation(f"{name}.uri: no S3 object at s3://{bucket}/{key}")
        return data


def check_image(data: bytes, fmt: str, name: str) -> None:
    """PNG/JPEG sniffed from bytes, matching ``fmt``, 1280x720, 8-bit RGB, opaque."""
    if len(data) > MAX_IMAGE_BYTES:
        raise validation(f"{name}: the image is larger than 25 MB")
    actual = sniff_image(data)
    if actual is None:
        raise validation(f"{name}: the image is neither PNG nor JPEG")
    if actual != fmt:
        raise validation(f"{name}.format is {fmt!r} but the image is {actual}")
    if actual == "png":
        # IHDR: width(4) height(4) bit depth(1) colour type(1) right after the header.
        if len(data) < 33 or data[12:16] != b"IHDR":
            raise validation(f"{name}: the PNG has no IHDR chunk")
        depth, colour = data[24], data[25]
        if depth != 8 or colour not in (2, 6):
            raise validation(f"{name}: the PNG must be 8-bit RGB or RGBA")
    size, mode, alpha = open_image(data, name)
    if size != (1280, 720):
        raise validation(f"{name}: the image must be 1280x720, got {size[0]}x{size[1]}")
    if mode not in ("RGB", "RGBA") or (actual == "jpeg" and mode != "RGB"):
        raise validation(f"{name}: the image must be 8-bit RGB, got mode {mode}")
    if alpha is not None and alpha != (255, 255):
        raise validation(f"{name}: transparent or translucent pixels are not allowed")


FAMILY = ModelFamily(name="Amazon Nova Reel", models=MODELS, validate_input=validate_input)
