"""A third video model family, as a test registers it: everything it adds is in this
module, including a NEW option (``style``) that no built-in family has. The proof in
``test_family_options.py`` is that this declaration alone makes ``--style`` a flag of
``generate``, a property of the MCP ``generate_video`` schema, a batch-file key and a
``RequestSpec`` keyword, each reaching the request and each naming a bad value in its
own door's words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from novareel.foundation.errors import InvalidRequestError, Problem
from novareel.models.base import (
    FrameRules,
    GenerateOptions,
    Lifecycle,
    ModelInfo,
    Option,
    RequestBase,
    StartingFrame,
    VideoShape,
    text_problems,
    unsupported_option_problems,
)

MODEL_ID = "fake.styled-v1:0"
STYLES = ("noir", "pastel", "claymation")

#: The new option, declared once (name, kind, allowed values, default, help).
STYLE = Option(
    "style",
    "choice",
    "Styled Fake: the look, noir | pastel (default) | claymation.",
    choices=STYLES,
    default="pastel",
)
DURATION = Option("duration", "integer", "Styled Fake 4 (only).", fields=("duration_seconds",))

INFO = ModelInfo(
    model_id=MODEL_ID,
    family="styled-fake",
    name="Styled Fake",
    provider="Tests",
    regions=("us-east-1",),
    lifecycle=Lifecycle(),
    price_usd_per_second={"*": 0.01},
    task_types=("TEXT_VIDEO",),
    aliases=("styled-fake",),
)


@dataclass(frozen=True)
class StyledVideo(RequestBase):
    prompt: str
    style: str = "pastel"
    duration: int = 4
    model_id: str = MODEL_ID
    task_type: str = "TEXT_VIDEO"
    seed: int | None = None

    @property
    def duration_seconds(self) -> int:
        return self.duration

    @property
    def estimated_cost_usd(self) -> float:
        return round(INFO.price_for() * self.duration, 2)

    @property
    def frames(self) -> list[StartingFrame]:
        return []

    @property
    def shape(self) -> VideoShape:
        return VideoShape(640, 360, 24, self.duration)

    def problems(self) -> list[Problem]:
        found = text_problems("prompt", self.prompt, 500)
        if self.style not in STYLES:
            shown = " | ".join(STYLES)
            found.append(
                Problem(
                    "style", f"{self.style!r} is not one of {shown}", value=self.style, limit=shown
                )
            )
        if self.duration != 4:
            found.append(
                Problem("duration", "Styled Fake makes 4 s", value=self.duration, limit="4")
            )
        return found

    def _body(self, describe: bool) -> dict[str, Any]:
        return {"text": self.prompt, "style": self.style, "seconds": self.duration}


class StyledFamily:
    name = "Styled Fake"
    models = (INFO,)
    options = (STYLE, DURATION)
    video_name = "output.mp4"
    status_files: tuple[str, ...] = ()
    retryable_failures: frozenset[str] = frozenset()
    multi_shot = False
    generation_prior_source = "a test"

    def frame_rules_for(self, options: GenerateOptions) -> FrameRules:
        return FrameRules(model_name="Styled Fake", size=None)

    def build(self, options: GenerateOptions) -> StyledVideo:
        found = unsupported_option_problems(self, INFO, options)  # type: ignore[arg-type]
        request = StyledVideo(
            options.prompt or "",
            style=options.value("style") or STYLE.default,
            duration=4 if options.duration is None else options.duration,
        )
        found.extend(request.problems())
        if found:
            raise InvalidRequestError(found)
        return request

    def build_shots(self, options: GenerateOptions) -> list[Any]:
        raise InvalidRequestError(Problem("shots", "Styled Fake takes no shots"))

    def rebuild(self, recorded: Any, **_: Any) -> StyledVideo:
        return StyledVideo(recorded.body["text"], style=recorded.body["style"])

    def expected_generation_seconds(self, model_id: str, shape: VideoShape) -> float:
        return 10.0

    def shape_from_body(self, body: dict[str, Any], duration: int | None) -> VideoShape:
        return VideoShape(640, 360, 24, 4)


FAMILY = StyledFamily()
