"""Amazon Nova Reel (v1:0, v1:1): every rule of the contract, checked locally, no I/O.

A request is built from plain values (and :class:`StartingFrame` objects that
:mod:`novareel.images` has already read and checked), validated here at the exact
boundaries of the service contract, and turned into the ``modelInput`` JSON. Nothing
in this module touches the network or the disk, so every rule can be tested at its
boundary quickly and a bad request never costs a call.

Validation collects *every* problem of a request (field, value, limit) instead of
stopping at the first, so a user fixes a storyboard in one pass rather than twenty.

Both versions reached end of life on 2026-09-30 (Legacy since 2026-03-30): the facts
are here so that novareel says so before a call, and ``novareel doctor`` /
``novareel models`` confirm them with the account's control plane.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any, TypeAlias

from novareel.errors import InvalidRequestError, Problem
from novareel.models.base import (
    FrameRules,
    GenerateOptions,
    Lifecycle,
    ModelInfo,
    RequestBase,
    Shot,
    StartingFrame,
    VideoShape,
    model_id_problems,
    text_problems,
    unsupported_option_problems,
)
from novareel.models.base import (
    VideoRequest as AnyVideoRequest,
)

MODEL_V1_1 = "amazon.nova-reel-v1:1"
MODEL_V1_0 = "amazon.nova-reel-v1:0"
DEFAULT_MODEL = MODEL_V1_1
KNOWN_MODELS = (MODEL_V1_1, MODEL_V1_0)

_LIFECYCLE = Lifecycle(
    launched=date(2024, 12, 3),
    legacy_since=date(2026, 3, 30),
    end_of_life=date(2026, 9, 30),
    source="Bedrock model card (end of life); lifecycle tables (Legacy date, medium confidence)",
)
_PRICE_SOURCE = "Bedrock pricing page as summarised in the service contract; re-verify"

MODELS: tuple[ModelInfo, ...] = (
    ModelInfo(
        model_id=MODEL_V1_1,
        family="nova-reel",
        name="Nova Reel 1.1",
        provider="Amazon",
        regions=("us-east-1",),
        lifecycle=_LIFECYCLE,
        price_usd_per_second={"*": 0.08},
        task_types=("TEXT_VIDEO", "MULTI_SHOT_AUTOMATED", "MULTI_SHOT_MANUAL"),
        aliases=("nova-reel", "nova-reel-v1:1"),
        concurrency=3,
        price_source=_PRICE_SOURCE,
        notes=("6 s clips, 12-120 s multi-shot videos, storyboards; 1280x720 24 fps",),
    ),
    ModelInfo(
        model_id=MODEL_V1_0,
        family="nova-reel",
        name="Nova Reel 1.0",
        provider="Amazon",
        regions=("us-east-1", "eu-west-1", "ap-northeast-1"),
        lifecycle=_LIFECYCLE,
        price_usd_per_second={"*": 0.08},
        task_types=("TEXT_VIDEO",),
        aliases=("nova-reel-v1:0",),
        concurrency=10,
        price_source=_PRICE_SOURCE,
        notes=("6 s clips only; 1280x720 24 fps",),
    ),
)
_BY_ID = {m.model_id: m for m in MODELS}

#: USD per second of generated video (both versions are priced the same).
PRICE_PER_SECOND_USD: dict[str, float] = {m.model_id: m.price_for() for m in MODELS}

SHOT_SECONDS = 6
TEXT_VIDEO_SECONDS = 6
MIN_AUTOMATED_SECONDS = 12
MAX_AUTOMATED_SECONDS = 120
MIN_SHOTS = 2
MAX_SHOTS = 20
MAX_SHORT_TEXT = 512
MAX_LONG_TEXT = 4000
MIN_SEED = 0
MAX_SEED = 2_147_483_646
DEFAULT_SEED = 42
#: The allowed MULTI_SHOT_AUTOMATED lengths, as limits and as words for messages.
AUTOMATED_LIMIT = (
    f"a multiple of {SHOT_SECONDS} from {MIN_AUTOMATED_SECONDS} to {MAX_AUTOMATED_SECONDS}"
)
AUTOMATED_LENGTHS = (
    f"{MIN_AUTOMATED_SECONDS}-{MAX_AUTOMATED_SECONDS} s in steps of {SHOT_SECONDS} "
    f"({MIN_AUTOMATED_SECONDS}, {MIN_AUTOMATED_SECONDS + SHOT_SECONDS}, "
    f"{MIN_AUTOMATED_SECONDS + 2 * SHOT_SECONDS}, ..., {MAX_AUTOMATED_SECONDS})"
)
FPS = 24
WIDTH = 1280
HEIGHT = 720
DIMENSION = f"{WIDTH}x{HEIGHT}"
MAX_IMAGE_BYTES = 25_000_000

#: Starting frames: exactly 1280x720, PNG or JPEG, by bytes or by S3 reference.
FRAME_RULES = FrameRules(model_name="Nova Reel", size=(WIDTH, HEIGHT), s3_sources=True)

#: (seconds of video, seconds of generation) observed on the real service (seed lab,
#: us-east-1, 2025). AWS's guide now says ~90 s for 6 s and 14-17 min for 120 s: this
#: is a prior, not a promise: the waiter backs off when a job runs past it, and once
#: a few of the user's own jobs of a length have finished, ``novareel.expectations``
#: expects what they took instead.
GENERATION_TIME_POINTS: tuple[tuple[float, float], ...] = (
    (6.0, 76.0),
    (18.0, 150.0),
    (60.0, 350.0),
    (120.0, 510.0),
)


def expected_seconds_for(video_seconds: float) -> float:
    """Expected generation time for a video of this length (piecewise-linear fit)."""
    points = GENERATION_TIME_POINTS
    if video_seconds <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if video_seconds <= x1:
            return y0 + (y1 - y0) * (video_seconds - x0) / (x1 - x0)
    (x0, y0), (x1, y1) = points[-2], points[-1]
    return y1 + (y1 - y0) * (video_seconds - x1) / (x1 - x0)


class TaskType(str, Enum):
    """The three Nova Reel task types, valued as the service spells them."""

    TEXT_VIDEO = "TEXT_VIDEO"
    MULTI_SHOT_AUTOMATED = "MULTI_SHOT_AUTOMATED"
    MULTI_SHOT_MANUAL = "MULTI_SHOT_MANUAL"

    def __str__(self) -> str:
        return self.value


#: Short names accepted by the CLI (``--task text|auto|manual``) and the Python API.
TASK_ALIASES: dict[str, TaskType] = {
    "text": TaskType.TEXT_VIDEO,
    "text_video": TaskType.TEXT_VIDEO,
    "auto": TaskType.MULTI_SHOT_AUTOMATED,
    "automated": TaskType.MULTI_SHOT_AUTOMATED,
    "multi_shot_automated": TaskType.MULTI_SHOT_AUTOMATED,
    "manual": TaskType.MULTI_SHOT_MANUAL,
    "multi_shot_manual": TaskType.MULTI_SHOT_MANUAL,
}


def parse_task_type(value: str | TaskType) -> TaskType:
    """Accept ``TEXT_VIDEO``/``text``/``auto``/... in any case; refuse anything else."""
    if isinstance(value, TaskType):
        return value
    key = value.strip().lower().replace("-", "_")
    if key in TASK_ALIASES:
        return TASK_ALIASES[key]
    raise InvalidRequestError(
        Problem(
            "task_type",
            f"unknown task type {value!r}; use text, auto or manual",
            value=value,
            limit="text | auto | manual (TEXT_VIDEO | MULTI_SHOT_AUTOMATED | MULTI_SHOT_MANUAL)",
        )
    )


def estimate_cost_usd(model_id: str, duration_seconds: int) -> float:
    """Estimated price of a Nova Reel job: seconds of video times the per-second price.

    An id that is not a Nova Reel model (refused by validation anyway) is priced as
    v1:1, the family's only price.
    """
    info = _BY_ID.get(model_id, _BY_ID[DEFAULT_MODEL])
    return round(info.price_for() * duration_seconds, 2)


def _image(frame: StartingFrame, describe: bool) -> dict[str, Any]:
    """Nova's ``{"format", "source"}`` image object (or its description)."""
    if describe:
        return frame.describe()
    if frame.data is not None:
        source: dict[str, Any] = {"bytes": frame.base64}
    else:
        location: dict[str, Any] = {"uri": frame.s3_uri}
        if frame.bucket_owner:
            location["bucketOwner"] = frame.bucket_owner
        source = {"s3Location": location}
    return {"format": frame.format, "source": source}


