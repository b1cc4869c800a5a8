"""Amazon Nova Reel (v1:0, v1:1): every rule of the contract, checked locally, no I/O.

Both versions reached end of life on 2026-09-30 (Legacy since 2026-03-30): the facts
are here so that novareel says so before a call, and ``novareel doctor`` /
``novareel models`` confirm them with the account's control plane.

One family, three modules: :mod:`.contract` (the facts: ids, lifecycle, prices, the
contract's limits, task types, cost, the generation-time prior), :mod:`.requests`
(the three request types, their validation and ``modelInput``, and
:func:`build_request`) and :mod:`.family` (:class:`NovaReelFamily`, what the
registry asks). Every name is re-exported here, as when this was one module.
"""

from novareel.models.base import MAX_IMAGE_BYTES  # one limit for every family
from novareel.models.nova_reel.contract import (
    AUTOMATED_LENGTHS,
    AUTOMATED_LIMIT,
    DEFAULT_MODEL,
    DEFAULT_SEED,
    DIMENSION,
    FPS,
    FRAME_RULES,
    GENERATION_TIME_POINTS,
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
    MODELS,
    PRICE_PER_SECOND_USD,
    SHOT_SECONDS,
    TASK_ALIASES,
    TEXT_VIDEO_SECONDS,
    WIDTH,
    TaskType,
    estimate_cost_usd,
    expected_seconds_for,
    parse_task_type,
)
from novareel.models.nova_reel.family import FAMILY, NovaReelFamily
from novareel.models.nova_reel.requests import (
    MultiShotAutomated,
    MultiShotManual,
    NovaRequest,
    TextVideo,
    VideoRequest,
    build_request,
)

__all__ = [
    "AUTOMATED_LENGTHS",
    "AUTOMATED_LIMIT",
    "DEFAULT_MODEL",
    "DEFAULT_SEED",
    "DIMENSION",
    "FAMILY",
    "FPS",
    "FRAME_RULES",
    "GENERATION_TIME_POINTS",
    "HEIGHT",
    "KNOWN_MODELS",
    "MAX_AUTOMATED_SECONDS",
    "MAX_IMAGE_BYTES",
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
    "MultiShotAutomated",
    "MultiShotManual",
    "NovaReelFamily",
    "NovaRequest",
    "TaskType",
    "TextVideo",
    "VideoRequest",
    "build_request",
    "estimate_cost_usd",
    "expected_seconds_for",
    "parse_task_type",
]
