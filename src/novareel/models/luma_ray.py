"""Luma Ray 2 (``luma.ray-v2:0``): text (and keyframes) to a 5 s or 9 s video. No I/O.

Ray 2 runs on Bedrock's async API like Nova Reel but takes a flat ``modelInput``::

    {"prompt": "...", "aspect_ratio": "16:9", "duration": "5s",
     "resolution": "720p", "loop": false}

Every field is sent explicitly, even at its default: AWS's page gives the values but
the defaults are uncertain, and a user pays for what they see in ``--dry-run``.

Choices where the public record is uncertain (docs/models.md says the same):

* **Image input** is documented by peers (promptfoo), not by AWS: Luma's own
  ``keyframes: {frame0, frame1}``, each ``{"type": "image", "source": {"type":
  "base64", "media_type": "image/png"|"image/jpeg", "data": ...}}``. Offered with a
  notice. No size rule is documented, so any size is sent; ``--fit`` fits an image to
  the video's own pixel size. S3 references have no documented form: refused.
* **Pixel size:** the resolution is the *short* side (720p 9:16 is 720x1280), the
  reading that keeps every size even for H.264. One table, :data:`PIXELS`.
* **Frame rate:** 24 fps.
* **Price:** $0.75/s at 540p, $1.50/s at 720p (pwshBedrock's table; medium
  confidence), billed through AWS Marketplace (an agreement must be accepted).
* **Generation time:** no published figure; the prior below is a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from novareel.foundation.errors import InvalidRequestError, Problem
from novareel.models.base import (
    IMAGE,
    SHOTS,
    FrameLoader,
    FrameRules,
    GenerateOptions,
    ImageInput,
    Lifecycle,
    ModelInfo,
    Option,
    RecordedRequest,
    RequestBase,
    StartingFrame,
    VideoRequest,
    VideoShape,
    built_with,
    frame_of,
    is_whole_number,
    model_id_problems,
    read_image,
    text_problems,
    unsupported_option_problems,
)

MODEL_RAY_V2 = "luma.ray-v2:0"
MAX_PROMPT = 5000
ASPECT_RATIOS = ("1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "9:21")
RESOLUTIONS = ("540p", "720p")
DURATIONS = (5, 9)
DEFAULT_ASPECT_RATIO = "16:9"
DEFAULT_RESOLUTION = "720p"
DEFAULT_DURATION = 5
FPS = 24

#: Pixel size per (aspect ratio, resolution): the resolution is the short side.
PIXELS: dict[tuple[str, str], tuple[int, int]] = {
    ("16:9", "540p"): (960, 540),
    ("9:16", "540p"): (540, 960),
    ("1:1", "540p"): (540, 540),
    ("4:3", "540p"): (720, 540),
    ("3:4", "540p"): (540, 720),
    ("21:9", "540p"): (1260, 540),
    ("9:21", "540p"): (540, 1260),
    ("16:9", "720p"): (1280, 720),
    ("9:16", "720p"): (720, 1280),
    ("1:1", "720p"): (720, 720),
    ("4:3", "720p"): (960, 720),
    ("3:4", "720p"): (720, 960),
    ("21:9", "720p"): (1680, 720),
    ("9:21", "720p"): (720, 1680),
}

#: Seconds of generation per job on the real service: no published figure. promptfoo
#: waits up to 10 minutes "(Luma takes longer)"; this prior says ~2-3 minutes. It is a
#: guess: the waiter's schedule backs off when a job runs past it, and once a few of
#: the user's own jobs of a length have finished, ``novareel.limits.expectations`` expects
#: what they took instead.
GENERATION_SECONDS: dict[tuple[int, str], float] = {
    (5, "540p"): 100.0,
    (5, "720p"): 120.0,
    (9, "540p"): 160.0,
    (9, "720p"): 190.0,
}

INFO = ModelInfo(
    model_id=MODEL_RAY_V2,
    family="luma-ray",
    name="Luma Ray 2",
    provider="Luma AI",
    regions=("us-west-2",),
    lifecycle=Lifecycle(
        launched=date(2025, 1, 23),
        source="Bedrock model card (Active; no end of life announced)",
    ),
    price_usd_per_second={"540p": 0.75, "720p": 1.50},
    task_types=("TEXT_VIDEO", "IMAGE_VIDEO"),
    aliases=("luma-ray2", "luma-ray-v2", "ray2"),
    concurrency=3,
    marketplace=True,
    price_source="pwshBedrock's cost table (medium confidence); re-verify",
    notes=(
        "5 s or 9 s, 540p or 720p, seven aspect ratios, loop; start/end keyframes "
        "(not documented by AWS)",
    ),
)
MODELS: tuple[ModelInfo, ...] = (INFO,)

IMAGE_NOTICE = (
    "AWS does not document image input for Luma Ray 2: the image is sent as Luma's "
    "keyframes ({frame0|frame1: {type: image, source: base64}}) as public tools do; "
    "the service may refuse or ignore it"
)

#: The options Luma Ray 2 takes (its own, and the shared ``IMAGE`` and ``SHOTS`` of
#: ``models.base``): each door (flags, MCP schema, batch keys, ``RequestSpec``) is
#: derived from these, and any other option given is refused.
DURATION_OPTION = Option(
    "duration", "integer", "Luma Ray 2 5 or 9 (per shot).", fields=("duration_seconds",)
)
END_IMAGE = Option("end_image", "image", "Luma Ray 2: the last frame (PNG/JPEG path).")
ASPECT_RATIO = Option(
    "aspect_ratio",
    "choice",
    "Luma Ray 2: 16:9 (default) | 9:16 | 1:1 | 4:3 | 3:4 | 21:9 | 9:21.",
    choices=ASPECT_RATIOS,
    default=DEFAULT_ASPECT_RATIO,
)
RESOLUTION = Option(
    "resolution",
    "choice",
    "Luma Ray 2: 540p | 720p (default).",
    choices=RESOLUTIONS,
    default=DEFAULT_RESOLUTION,
)
LOOP = Option("loop", "flag", "Luma Ray 2: the end blends into the start.", default=False)
OPTIONS: tuple[Option, ...] = (
    DURATION_OPTION,
    IMAGE,
    END_IMAGE,
    SHOTS,
    ASPECT_RATIO,
    RESOLUTION,
    LOOP,
)

_MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg"}


def _enum_problem(field_name: str, value: object, allowed: tuple[Any, ...]) -> Problem:
    shown = " | ".join(str(a) for a in allowed)
    return Problem(field_name, f"{value!r} is not one of {shown}", value=value, limit=shown)


def _keyframe(frame: StartingFrame, describe: bool) -> dict[str, Any]:
    if describe:
        return {"type": "image", "source": frame.describe()}
    return {
        "type": "image",
        "source": {
            "type": "base64",
            "media_type": _MEDIA_TYPES[frame.format],
            "data": frame.base64,
        },
    }


def frame_rules(aspect_ratio: str | None, resolution: str | None) -> FrameRules:
    """What Ray 2 takes as a keyframe: any size (none is documented), bytes only (an
    S3 reference has no documented form); ``--fit`` fits to the video's own size."""
    width_height = PIXELS.get(
        (aspect_ratio or DEFAULT_ASPECT_RATIO, resolution or DEFAULT_RESOLUTION)
    )
    return FrameRules(model_name="Luma Ray 2", size=None, s3_sources=False, fit_size=width_height)