def _seed_problems(seed: int) -> list[Problem]:
    if isinstance(seed, bool) or not isinstance(seed, int):
        return [
            Problem(
                "seed",
                f"{seed!r} is not an integer; allowed: {MIN_SEED}-{MAX_SEED:,}",
                value=seed,
                limit=f"{MIN_SEED}-{MAX_SEED}",
            )
        ]
    if not MIN_SEED <= seed <= MAX_SEED:
        return [
            Problem(
                "seed",
                f"{seed} is out of range {MIN_SEED}-{MAX_SEED:,}",
                value=seed,
                limit=f"{MIN_SEED}-{MAX_SEED}",
            )
        ]
    return []


def _model_problems(model_id: str, task: TaskType) -> list[Problem]:
    bad_id = model_id_problems(model_id)
    if bad_id:
        return bad_id
    if model_id not in KNOWN_MODELS:
        return [
            Problem(
                "model_id",
                f"{model_id!r} is not a Nova Reel model ({' or '.join(KNOWN_MODELS)})",
                value=model_id,
                limit=" | ".join(KNOWN_MODELS),
            )
        ]
    if model_id == MODEL_V1_0 and task is not TaskType.TEXT_VIDEO:
        return [
            Problem(
                "model_id",
                f"{MODEL_V1_0} supports TEXT_VIDEO only, not {task.value}",
                value=model_id,
                limit=f"use {MODEL_V1_1} for multi-shot videos",
            )
        ]
    return []


