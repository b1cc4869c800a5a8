"""Nova Reel's facts and the limits of its contract: ids, lifecycle, prices, lengths,
text and seed limits, the frame rules, the task types, cost and the generation-time
prior. Data and small pure functions; the rules that use them are in :mod:`.requests`.
"""

from __future__ import annotations

import itertools
from datetime import date
from enum import Enum

from novareel.foundation.errors import InvalidRequestError, Problem
from novareel.models.base import FrameRules, Lifecycle, ModelInfo

#: What the package re-exports (``from novareel.models.nova_reel import MAX_SEED``).
__all__ = [
    "AUTOMATED_LENGTHS",
    "AUTOMATED_LIMIT",
    "DEFAULT_MODEL",
    "DEFAULT_SEED",
    "DIMENSION",
    "FPS",
    "FRAME_RULES",
    "GENERATION_TIME_POINTS",
    "HEIGHT",
    "KNOWN_MODELS",
    "MAX_AUTOMATED_SECONDS",
    "MAX_LONG_TEXT",
    "MAX_SEED",
    "MAX_SHORT_TEXT",
    "MAX_SHOTS",
    "MIN_AUTOMATED_SECONDS",
    "MIN_SEED",
    "MIN_SHOTS",
    "MODELS",
    "MODEL_V1_0",
    "MODEL_V1_1",
    "PRICE_PER_SECOND_USD",
    "SHOT_SECONDS",
    "TASK_ALIASES",
    "TEXT_VIDEO_SECONDS",
    "WIDTH",
    "TaskType",
    "estimate_cost_usd",
    "expected_seconds_for",
    "parse_task_type",
]

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
BY_ID = {m.model_id: m for m in MODELS}

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

#: Starting frames: exactly 1280x720, PNG or JPEG, by bytes or by S3 reference.
FRAME_RULES = FrameRules(model_name="Nova Reel", size=(WIDTH, HEIGHT), s3_sources=True)

#: (seconds of video, seconds of generation) observed on the real service (seed lab,
#: us-east-1, 2025). AWS's guide now says ~90 s for 6 s and 14-17 min for 120 s: this
#: is a prior, not a promise: the waiter backs off when a job runs past it, and once
#: a few of the user's own jobs of a length have finished, ``novareel.limits.expectations``
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
            "task",
            f"unknown task type {value!r}; use text, auto or manual",
            value=value,
            limit="text | auto | manual (TEXT_VIDEO | MULTI_SHOT_AUTOMATED | MULTI_SHOT_MANUAL)",
        )
    )


def estimate_cost_usd(model_id: str, duration_seconds: int) -> float:
    """Nova Reel's price of a job: seconds of video times the per-second price.

    The family's own, for its requests: an id that is not a Nova Reel model (refused
    by validation anyway) is priced as v1:1, the family's only price. The public
    ``novareel.estimate_cost_usd`` is the registry's
    (:func:`novareel.models.estimate_cost_usd`), right for every model; both compute
    with :meth:`ModelInfo.cost_usd`.
    """
    info = BY_ID.get(model_id, BY_ID[DEFAULT_MODEL])
    return info.cost_usd(duration_seconds)
