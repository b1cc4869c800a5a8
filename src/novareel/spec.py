"""Nova Reel request models: every rule of the contract, checked locally, no I/O.

A request is built from plain values (and :class:`StartingFrame` objects that
:mod:`novareel.images` has already read and checked), validated here at the exact
boundaries of the service contract, and turned into the ``modelInput`` JSON. Nothing
in this module touches the network or the disk, so every rule can be tested at its
boundary quickly and a bad request never costs a call.

Validation collects *every* problem of a request (field, value, limit) instead of
stopping at the first, so a user fixes a storyboard in one pass rather than twenty.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, TypeAlias

from novareel.errors import InvalidRequestError, Problem

ImageFormat = Literal["png", "jpeg"]

MODEL_V1_1 = "amazon.nova-reel-v1:1"
MODEL_V1_0 = "amazon.nova-reel-v1:0"
DEFAULT_MODEL = MODEL_V1_1
KNOWN_MODELS = (MODEL_V1_1, MODEL_V1_0)

#: USD per second of generated video, one table for every cost shown or recorded.
#: Source: the Bedrock pricing page as summarised in the service contract (re-verify
#: before relying on it; both Nova Reel versions are priced the same).
PRICE_PER_SECOND_USD: dict[str, float] = {MODEL_V1_1: 0.08, MODEL_V1_0: 0.08}

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
FPS = 24
DIMENSION = "1280x720"
MAX_IMAGE_BYTES = 25_000_000

#: File signatures: the format sent must match the bytes (pure check, no decoding).
_MAGIC: dict[str, bytes] = {"png": b"\x89PNG\r\n\x1a\n", "jpeg": b"\xff\xd8\xff"}
_MODEL_ID_RE = re.compile(r"^[a-zA-Z_.\-/0-9:]{1,256}$")


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
            f"unknown task type {value!r}",
            value=value,
            limit="text | auto | manual (TEXT_VIDEO | MULTI_SHOT_AUTOMATED | MULTI_SHOT_MANUAL)",
        )
    )


_TOKEN_RE = re.compile(r"^[!-~]{1,256}$")
_TAG_RE = re.compile(r"^[a-zA-Z0-9\s._:/=+@-]*$")
MAX_TAGS = 200


def submit_option_problems(client_token: str | None, tags: dict[str, str] | None) -> list[Problem]:
    """StartAsyncInvoke's own limits on the client token and the tags.

    The token is what makes a resubmit safe, so a bad one must be caught before it is
    recorded, not by the service after.
    """
    found: list[Problem] = []
    if client_token is not None and not _TOKEN_RE.match(client_token):
        found.append(
            Problem(
                "client_token",
                "must be 1-256 printable ASCII characters without spaces",
                value=client_token,
                limit="1-256 of [!-~]",
            )
        )
    tags = tags or {}
    if len(tags) > MAX_TAGS:
        found.append(Problem("tags", f"{len(tags)} tags; the limit is {MAX_TAGS}", value=len(tags)))
    limit = "letters, digits, spaces and . _ : / = + @ -"
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or not _TAG_RE.match(key):
            found.append(
                Problem(f"tags[{key}]", "tag keys are 1-128 characters", value=key, limit=limit)
            )
        if len(value) > 256 or not _TAG_RE.match(value):
            found.append(
                Problem(f"tags[{key}]", "tag values are 0-256 characters", value=value, limit=limit)
            )
    return found


def estimate_cost_usd(model_id: str, duration_seconds: int) -> float:
    """Estimated price of a job: seconds of video times the model's per-second price."""
    price = PRICE_PER_SECOND_USD.get(model_id, PRICE_PER_SECOND_USD[DEFAULT_MODEL])
    return round(price * duration_seconds, 2)