@dataclass(frozen=True)
class RayVideo(RequestBase):
    """One Luma Ray 2 job: a prompt, its shape, and optional start/end keyframes.

    ``start_frame`` and ``end_frame`` (``--image`` and ``--end-image``, named ``image``
    and ``end_image`` in messages) are :class:`StartingFrame` objects, or paths read
    and checked when the request is built, as the command line reads them. An invalid
    request is never built: :class:`~novareel.foundation.errors.InvalidRequestError` names every
    problem.
    """

    prompt: str
    aspect_ratio: str = DEFAULT_ASPECT_RATIO
    resolution: str = DEFAULT_RESOLUTION
    duration: int = DEFAULT_DURATION
    loop: bool = False
    start_frame: ImageInput | None = None
    end_frame: ImageInput | None = None
    model_id: str = MODEL_RAY_V2

    def __post_init__(self) -> None:
        errors: list[InvalidRequestError] = []
        rules = frame_rules(self.aspect_ratio, self.resolution)
        for attribute, name in (("start_frame", "image"), ("end_frame", "end_image")):
            read = read_image(getattr(self, attribute), name, rules, errors)
            object.__setattr__(self, attribute, read)
        self._check(errors)

    @property
    def task_type(self) -> str:
        return "IMAGE_VIDEO" if self.frames else "TEXT_VIDEO"

    @property
    def seed(self) -> None:
        return None

    @property
    def duration_seconds(self) -> int:
        return self.duration

    @property
    def frames(self) -> list[StartingFrame]:
        return [f for f in map(frame_of, (self.start_frame, self.end_frame)) if f is not None]

    @property
    def shape(self) -> VideoShape:
        width, height = PIXELS.get(
            (self.aspect_ratio, self.resolution), PIXELS[(DEFAULT_ASPECT_RATIO, DEFAULT_RESOLUTION)]
        )
        return VideoShape(width, height, FPS, self.duration)

    @property
    def estimated_cost_usd(self) -> float:
        """The registry's price (:meth:`ModelInfo.cost_usd`): by resolution and length."""
        return INFO.cost_usd(self.duration, self.resolution)

    def problems(self) -> list[Problem]:
        found = text_problems("prompt", self.prompt, MAX_PROMPT)
        if self.aspect_ratio not in ASPECT_RATIOS:
            found.append(_enum_problem("aspect_ratio", self.aspect_ratio, ASPECT_RATIOS))
        if self.resolution not in RESOLUTIONS:
            found.append(_enum_problem("resolution", self.resolution, RESOLUTIONS))
        if not is_whole_number(self.duration) or self.duration not in DURATIONS:
            found.append(
                Problem(
                    "duration",
                    f"{self.duration!r} s is not a Luma Ray 2 length; allowed: "
                    + " or ".join(f"{d} s" for d in DURATIONS),
                    value=self.duration,
                    limit="5 | 9 (seconds)",
                )
            )
        if not isinstance(self.loop, bool):
            found.append(Problem("loop", "must be true or false", value=self.loop))
        for name, frame in (
            ("image", frame_of(self.start_frame)),
            ("end_image", frame_of(self.end_frame)),
        ):
            if frame is None:
                continue
            found.extend(frame.problems(name))
            if frame.s3_uri is not None:
                found.append(
                    Problem(
                        name,
                        "Luma Ray 2 keyframes are sent as bytes; an s3:// image has no "
                        "documented form",
                        value=frame.s3_uri,
                        limit="a local PNG or JPEG file",
                    )
                )
        found.extend(model_id_problems(self.model_id))
        if not found and self.model_id != MODEL_RAY_V2:
            found.append(
                Problem(
                    "model_id",
                    f"{self.model_id!r} is not a Luma Ray model",
                    value=self.model_id,
                    limit=MODEL_RAY_V2,
                )
            )
        return found

    def _body(self, describe: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "prompt": self.prompt,
            "aspect_ratio": self.aspect_ratio,
            "duration": f"{self.duration}s",
            "resolution": self.resolution,
            "loop": self.loop,
        }
        keyframes = {}
        start, end = frame_of(self.start_frame), frame_of(self.end_frame)
        if start is not None:
            keyframes["frame0"] = _keyframe(start, describe)
        if end is not None:
            keyframes["frame1"] = _keyframe(end, describe)
        if keyframes:
            body["keyframes"] = keyframes
        return body


