"""Understanding models: models that read a video and answer in text (``novareel review``).

Amazon Nova 2 Lite is not a video model: it is kept out of the video registry
(:func:`novareel.models.get_model`, ``generate``, batches, storyboards, the MCP
server's video tools and ``models`` never offer it) and lives here with what
``review`` needs: its ids and inference profiles, its input limits, its prices and how
a video becomes input tokens. Sources and what could not be confirmed are in
``docs/qa.md`` (section "Sources"); each figure below names its source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from novareel.foundation.errors import InvalidRequestError, Problem


@dataclass(frozen=True)
class UnderstandingModel:
    """One model that reviews videos through InvokeModel (the ``messages-v1`` body)."""

    model_id: str
    name: str
    aliases: tuple[str, ...]
    #: Cross-Region inference profile ids by prefix; InvokeModel takes one of these.
    profiles: dict[str, str]
    default_profile: str
    #: Regions whose bedrock-runtime serves the ``us.`` profile (a source Region).
    regions: tuple[str, ...]
    usd_per_1k_input: float
    usd_per_1k_output: float
    video_formats: tuple[str, ...]
    max_inline_video_bytes: int
    max_s3_video_bytes: int
    max_output_tokens: int
    #: Frames sampled per second of video (AWS), the most frames sampled (AWS), and the
    #: input tokens assumed per sampled frame (novareel's assumption, see docs/qa.md).
    sample_fps: float
    max_frames: int
    tokens_per_frame: int

    def invoke_id(self, asked: str | None = None) -> str:
        """The id InvokeModel is called with: ``asked`` when it names one of the
        inference profiles (``global.amazon.nova-2-lite-v1:0``), else the default
        profile's (the bare model id has no on-demand throughput in any Region)."""
        text = (asked or "").strip()
        if text in self.profiles.values():
            return text
        return self.profiles[self.default_profile]

    def video_tokens(self, seconds: float) -> int:
        """Input tokens a video of ``seconds`` costs (frames sampled x tokens a frame)."""
        frames = min(self.max_frames, max(1, math.ceil(seconds * self.sample_fps)))
        return frames * self.tokens_per_frame

    @staticmethod
    def text_tokens(text: str) -> int:
        """An upper estimate of a text's tokens: one per 4 characters, rounded up."""
        return math.ceil(len(text) / 4)

    def cost_usd(self, input_tokens: int, output_tokens: int) -> float:
        return (
            input_tokens / 1000 * self.usd_per_1k_input
            + output_tokens / 1000 * self.usd_per_1k_output
        )


NOVA_2_LITE = UnderstandingModel(
    model_id="amazon.nova-2-lite-v1:0",
    name="Amazon Nova 2 Lite",
    aliases=("nova-2-lite", "nova2-lite"),
    # Nova 2 user guide, "Core inference": global. and us. ids (no in-Region id).
    profiles={
        "us": "us.amazon.nova-2-lite-v1:0",
        "global": "global.amazon.nova-2-lite-v1:0",
    },
    default_profile="us",
    # The seed page tests InvokeModel in us-east-1; the us. profile's other source
    # Regions are NOT confirmed by a source (docs/qa.md).
    regions=("us-east-1", "us-east-2", "us-west-2"),
    # $0.30 / $2.50 per million tokens: third-party listings (OpenRouter); AWS's own
    # pricing page could not be read here (docs/qa.md).
    usd_per_1k_input=0.0003,
    usd_per_1k_output=0.0025,
    # Nova 2 user guide, "Multimodal understanding": formats, 25 MB inline, 1 GB S3.
    video_formats=("mkv", "mov", "mp4", "webm", "three_gp", "flv", "mpeg", "mpg", "wmv"),
    max_inline_video_bytes=25 * 1000 * 1000,
    max_s3_video_bytes=1000 * 1000 * 1000,
    max_output_tokens=65535,
    # Nova user guide, "Video understanding": 1 frame per second up to 16 minutes, then
    # 960 frames. 288 tokens a frame is an assumption (not confirmed for Nova 2).
    sample_fps=1.0,
    max_frames=960,
    tokens_per_frame=288,
)

UNDERSTANDING_MODELS: tuple[UnderstandingModel, ...] = (NOVA_2_LITE,)
DEFAULT_REVIEW_MODEL = NOVA_2_LITE


def find_understanding_model(value: str | None) -> UnderstandingModel | None:
    """The understanding model for an id, alias or inference profile id, or None."""
    if value is None:
        return None
    text = value.strip()
    for model in UNDERSTANDING_MODELS:
        names = {model.model_id, *model.profiles.values()}
        if text in names or text.lower() in model.aliases:
            return model
    return None


def get_understanding_model(value: str | None, *, field: str = "--model-id") -> UnderstandingModel:
    """The model ``review`` uses (default Nova 2 Lite); InvalidRequestError otherwise."""
    if value is None:
        return DEFAULT_REVIEW_MODEL
    model = find_understanding_model(value)
    if model is None:
        known = " | ".join(n for m in UNDERSTANDING_MODELS for n in (m.model_id, *m.aliases))
        raise InvalidRequestError(
            Problem(
                field,
                f"{value!r} is not a model that can review videos (known: {known})",
                value=value,
                limit=known,
            )
        )
    return model


__all__ = [
    "DEFAULT_REVIEW_MODEL",
    "NOVA_2_LITE",
    "UNDERSTANDING_MODELS",
    "UnderstandingModel",
    "find_understanding_model",
    "get_understanding_model",
]