def _video_config(duration_seconds: int | None, seed: int) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if duration_seconds is not None:
        config["durationSeconds"] = duration_seconds
    config.update({"fps": FPS, "dimension": DIMENSION, "seed": seed})
    return config


class _Request(RequestBase):
    """Behaviour shared by the three request types (validation, cost, description)."""

    task_type: TaskType
    model_id: str
    seed: int

    @property
    def duration_seconds(self) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def estimated_cost_usd(self) -> float:
        """What the job should cost, from the one price table."""
        return estimate_cost_usd(self.model_id, self.duration_seconds)

    @property
    def frames(self) -> list[StartingFrame]:
        """Every starting frame of the request, in shot order."""
        return []

    @property
    def shape(self) -> VideoShape:
        """Every Nova Reel video is 1280x720 at 24 fps."""
        return VideoShape(WIDTH, HEIGHT, FPS, self.duration_seconds)


@dataclass(frozen=True)
class TextVideo(_Request):
    """A 6-second clip from a prompt, with an optional starting frame (v1:0 and v1:1)."""

    prompt: str
    image: StartingFrame | None = None
    seed: int = DEFAULT_SEED
    model_id: str = DEFAULT_MODEL
    duration: int = TEXT_VIDEO_SECONDS

    task_type = TaskType.TEXT_VIDEO

    @property
    def duration_seconds(self) -> int:
        return self.duration

    @property
    def frames(self) -> list[StartingFrame]:
        return [self.image] if self.image else []

    def problems(self) -> list[Problem]:
        found = text_problems("prompt", self.prompt, MAX_SHORT_TEXT)
        if self.duration != TEXT_VIDEO_SECONDS:
            found.append(
                Problem(
                    "duration_seconds",
                    f"TEXT_VIDEO is always {TEXT_VIDEO_SECONDS} seconds, not {self.duration}; "
                    "use MULTI_SHOT_AUTOMATED for 12-120 seconds",
                    value=self.duration,
                    limit=str(TEXT_VIDEO_SECONDS),
                )
            )
        if self.image is not None:
            found.extend(self.image.problems("image"))
        found.extend(_seed_problems(self.seed))
        found.extend(_model_problems(self.model_id, self.task_type))
        return found

    def _body(self, describe: bool) -> dict[str, Any]:
        params: dict[str, Any] = {"text": self.prompt}
        if self.image is not None:
            params["images"] = [_image(self.image, describe)]
        return {
            "taskType": self.task_type.value,
            "textToVideoParams": params,
            "videoGenerationConfig": _video_config(self.duration, self.seed),
        }


