"""The three Nova Reel request types and :func:`build_request`: every rule, no I/O.

A request is built from plain values and images, validated here at the exact
boundaries of the service contract, and turned into the ``modelInput`` JSON. Nothing
in this module touches the network or the disk, so every rule can be tested at its
boundary quickly and a bad request never costs a call.

**Checked when built.** Constructing a request checks it: ``TextVideo("...",
duration=12)`` raises :class:`~novareel.foundation.errors.InvalidRequestError` listing *every*
problem (field, value, limit) instead of stopping at the first, so a user fixes a
storyboard in one pass rather than twenty, and no dry run, price or ledger row can be
made of a request the service would refuse.

**Images** are :class:`StartingFrame` objects, or paths / ``s3://`` URIs that the
request reads when built through :func:`~novareel.models.base.read_image` (the reader
:mod:`novareel.media.images` lends this package: the same as ``--image``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from novareel.foundation.errors import InvalidRequestError, Problem
from novareel.models.base import (
    ImageInput,
    RequestBase,
    Shot,
    StartingFrame,
    VideoShape,
    built_with,
    frame_of,
    image_label,
    is_whole_number,
    model_id_problems,
    read_image,
    text_problems,
)
from novareel.models.nova_reel.contract import (
    AUTOMATED_LENGTHS,
    AUTOMATED_LIMIT,
    DEFAULT_MODEL,
    DEFAULT_SEED,
    DIMENSION,
    FPS,
    FRAME_RULES,
    HEIGHT,
    KNOWN_MODELS,
    MAX_AUTOMATED_SECONDS,
    MAX_LONG_TEXT,
    MAX_SEED,
    MAX_SHORT_TEXT,
    MAX_SHOTS,
    MIN_AUTOMATED_SECONDS,
    MIN_SEED,
    MIN_SHOTS,
    MODEL_V1_0,
    MODEL_V1_1,
    SHOT_SECONDS,
    TEXT_VIDEO_SECONDS,
    WIDTH,
    TaskType,
    estimate_cost_usd,
    parse_task_type,
)


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
    if not is_whole_number(seed):
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
    """A 6-second clip from a prompt, with an optional starting frame (v1:0 and v1:1).

    ``image`` is a :class:`StartingFrame`, or a path or ``s3://`` URI read and checked
    when the request is built, as ``--image`` is. An invalid request is never built:
    :class:`~novareel.foundation.errors.InvalidRequestError` names every problem.
    """

    prompt: str
    image: ImageInput | None = None
    seed: int = DEFAULT_SEED
    model_id: str = DEFAULT_MODEL
    duration: int = TEXT_VIDEO_SECONDS

    task_type = TaskType.TEXT_VIDEO

    def __post_init__(self) -> None:
        errors: list[InvalidRequestError] = []
        object.__setattr__(self, "image", read_image(self.image, "image", FRAME_RULES, errors))
        self._check(errors)

    @property
    def duration_seconds(self) -> int:
        return self.duration

    @property
    def frames(self) -> list[StartingFrame]:
        frame = frame_of(self.image)
        return [frame] if frame else []

    def problems(self) -> list[Problem]:
        found = text_problems("prompt", self.prompt, MAX_SHORT_TEXT)
        if not is_whole_number(self.duration):
            found.append(
                Problem(
                    "duration",
                    f"{self.duration!r} is not a whole number of seconds; TEXT_VIDEO is "
                    f"always {TEXT_VIDEO_SECONDS} seconds",
                    value=self.duration,
                    limit=str(TEXT_VIDEO_SECONDS),
                )
            )
        elif self.duration != TEXT_VIDEO_SECONDS:
            found.append(
                Problem(
                    "duration",
                    f"TEXT_VIDEO is always {TEXT_VIDEO_SECONDS} seconds, not {self.duration}; "
                    "use MULTI_SHOT_AUTOMATED for 12-120 seconds",
                    value=self.duration,
                    limit=str(TEXT_VIDEO_SECONDS),
                )
            )
        for frame in self.frames:
            found.extend(frame.problems("image"))
        found.extend(_seed_problems(self.seed))
        found.extend(_model_problems(self.model_id, self.task_type))
        return found

    def _body(self, describe: bool) -> dict[str, Any]:
        params: dict[str, Any] = {"text": self.prompt}
        if self.frames:
            params["images"] = [_image(self.frames[0], describe)]
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

    def __post_init__(self) -> None:
        self._check()

    @property
    def duration_seconds(self) -> int:
        return self.duration

    def problems(self) -> list[Problem]:
        found = text_problems("prompt", self.prompt, MAX_LONG_TEXT)
        d = self.duration
        if not is_whole_number(d):
            found.append(
                Problem(
                    "duration",
                    f"{d!r} is not a whole number of seconds; {AUTOMATED_LENGTHS}",
                    value=d,
                    limit=AUTOMATED_LIMIT,
                )
            )
        elif not (MIN_AUTOMATED_SECONDS <= d <= MAX_AUTOMATED_SECONDS) or d % SHOT_SECONDS:
            found.append(
                Problem(
                    "duration",
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
    and the cost shown is computed from it. A shot's image may be a path or ``s3://``
    URI, read and checked when the request is built (``shots[2].image`` in messages).
    """

    shots: Sequence[Shot]
    seed: int = DEFAULT_SEED
    model_id: str = DEFAULT_MODEL

    task_type = TaskType.MULTI_SHOT_MANUAL

    def __post_init__(self) -> None:
        errors: list[InvalidRequestError] = []
        shots: list[Shot] = []
        for number, shot in enumerate(self.shots, start=1):
            if not isinstance(shot, Shot):
                errors.append(
                    InvalidRequestError(
                        Problem(
                            f"shots[{number}]",
                            f"{type(shot).__name__} is not a Shot; give Shot(text, image=...)",
                            value=repr(shot)[:80],
                            limit="Shot(text, image=None)",
                        )
                    )
                )
                continue
            name = f"shots[{number}].image"
            image = read_image(shot.image, name, FRAME_RULES, errors)
            shots.append(shot if image is shot.image else Shot(shot.text, image))
        object.__setattr__(self, "shots", tuple(shots))
        self._check(errors)

    @property
    def duration_seconds(self) -> int:
        return SHOT_SECONDS * len(self.shots)

    @property
    def frames(self) -> list[StartingFrame]:
        return [f for f in (frame_of(s.image) for s in self.shots) if f is not None]

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
            frame = frame_of(shot.image)
            if frame is not None:
                found.extend(frame.problems(f"shots[{i}].image"))
        found.extend(_seed_problems(self.seed))
        found.extend(_model_problems(self.model_id, self.task_type))
        return found

    def _body(self, describe: bool) -> dict[str, Any]:
        shots: list[dict[str, Any]] = []
        for shot in self.shots:
            item: dict[str, Any] = {"text": shot.text}
            frame = frame_of(shot.image)
            if frame is not None:
                item["image"] = _image(frame, describe)
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
    image: ImageInput | None = None,
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
    if kind is TaskType.TEXT_VIDEO:
        if shots:
            found.append(
                Problem(
                    "shots", "shots are for MULTI_SHOT_MANUAL, not TEXT_VIDEO", value=len(shots)
                )
            )
        fields: dict[str, Any] = {
            "prompt": prompt or "",
            "image": image,
            "seed": seed,
            "model_id": model_id,
            "duration": TEXT_VIDEO_SECONDS if duration is None else duration,
        }
        kind_of: type[NovaRequest] = TextVideo
    elif kind is TaskType.MULTI_SHOT_AUTOMATED:
        if image is not None:
            found.append(
                Problem(
                    "image",
                    "MULTI_SHOT_AUTOMATED takes no starting frame; use TEXT_VIDEO, or "
                    "MULTI_SHOT_MANUAL with an image on a shot",
                    value=image_label(image),
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
                    "duration",
                    f"MULTI_SHOT_AUTOMATED needs a duration: {AUTOMATED_LENGTHS}",
                    limit=AUTOMATED_LIMIT,
                )
            )
        fields = {
            "prompt": prompt or "",
            "duration": MIN_AUTOMATED_SECONDS if duration is None else duration,
            "seed": seed,
            "model_id": model_id,
        }
        kind_of = MultiShotAutomated
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
                    value=image_label(image),
                )
            )
        shot_list = list(shots or [])
        if duration is not None and duration != SHOT_SECONDS * len(shot_list):
            found.append(
                Problem(
                    "duration",
                    f"a manual storyboard of {len(shot_list)} shots lasts "
                    f"{SHOT_SECONDS * len(shot_list)} s, not {duration}",
                    value=duration,
                    limit=f"{SHOT_SECONDS} x shots",
                )
            )
        fields = {"shots": shot_list, "seed": seed, "model_id": model_id}
        kind_of = MultiShotManual

    # checked when built: its own problems, every one, with those found here
    return built_with(found, lambda: kind_of(**fields))
