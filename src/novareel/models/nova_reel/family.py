"""Nova Reel as the registry sees it: :class:`NovaReelFamily` answers what every family
answers (:class:`~novareel.models.base.ModelFamily`), from :mod:`.contract` and
:mod:`.requests`."""

from __future__ import annotations

from typing import Any

from novareel.foundation.errors import InvalidRequestError, Problem
from novareel.models.base import (
    IMAGE,
    SHOTS,
    FrameLoader,
    FrameRules,
    GenerateOptions,
    Option,
    RecordedRequest,
    Shot,
    VideoShape,
    built_with,
    unsupported_option_problems,
)
from novareel.models.base import (
    VideoRequest as AnyVideoRequest,
)
from novareel.models.nova_reel.contract import (
    BY_ID,
    DEFAULT_MODEL,
    DEFAULT_SEED,
    FPS,
    FRAME_RULES,
    HEIGHT,
    MIN_AUTOMATED_SECONDS,
    MODELS,
    SHOT_SECONDS,
    TEXT_VIDEO_SECONDS,
    WIDTH,
    expected_seconds_for,
)
from novareel.models.nova_reel.requests import (
    MultiShotAutomated,
    MultiShotManual,
    NovaRequest,
    TextVideo,
    build_request,
)

#: The options Nova Reel takes (its own, and the shared ``IMAGE`` and ``SHOTS`` of
#: ``models.base``): each door (flags, MCP schema, batch keys, ``RequestSpec``) is
#: derived from these, and any other option given is refused.
TASK = Option(
    "task",
    "choice",
    "Nova Reel: text | auto | manual (default: from the other options).",
    choices=("text", "auto", "manual"),
)
DURATION = Option(
    "duration",
    "integer",
    "Seconds: Nova Reel 6 (text) or a multiple of 6 in 12-120 (auto)",
    fields=("duration_seconds",),  # estimate_cost_usd's parameter
)
SEED = Option("seed", "integer", "Nova Reel: 0-2147483646 (default 42).", default=DEFAULT_SEED)
OPTIONS: tuple[Option, ...] = (TASK, DURATION, IMAGE, SHOTS, SEED)


class NovaReelFamily:
    """The Nova Reel family as the rest of novareel sees it (see ``models.base``)."""

    name = "Nova Reel"
    models = MODELS
    options = OPTIONS
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
        info = BY_ID.get(model_id, BY_ID[DEFAULT_MODEL])
        found = unsupported_option_problems(self, info, options)
        return built_with(
            found,
            lambda: build_request(
                options.prompt,
                task=options.task,
                duration=options.duration,
                image=options.image,
                shots=options.shots,
                seed=DEFAULT_SEED if options.seed is None else options.seed,
                model_id=model_id,
            ),
        )

    def rebuild(self, recorded: RecordedRequest, *, load_frame: FrameLoader) -> NovaRequest:
        """The request a ledger row describes (``describe()`` form), images reloaded."""
        model_id, body, duration = recorded.model_id, recorded.body, recorded.duration
        seed = recorded.seed
        task = body.get("taskType") or recorded.task_type
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