@dataclass(frozen=True)
class MultiShotAutomated(_Request):
    """A 12-120 s video from one prompt; the model cuts the shots (v1:1 only)."""

    prompt: str
    duration: int = MIN_AUTOMATED_SECONDS
    seed: int = DEFAULT_SEED
    model_id: str = DEFAULT_MODEL

    task_type = TaskType.MULTI_SHOT_AUTOMATED

    @property
    def duration_seconds(self) -> int:
        return self.duration

    def problems(self) -> list[Problem]:
        found = text_problems("prompt", self.prompt, MAX_LONG_TEXT)
        d = self.duration
        if isinstance(d, bool) or not isinstance(d, int):
            found.append(
                Problem(
                    "duration_seconds",
                    f"{d!r} is not a whole number of seconds; {AUTOMATED_LENGTHS}",
                    value=d,
                    limit=AUTOMATED_LIMIT,
                )
            )
        elif not (MIN_AUTOMATED_SECONDS <= d <= MAX_AUTOMATED_SECONDS) or d % SHOT_SECONDS:
            found.append(
                Problem(
                    "duration_seconds",
                    f"{d} s is not allowed for MULTI_SHOT_AUTOMATED, which takes "
                    f"{AUTOMATED_LENGTHS}; TEXT_VIDEO is always {TEXT_VIDEO_SECONDS} s",
                    value=d,
                    limit=AUTOMATED_LIMIT,
                )
            )
        found.extend(_seed_problems(self.seed))
        found.extend(_model_problems(self.model_id, self.task_type))
        return found

    @property
    def shot_count(self) -> int:
        return self.duration // SHOT_SECONDS

    def _body(self, describe: bool) -> dict[str, Any]:
        return {
            "taskType": self.task_type.value,
            "multiShotAutomatedParams": {"text": self.prompt},
            "videoGenerationConfig": _video_config(self.duration, self.seed),
        }


@dataclass(frozen=True)
class MultiShotManual(_Request):
    """A storyboard of 2-20 shots, 6 s each, each with an optional image (v1:1 only).

    The duration is derived (6 x shots) and never sent: the service computes it too,
    and the cost shown is computed from it.
    """

    shots: Sequence[Shot]
    seed: int = DEFAULT_SEED
    model_id: str = DEFAULT_MODEL

    task_type = TaskType.MULTI_SHOT_MANUAL

    def __post_init__(self) -> None:
        object.__setattr__(self, "shots", tuple(self.shots))

    @property
    def duration_seconds(self) -> int:
        return SHOT_SECONDS * len(self.shots)

    @property
    def frames(self) -> list[StartingFrame]:
        return [s.image for s in self.shots if s.image is not None]

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        n = len(self.shots)
        if not MIN_SHOTS <= n <= MAX_SHOTS:
            found.append(
                Problem(
                    "shots",
                    f"{n} shot{'s' if n != 1 else ''}; a manual storyboard needs "
                    f"{MIN_SHOTS}-{MAX_SHOTS}",
                    value=n,
                    limit=f"{MIN_SHOTS}-{MAX_SHOTS} shots ({MIN_SHOTS * SHOT_SECONDS}-"
                    f"{MAX_SHOTS * SHOT_SECONDS} s)",
                )
            )
        for i, shot in enumerate(self.shots, start=1):
            found.extend(text_problems(f"shots[{i}].text", shot.text, MAX_SHORT_TEXT))
            if shot.image is not None:
                found.extend(shot.image.problems(f"shots[{i}].image"))
        found.extend(_seed_problems(self.seed))
        found.extend(_model_problems(self.model_id, self.task_type))
        return found

    def _body(self, describe: bool) -> dict[str, Any]:
        shots: list[dict[str, Any]] = []
        for shot in self.shots:
            item: dict[str, Any] = {"text": shot.text}
            if shot.image is not None:
                item["image"] = _image(shot.image, describe)
            shots.append(item)
        return {
            "taskType": self.task_type.value,
            "multiShotManualParams": {"shots": shots},
            "videoGenerationConfig": _video_config(None, self.seed),
        }


NovaRequest: TypeAlias = TextVideo | MultiShotAutomated | MultiShotManual
#: The name novareel 0.1 used for a Nova Reel request.
VideoRequest: TypeAlias = NovaRequest


