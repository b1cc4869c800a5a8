"""What one model-family module provides, and the plan of one accepted job.

A family module (``nova_reel.py``, ``luma_ray.py``) holds everything specific to its
models: catalogue entries (:class:`ModelInfo`), the ``modelInput`` validator, the
latency model and how a job renders and what it writes to S3 (a :class:`JobPlan`).
The backend, the HTTP handlers and the control plane only see these types, so a new
model is one new module plus one line in ``models/__init__.py``.

Only the standard library is imported here (Pillow lazily), so ``import
novareel.emulator`` stays cheap.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from novareel.emulator.errors import validation
from novareel.emulator.faults import PlannedFailure
from novareel.emulator.latency import DEFAULT_PRESET
from novareel.emulator.state import Job

#: Decoded size limit for every image input (UNCERTAIN upstream, same for all models).
MAX_IMAGE_BYTES = 25_000_000
BLOCKED_INPUT_MESSAGE = (
    "This request has been blocked by our content filters. "
    "Please adjust your text prompt to submit a new request."
)
BLOCKED_OUTPUT_MESSAGE = "The generated video has been blocked by our content filters."

OWNER_RE = re.compile(r"[0-9]{12}")
_S3_URI_RE = re.compile(r"s3://([a-z0-9][.\-a-z0-9]{1,61}[a-z0-9])(/.*)?", re.DOTALL)

#: (bucket, key) -> the object's bytes or None.
ObjectFetcher = Callable[[str, str], "bytes | None"]
Files = list[tuple[str, bytes]]


@dataclass(frozen=True)
class ModelInfo:
    """One model as the control plane describes it, with the emulator's limits.

    Timestamps are ISO-8601 strings exactly as they go on the wire. The legacy dates
    are only shown while the model's state is ``legacy``/``legacy-unused``;
    ``public_extended_access_time`` is omitted when ``None``.
    """

    model_id: str
    name: str
    provider: str
    regions: frozenset[str]
    input_modalities: tuple[str, ...]
    output_modalities: tuple[str, ...]
    start_of_life_time: str
    legacy_time: str
    end_of_life_time: str
    default_quota: int
    public_extended_access_time: str | None = None
    #: Short names the emulator's own settings accept for this model (``--model-state
    #: nova-reel=eol``): the names novareel users type, restated here because the
    #: emulator never imports the client's registry. The wire (StartAsyncInvoke's
    #: ``modelId``) takes full ids only, as AWS does.
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class InputContext:
    """What a ``modelInput`` validator may use besides the input itself."""

    model_id: str
    fetch_object: ObjectFetcher


class JobPlan(ABC):
    """A validated ``modelInput``: how long the job takes, what it renders and writes.

    ``texts`` are the prompt texts (content filters and fault markers look at them);
    ``parts`` is how many shots a job fault can pick from.
    """

    model_id: str
    task_type: str

    @property
    @abstractmethod
    def texts(self) -> tuple[str, ...]:
        """The prompt text(s) of the job."""

    @property
    @abstractmethod
    def video_seconds(self) -> int:
        """Seconds of video the job delivers."""

    @property
    def prompt(self) -> str:
        return "\n".join(self.texts)

    @property
    def parts(self) -> int:
        return len(self.texts)

    @abstractmethod
    def real_latency(self, preset: str = DEFAULT_PRESET) -> float:
        """Median seconds the real service needs for this job under a latency preset.

        Before scale, spread and speed (``latency.py``); each family keeps its own points.
        """

    def submit_files(self, job: Job) -> Files:
        """Objects written under the job's folder as soon as it is accepted."""
        return []

    @abstractmethod
    def render(
        self, job: Job, cancelled: Callable[[], bool], *, fast: bool = False
    ) -> Files | None:
        """Render and return the objects of a successful job (None if cancelled).

        ``fast`` (load-test mode): the videos are the renderer's one cached encode for
        their shape (:func:`~novareel.emulator.render.fast_video`), not this job's.
        """

    @abstractmethod
    def failed_files(self, job: Job, failure: PlannedFailure) -> Files:
        """Objects written when the job ends Failed."""

    @abstractmethod
    def failure_message(self, failure: PlannedFailure) -> str:
        """GetAsyncInvoke's ``failureMessage`` for a planned failure."""


@dataclass(frozen=True)
class ModelFamily:
    """A registered family: its models and its ``modelInput`` validator."""

    name: str
    models: tuple[ModelInfo, ...]
    validate_input: Callable[[dict[str, Any], InputContext], JobPlan]


# -- helpers shared by the family validators ------------------------------------------


def parse_s3_uri(uri: Any, field_name: str) -> tuple[str, str]:
    """Split an output/input ``s3://`` URI into (bucket, key-or-prefix)."""
    if not isinstance(uri, str) or not 1 <= len(uri) <= 1024:
        raise validation(f"{field_name} must be a string of 1-1024 characters")
    m = _S3_URI_RE.fullmatch(uri)
    if not m:
        raise validation(f"{field_name} {uri!r} does not match s3://bucket[/prefix]")
    return m.group(1), (m.group(2) or "/")[1:]


def show(value: Any) -> str:
    """A JSON value as the caller wrote it (``"5s"`` vs ``5``, ``true`` vs ``"true"``)."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_text(value: Any, field_name: str, max_len: int) -> str:
    """A string of 1..max_len characters (whitespace counts: the same rule everywhere)."""
    if not isinstance(value, str) or not 1 <= len(value) <= max_len:
        raise validation(f"{field_name} must be a string of 1-{max_len} characters")
    return value


def decode_base64(value: Any, name: str, what: str = "image") -> bytes:
    """Strict base64 (no stray characters), at most :data:`MAX_IMAGE_BYTES` decoded
    (25 MB: an image of the video models, and a video given inline to Nova 2 Lite)."""
    if not isinstance(value, str) or not value:
        raise validation(f"{name} must be a non-empty base64 string")
    if len(value) > (MAX_IMAGE_BYTES * 4) // 3 + 4:
        raise validation(f"{name}: the {what} is larger than 25 MB")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise validation(f"{name} is not valid base64") from exc
    if len(data) > MAX_IMAGE_BYTES:
        raise validation(f"{name}: the {what} is larger than 25 MB")
    return data


def sniff_image(data: bytes) -> str | None:
    """``"png"`` or ``"jpeg"`` from the magic bytes, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return None


def open_image(data: bytes, name: str) -> tuple[tuple[int, int], str, tuple[int, int] | None]:
    """Decode fully: (size, mode, alpha extrema or None); ValidationException if broken."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            alpha = im.getchannel("A").getextrema() if im.mode == "RGBA" else None
            return im.size, im.mode, alpha  # type: ignore[return-value]
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise validation(f"{name}: the image cannot be decoded") from exc


def check_blocked_input(texts: Sequence[str], words: Sequence[str]) -> None:
    lowered = "\n".join(texts).lower()
    if any(w and w.lower() in lowered for w in words):
        raise validation(BLOCKED_INPUT_MESSAGE)


def failure_text(failure: PlannedFailure) -> str:
    """The blocked-output message for an RAI failure, else the failure's own message."""
    if failure.failure_type == "RAI_VIOLATION_OUTPUT_VIDEO_DEFLECTION":
        return BLOCKED_OUTPUT_MESSAGE
    return failure.message