@dataclass(frozen=True)
class StartingFrame:
    """An image that becomes the first frame of a shot.

    Either ``data`` (the file's bytes, already checked by :mod:`novareel.images`) or
    ``s3_uri`` (an image already in S3, passed by reference, never downloaded) is set.
    ``source`` is what the user named (a path or URI) and ``sha256`` the digest of the
    bytes, so the ledger can record the image without storing it; ``fit`` is the
    conversion applied (crop/pad/stretch), so a retry can rebuild the same bytes.
    """

    format: ImageFormat
    data: bytes | None = field(default=None, repr=False)
    s3_uri: str | None = None
    bucket_owner: str | None = None
    source: str = ""
    sha256: str | None = None
    fit: str | None = None

    def to_model_input(self) -> dict[str, Any]:
        """The ``{"format", "source"}`` object of the Nova Reel request body."""
        if self.data is not None:
            source: dict[str, Any] = {"bytes": base64.b64encode(self.data).decode("ascii")}
        else:
            location: dict[str, Any] = {"uri": self.s3_uri}
            if self.bucket_owner:
                location["bucketOwner"] = self.bucket_owner
            source = {"s3Location": location}
        return {"format": self.format, "source": source}

    def describe(self) -> dict[str, Any]:
        """The image as recorded and shown: where it came from, never its bytes."""
        info: dict[str, Any] = {"format": self.format}
        if self.s3_uri:
            info["s3_uri"] = self.s3_uri
            if self.bucket_owner:
                info["bucket_owner"] = self.bucket_owner
        else:
            info["path"] = self.source
            info["sha256"] = self.sha256
            info["size"] = len(self.data or b"")
            if self.fit:
                info["fit"] = self.fit
        return info

    def problems(self, field_name: str) -> list[Problem]:
        """Checks that need no decoding: format spelling, size, and one source only."""
        found: list[Problem] = []
        if self.format not in ("png", "jpeg"):
            found.append(
                Problem(
                    f"{field_name}.format",
                    f"image format must be 'png' or 'jpeg', not {self.format!r}",
                    value=self.format,
                    limit="png | jpeg",
                )
            )
        if (self.data is None) == (self.s3_uri is None):
            found.append(Problem(field_name, "an image needs exactly one of bytes or an s3:// URI"))
        magic = _MAGIC.get(self.format)
        if self.data is not None and magic is not None and not self.data.startswith(magic):
            actual = next((f for f, m in _MAGIC.items() if self.data.startswith(m)), "unknown")
            found.append(
                Problem(
                    f"{field_name}.format",
                    f"declared {self.format!r} but the bytes are {actual}",
                    value=self.format,
                    limit="format must match the image's real content",
                )
            )
        if self.data is not None and len(self.data) > MAX_IMAGE_BYTES:
            found.append(
                Problem(
                    field_name,
                    f"image is {len(self.data):,} bytes; the limit is {MAX_IMAGE_BYTES:,}",
                    value=len(self.data),
                    limit=f"<= {MAX_IMAGE_BYTES:,} bytes",
                )
            )
        return found


_ImageRenderer: TypeAlias = Callable[[StartingFrame], dict[str, Any]]


def _text_problems(field_name: str, text: str, limit: int) -> list[Problem]:
    if not isinstance(text, str):
        return [Problem(field_name, "must be a string", value=text, limit=f"1-{limit} characters")]
    if len(text) == 0 or not text.strip():
        return [Problem(field_name, "must not be empty", value=text, limit=f"1-{limit} characters")]
    if len(text) > limit:
        return [
            Problem(
                field_name,
                f"is {len(text)} characters; the limit is {limit}",
                value=text,
                limit=f"1-{limit} characters",
            )
        ]
    return []