def build_request(
    prompt: str | None = None,
    *,
    task: str | TaskType | None = None,
    duration: int | None = None,
    image: StartingFrame | None = None,
    shots: Sequence[Shot] | None = None,
    seed: int = DEFAULT_SEED,
    model_id: str = DEFAULT_MODEL,
) -> VideoRequest:
    """Pick the task type the way a user means it, and refuse contradictions.

    - With shots and no task: MULTI_SHOT_MANUAL. With a duration above 6 and no task:
      MULTI_SHOT_AUTOMATED. Otherwise TEXT_VIDEO.
    - An explicit task that contradicts the other inputs (TEXT_VIDEO with 12 s, an
      image on an automated job, a prompt *and* shots on a manual one) is an error
      naming both, never a silent fix: the user pays for what they asked.

    The returned request is validated; every problem is reported at once.
    """
    if task is not None:
        kind = parse_task_type(task)
    elif shots:
        kind = TaskType.MULTI_SHOT_MANUAL
    elif duration is not None and duration > TEXT_VIDEO_SECONDS:
        kind = TaskType.MULTI_SHOT_AUTOMATED
    else:
        kind = TaskType.TEXT_VIDEO

    found: list[Problem] = []
    request: VideoRequest
    if kind is TaskType.TEXT_VIDEO:
        if shots:
            found.append(
                Problem(
                    "shots", "shots are for MULTI_SHOT_MANUAL, not TEXT_VIDEO", value=len(shots)
                )
            )
        request = TextVideo(
            prompt=prompt or "",
            image=image,
            seed=seed,
            model_id=model_id,
            duration=TEXT_VIDEO_SECONDS if duration is None else duration,
        )
    elif kind is TaskType.MULTI_SHOT_AUTOMATED:
        if image is not None:
            found.append(
                Problem(
                    "image",
                    "MULTI_SHOT_AUTOMATED takes no starting frame; use TEXT_VIDEO, or "
                    "MULTI_SHOT_MANUAL with an image on a shot",
                    value=image.source or image.s3_uri,
                )
            )
        if shots:
            found.append(
                Problem(
                    "shots",
                    "shots are for MULTI_SHOT_MANUAL, not MULTI_SHOT_AUTOMATED",
                    value=len(shots),
                )
            )
        if duration is None:
            found.append(
                Problem(
                    "duration_seconds",
                    f"MULTI_SHOT_AUTOMATED needs a duration: {AUTOMATED_LENGTHS}",
                    limit=AUTOMATED_LIMIT,
                )
            )
        request = MultiShotAutomated(
            prompt=prompt or "",
            duration=MIN_AUTOMATED_SECONDS if duration is None else duration,
            seed=seed,
            model_id=model_id,
        )
    else:
        if prompt:
            found.append(
                Problem(
                    "prompt",
                    "MULTI_SHOT_MANUAL takes one text per shot, not a prompt; "
                    "give --shot or --storyboard",
                    value=prompt,
                )
            )
        if image is not None:
            found.append(
                Problem(
                    "image",
                    "MULTI_SHOT_MANUAL puts images on shots (storyboard 'image'), "
                    "not on the whole job",
                    value=image.source or image.s3_uri,
                )
            )
        shot_list = list(shots or [])
        if duration is not None and duration != SHOT_SECONDS * len(shot_list):
            found.append(
                Problem(
                    "duration_seconds",
                    f"a manual storyboard of {len(shot_list)} shots lasts "
                    f"{SHOT_SECONDS * len(shot_list)} s, not {duration}",
                    value=duration,
                    limit=f"{SHOT_SECONDS} x shots",
                )
            )
        request = MultiShotManual(shots=shot_list, seed=seed, model_id=model_id)

    found.extend(request.problems())
    if found:
        raise InvalidRequestError(found)
    return request