def _given(value: str | None, default: str) -> str:
    """The user's value, even an empty one (refused later, never silently replaced)."""
    return default if value is None else value


def _duration_of(text: object) -> object:
    """``"5s"`` -> 5 (a recorded request), anything else unchanged (then refused)."""
    if isinstance(text, str) and text.endswith("s") and text[:-1].isdigit():
        return int(text[:-1])
    return text


class LumaRayFamily:
    """The Luma Ray family as the rest of novareel sees it (see ``models.base``)."""

    name = "Luma Ray"
    models = MODELS
    options = OPTIONS
    video_name = "output.mp4"
    status_files: tuple[str, ...] = ()
    #: Luma's failure types are undocumented: no failure is retried unchanged.
    retryable_failures: frozenset[str] = frozenset()
    multi_shot = False
    generation_prior_source = "a guess, no published figure"
    image_notice = IMAGE_NOTICE

    def frame_rules_for(self, options: GenerateOptions) -> FrameRules:
        return frame_rules(options.aspect_ratio, options.resolution)

    def _request(self, options: GenerateOptions, prompt: str | None, start: Any) -> RayVideo:
        return RayVideo(
            prompt=prompt or "",
            aspect_ratio=_given(options.aspect_ratio, DEFAULT_ASPECT_RATIO),
            resolution=_given(options.resolution, DEFAULT_RESOLUTION),
            duration=DEFAULT_DURATION if options.duration is None else options.duration,
            loop=bool(options.loop),
            start_frame=start,
            end_frame=options.end_image,
            model_id=options.model_id or MODEL_RAY_V2,
        )

    def build(self, options: GenerateOptions) -> RayVideo:
        """A checked Ray 2 request; every problem (and every foreign option) at once."""
        found = unsupported_option_problems(self, INFO, options)
        if options.shots:
            found.append(
                Problem(
                    "shots",
                    "Luma Ray 2 has no multi-shot job: a storyboard runs one job per shot",
                    value=len(options.shots),
                )
            )
        return built_with(found, lambda: self._request(options, options.prompt, options.image))

    def build_shots(self, options: GenerateOptions) -> list[VideoRequest]:
        """One Ray 2 job per shot, each ``--duration`` long, each with its own image.

        A shot's image is its start keyframe; ``--end-image`` and a prompt do not apply
        to a storyboard (which shot would they belong to?) and are refused.
        """
        found = unsupported_option_problems(self, INFO, options)
        if options.prompt:
            found.append(
                Problem(
                    "prompt",
                    "a storyboard takes one text per shot, not a prompt",
                    value=options.prompt,
                )
            )
        for name, value in (("image", options.image), ("end_image", options.end_image)):
            if value is not None:
                found.append(
                    Problem(
                        name,
                        "a storyboard puts images on shots, not on the whole video",
                        value=value.source,
                    )
                )
        shots = list(options.shots or [])
        if not shots:
            found.append(Problem("shots", "a storyboard needs at least one shot", value=0))
        requests: list[VideoRequest] = []
        for number, shot in enumerate(shots, start=1):
            try:
                requests.append(self._request(options, shot.text, shot.image))  # checked
                continue
            except InvalidRequestError as exc:
                shot_problems = exc.problems
            for problem in shot_problems:
                name = problem.field
                if name in ("prompt", "image"):
                    name = f"shots[{number}].{'text' if name == 'prompt' else 'image'}"
                elif number > 1:
                    continue  # the shared settings are reported once, for shot 1
                found.append(
                    Problem(name, problem.message, value=problem.value, limit=problem.limit)
                )
        if found:
            raise InvalidRequestError(found)
        return requests

    def rebuild(self, recorded: RecordedRequest, *, load_frame: FrameLoader) -> RayVideo:
        """The request a ledger row describes (``describe()`` form), keyframes reloaded."""
        model_id, body, duration = recorded.model_id, recorded.body, recorded.duration
        keyframes = body.get("keyframes") or {}
        rules = self.frame_rules_for(
            GenerateOptions(
                aspect_ratio=body.get("aspect_ratio"), resolution=body.get("resolution")
            )
        )

        def frame(key: str, name: str) -> StartingFrame | None:
            item = keyframes.get(key)
            if not isinstance(item, dict):
                return None
            return load_frame(item.get("source"), name, rules)

        request = RayVideo(
            prompt=body.get("prompt", ""),
            aspect_ratio=body.get("aspect_ratio", DEFAULT_ASPECT_RATIO),
            resolution=body.get("resolution", DEFAULT_RESOLUTION),
            duration=_duration_of(body.get("duration", f"{duration or DEFAULT_DURATION}s")),  # type: ignore[arg-type]
            loop=body.get("loop", False),
            start_frame=frame("frame0", "image"),
            end_frame=frame("frame1", "end_image"),
            model_id=model_id,
        )
        request.validate()
        return request

    def shape_from_body(self, body: dict[str, Any], duration: int | None) -> VideoShape:
        seconds = _duration_of(body.get("duration"))
        width, height = PIXELS.get(
            (str(body.get("aspect_ratio", DEFAULT_ASPECT_RATIO)), str(body.get("resolution"))),
            PIXELS[(DEFAULT_ASPECT_RATIO, DEFAULT_RESOLUTION)],
        )
        if not isinstance(seconds, int):
            seconds = duration or DEFAULT_DURATION
        return VideoShape(width, height, FPS, seconds)

    def expected_generation_seconds(self, model_id: str, shape: VideoShape) -> float:
        resolution = "540p" if min(shape.width, shape.height) <= 540 else "720p"
        return GENERATION_SECONDS.get(
            (shape.seconds, resolution), GENERATION_SECONDS[(9, "720p")] * shape.seconds / 9
        )


FAMILY = LumaRayFamily()

__all__ = [
    "ASPECT_RATIOS",
    "DURATIONS",
    "FAMILY",
    "IMAGE_NOTICE",
    "INFO",
    "MODELS",
    "MODEL_RAY_V2",
    "PIXELS",
    "RESOLUTIONS",
    "RayVideo",
    "frame_rules",
]