def _seed_problems(seed: int) -> list[Problem]:
    if isinstance(seed, bool) or not isinstance(seed, int):
        return [Problem("seed", "must be an integer", value=seed, limit=f"{MIN_SEED}-{MAX_SEED}")]
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
    if not isinstance(model_id, str) or not _MODEL_ID_RE.match(model_id):
        return [
            Problem(
                "model_id",
                f"{model_id!r} is not a valid model id",
                value=model_id,
                limit="1-256 of [a-zA-Z_.-/0-9:]",
            )
        ]
    if model_id not in KNOWN_MODELS:
        return [
            Problem(
                "model_id",
                f"{model_id!r} is not a Nova Reel model",
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


class _Request:
    """Behaviour shared by the three request types (validation, cost, description)."""

    task_type: TaskType
    model_id: str
    seed: int

    @property
    def duration_seconds(self) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    def problems(self) -> list[Problem]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _body(self, image: _ImageRenderer) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def validate(self) -> None:
        """Raise :class:`InvalidRequestError` listing every problem, if there is any."""
        found = self.problems()
        if found:
            raise InvalidRequestError(found)

    @property
    def estimated_cost_usd(self) -> float:
        """What the job should cost, from the one price table."""
        return estimate_cost_usd(self.model_id, self.duration_seconds)

    @property
    def frames(self) -> list[StartingFrame]:
        """Every starting frame of the request, in shot order."""
        return []

    def to_model_input(self) -> dict[str, Any]:
        """The exact ``modelInput`` JSON for StartAsyncInvoke (validated first)."""
        self.validate()
        return self._body(StartingFrame.to_model_input)

    def describe(self) -> dict[str, Any]:
        """The ``modelInput`` with every image replaced by its path + sha256 (or URI).

        This is what ``--dry-run`` prints and what the ledger stores: enough to see
        and reproduce the request, never megabytes of base64.
        """
        return self._body(StartingFrame.describe)


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
        found = _text_problems("prompt", self.prompt, MAX_SHORT_TEXT)
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

    def _body(self, image: _ImageRenderer) -> dict[str, Any]:
        params: dict[str, Any] = {"text": self.prompt}
        if self.image is not None:
            params["images"] = [image(self.image)]
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
        found = _text_problems("prompt", self.prompt, MAX_LONG_TEXT)
        d = self.duration
        if isinstance(d, bool) or not isinstance(d, int):
            found.append(Problem("duration_seconds", "must be an integer", value=d))
        elif not (MIN_AUTOMATED_SECONDS <= d <= MAX_AUTOMATED_SECONDS) or d % SHOT_SECONDS:
            found.append(
                Problem(
                    "duration_seconds",
                    f"{d} s is not allowed for MULTI_SHOT_AUTOMATED",
                    value=d,
                    limit=f"a multiple of {SHOT_SECONDS} from {MIN_AUTOMATED_SECONDS} "
                    f"to {MAX_AUTOMATED_SECONDS}",
                )
            )
        found.extend(_seed_problems(self.seed))
        found.extend(_model_problems(self.model_id, self.task_type))
        return found

    @property
    def shot_count(self) -> int:
        return self.duration // SHOT_SECONDS

    def _body(self, image: _ImageRenderer) -> dict[str, Any]:
        return {
            "taskType": self.task_type.value,
            "multiShotAutomatedParams": {"text": self.prompt},
            "videoGenerationConfig": _video_config(self.duration, self.seed),
        }


@dataclass(frozen=True)
class Shot:
    """One 6-second shot of a storyboard: its prompt and an optional starting frame."""

    text: str
    image: StartingFrame | None = None


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
            found.extend(_text_problems(f"shots[{i}].text", shot.text, MAX_SHORT_TEXT))
            if shot.image is not None:
                found.extend(shot.image.problems(f"shots[{i}].image"))
        found.extend(_seed_problems(self.seed))
        found.extend(_model_problems(self.model_id, self.task_type))
        return found

    def _body(self, image: _ImageRenderer) -> dict[str, Any]:
        shots: list[dict[str, Any]] = []
        for shot in self.shots:
            item: dict[str, Any] = {"text": shot.text}
            if shot.image is not None:
                item["image"] = image(shot.image)
            shots.append(item)
        return {
            "taskType": self.task_type.value,
            "multiShotManualParams": {"shots": shots},
            "videoGenerationConfig": _video_config(None, self.seed),
        }


VideoRequest: TypeAlias = TextVideo | MultiShotAutomated | MultiShotManual


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
                    "MULTI_SHOT_AUTOMATED needs a duration",
                    limit=f"a multiple of {SHOT_SECONDS} from {MIN_AUTOMATED_SECONDS} "
                    f"to {MAX_AUTOMATED_SECONDS}",
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


__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_SEED",
    "KNOWN_MODELS",
    "MAX_SEED",
    "MODEL_V1_0",
    "MODEL_V1_1",
    "PRICE_PER_SECOND_USD",
    "ImageFormat",
    "MultiShotAutomated",
    "MultiShotManual",
    "Shot",
    "StartingFrame",
    "TaskType",
    "TextVideo",
    "VideoRequest",
    "build_request",
    "estimate_cost_usd",
    "parse_task_type",
    "submit_option_problems",
]