class NovaReelFamily:
    """The Nova Reel family as the rest of novareel sees it (see ``models.base``)."""

    name = "Nova Reel"
    models = MODELS
    accepts = frozenset({"task", "duration", "image", "shots", "seed"})
    video_name = "output.mp4"
    status_files: tuple[str, ...] = ("video-generation-status.json", "generation-status.json")
    retryable_failures = frozenset({"INTERNAL_SERVER_EXCEPTION", "RATE_LIMIT_EXCEEDED"})
    multi_shot = True
    generation_prior_source = "seed lab 2025"
    frame_rules = FRAME_RULES

    def frame_rules_for(self, options: GenerateOptions) -> FrameRules:
        return FRAME_RULES

    def build(self, options: GenerateOptions) -> NovaRequest:
        """A checked request from model-neutral options; every problem at once."""
        model_id = options.model_id or DEFAULT_MODEL
        info = _BY_ID.get(model_id, _BY_ID[DEFAULT_MODEL])
        found = unsupported_option_problems(self, info, options)
        try:
            request = build_request(
                options.prompt,
                task=options.task,
                duration=options.duration,
                image=options.image,
                shots=options.shots,
                seed=DEFAULT_SEED if options.seed is None else options.seed,
                model_id=model_id,
            )
        except InvalidRequestError as exc:
            raise InvalidRequestError(found + list(exc.problems), hint=exc.hint) from None
        if found:
            raise InvalidRequestError(found)
        return request

    def rebuild(
        self,
        model_id: str,
        task_type: str,
        body: dict[str, Any],
        *,
        load_frame: Callable[[Any, str, FrameRules], StartingFrame],
        duration: int | None,
        seed: int | None,
    ) -> NovaRequest:
        """The request a ledger row describes (``describe()`` form), images reloaded."""
        task = body.get("taskType") or task_type
        config = body.get("videoGenerationConfig") or {}
        seed = config.get("seed", seed if seed is not None else DEFAULT_SEED)
        request: NovaRequest
        if task == "TEXT_VIDEO":
            params = body.get("textToVideoParams") or {}
            images = params.get("images") or []
            image = load_frame(images[0], "image", FRAME_RULES) if images else None
            request = TextVideo(
                prompt=params.get("text", ""),
                image=image,
                seed=seed,
                model_id=model_id,
                duration=config.get("durationSeconds", TEXT_VIDEO_SECONDS),
            )
        elif task == "MULTI_SHOT_AUTOMATED":
            params = body.get("multiShotAutomatedParams") or {}
            request = MultiShotAutomated(
                prompt=params.get("text", ""),
                duration=config.get("durationSeconds", duration or MIN_AUTOMATED_SECONDS),
                seed=seed,
                model_id=model_id,
            )
        elif task == "MULTI_SHOT_MANUAL":
            params = body.get("multiShotManualParams") or {}
            shots = []
            for number, shot in enumerate(params.get("shots") or [], start=1):
                image = None
                if isinstance(shot, dict) and shot.get("image") is not None:
                    image = load_frame(shot["image"], f"shots[{number}].image", FRAME_RULES)
                text = shot.get("text", "") if isinstance(shot, dict) else ""
                shots.append(Shot(text, image))
            request = MultiShotManual(shots=shots, seed=seed, model_id=model_id)
        else:
            raise InvalidRequestError(
                Problem("job", f"no recorded Nova Reel request (task type {task!r})", value=task)
            )
        request.validate()
        return request

    def expected_generation_seconds(self, model_id: str, shape: VideoShape) -> float:
        return expected_seconds_for(shape.seconds)

    def shape_from_body(self, body: dict[str, Any], duration: int | None) -> VideoShape:
        shots = (body.get("multiShotManualParams") or {}).get("shots")
        seconds = duration or (SHOT_SECONDS * len(shots) if shots else TEXT_VIDEO_SECONDS)
        return VideoShape(WIDTH, HEIGHT, FPS, seconds)

    def build_shots(self, options: GenerateOptions) -> list[AnyVideoRequest]:
        """Nova Reel v1:1 runs a storyboard as one MULTI_SHOT_MANUAL job: no split."""
        return [self.build(options)]


FAMILY = NovaReelFamily()


__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_SEED",
    "FAMILY",
    "FRAME_RULES",
    "KNOWN_MODELS",
    "MAX_SEED",
    "MODELS",
    "MODEL_V1_0",
    "MODEL_V1_1",
    "PRICE_PER_SECOND_USD",
    "MultiShotAutomated",
    "MultiShotManual",
    "NovaRequest",
    "TaskType",
    "TextVideo",
    "VideoRequest",
    "build_request",
    "estimate_cost_usd",
    "parse_task_type",
]
