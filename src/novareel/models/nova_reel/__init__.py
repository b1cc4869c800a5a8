"""Amazon Nova Reel (v1:0, v1:1): every rule of the contract, checked locally, no I/O."""

from novareel.models.nova_reel.requests import *  # noqa: F403
from novareel.models.nova_reel.requests import (  # noqa: F401
    GENERATION_TIME_POINTS,
    MAX_LONG_TEXT,
    MAX_SHORT_TEXT,
    MAX_SHOTS,
    MIN_SEED,
    MIN_SHOTS,
    SHOT_SECONDS,
    __all__,
    expected_seconds_for,
)
