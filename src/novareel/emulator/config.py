"""Emulator settings: speed, quotas, submit rate, filter words, model states, render mode.

A plain dataclass so it can be passed to :class:`EmulatorServer`, changed at runtime via
``POST /_emulator/config`` and restored by ``POST /_emulator/reset``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from novareel.emulator.catalog import ACTIVE, ALIASES, check_states
from novareel.emulator.latency import (
    DEFAULT_PRESET,
    DEFAULT_SCALE,
    DEFAULT_SEED,
    DEFAULT_SPREAD,
    LatencyModel,
    check_preset,
)
from novareel.emulator.models import MODELS

#: Port the CLI's ``novareel emulator`` listens on by default.
DEFAULT_PORT = 5899
#: Default time compression: a 6 s job (76 s on the real service) takes ~3 s.
DEFAULT_SPEED = 25.0
#: The account every ARN and S3 backend uses (moto's default account).
ACCOUNT_ID = "123456789012"
#: S3 objects larger than this many bytes are kept in a temporary file, not in RAM
#: (moto's own ``MOTO_S3_DEFAULT_KEY_BUFFER_SIZE``; moto's default is ~5 MB, which keeps
#: every video in memory). 64 KiB keeps manifests and status files in RAM.
DEFAULT_S3_KEY_BUFFER_SIZE = 64 * 1024
#: ``render`` modes: the preview renderer per job, or one cached encode per video shape.
RENDER_MODES = ("full", "fast")
#: What StartAsyncInvoke raises when a model's concurrent-job quota is full. The API
#: lists both; the default is what users saw on AWS (the seed lab: rapid submits "trigger
#: ThrottlingException or ServiceUnavailableException"), so a client that only handles
#: ServiceQuotaExceededException is caught out here as it would be there.
QUOTA_ERRORS = ("ThrottlingException", "ServiceQuotaExceededException")
DEFAULT_QUOTA_ERROR = QUOTA_ERRORS[0]
#: Short spellings accepted for ``quota_error`` (config, control endpoint, flags).
QUOTA_ERROR_ALIASES = {
    "throttling": "ThrottlingException",
    "service-quota-exceeded": "ServiceQuotaExceededException",
}


def check_quota_error(value: Any) -> str:
    """A ``quota_error`` value (a code or its short spelling) -> the error code."""
    if isinstance(value, str):
        code = QUOTA_ERROR_ALIASES.get(value.strip().lower(), value.strip())
        if code in QUOTA_ERRORS:
            return code
    allowed = [*QUOTA_ERRORS, *QUOTA_ERROR_ALIASES]
    raise ValueError(f"quota_error {value!r} is not valid: must be one of {', '.join(allowed)}")


#: Keys that shape the latency model (a change restarts its seeded sequence).
LATENCY_KEYS = ("latency", "latency_scale", "latency_spread", "latency_seed")


def _default_quotas() -> dict[str, int]:
    # Each family module's default (UNCERTAIN upstream): Nova Reel v1:1 3, v1:0 10
    # (contract section 4), Luma Ray 2 3.
    return {model_id: info.default_quota for model_id, info in MODELS.items()}


def _by_full_id(quotas: dict[str, int]) -> dict[str, int]:
    """Quotas keyed by full model id: an alias (``nova-reel``) names its model."""
    return {ALIASES.get(k.lower(), k) if isinstance(k, str) else k: v for k, v in quotas.items()}


def _default_states() -> dict[str, str]:
    return {model_id: ACTIVE for model_id in MODELS}


@dataclass
class EmulatorConfig:
    """Everything that can be tuned on a running emulator.

    ``submit_rate`` is a token bucket refilled at that many StartAsyncInvoke calls per
    second with room for ``submit_burst``; ``0`` switches the limit off.
    ``model_states`` maps every model id to its lifecycle/access state (see
    ``catalog.py``); ``read_only_buckets`` are S3 buckets whose objects clients cannot
    write or delete (S3 ``AccessDenied``); the emulator's own job outputs still land.
    ``render`` is ``"full"`` (the preview renderer, ~1 CPU-second per shot) or
    ``"fast"`` (load tests: every video of a shape is one cached encode);
    ``s3_key_buffer_size`` is the size above which moto keeps an object on disk.
    ``latency`` (a preset of ``latency.py``), ``latency_scale``, ``latency_spread``
    (log-normal sigma) and ``latency_seed`` give each job its real-service duration,
    which ``speed`` then compresses. ``quota_error`` is the code a submit beyond the
    concurrent-job quota gets (one of :data:`QUOTA_ERRORS`, or ``"throttling"`` /
    ``"service-quota-exceeded"``). Rate and quota are per region, as on AWS.
    """

    speed: float = DEFAULT_SPEED
    quotas: dict[str, int] = field(default_factory=_default_quotas)
    submit_rate: float = 5.0
    submit_burst: int = 5
    blocked_input_words: list[str] = field(default_factory=lambda: ["blocked-input"])
    blocked_output_words: list[str] = field(default_factory=lambda: ["blocked-output"])
    render_workers: int = 2
    model_states: dict[str, str] = field(default_factory=_default_states)
    read_only_buckets: list[str] = field(default_factory=list)
    render: str = "full"
    s3_key_buffer_size: int = DEFAULT_S3_KEY_BUFFER_SIZE
    latency: str = DEFAULT_PRESET
    latency_scale: float = DEFAULT_SCALE
    latency_spread: float = DEFAULT_SPREAD
    latency_seed: int = DEFAULT_SEED
    quota_error: str = DEFAULT_QUOTA_ERROR

    def __post_init__(self) -> None:
        self.latency_model()  # raises ValueError for a bad preset, scale or spread
        self.quota_error = check_quota_error(self.quota_error)
        # A partial mapping means "these models; every other one active".
        self.model_states = {**_default_states(), **check_states(self.model_states)}
        self.quotas = _by_full_id(self.quotas)
        if self.render not in RENDER_MODES:
            raise ValueError(f"render must be one of {', '.join(RENDER_MODES)}")
        if (
            isinstance(self.s3_key_buffer_size, bool)
            or not isinstance(self.s3_key_buffer_size, int)
            or self.s3_key_buffer_size < 1
        ):
            # moto treats 0 as "its default" and SpooledTemporaryFile 0 as "never spill".
            raise ValueError("s3_key_buffer_size must be a positive integer (bytes)")

    def latency_model(self) -> LatencyModel:
        """A fresh latency model (its seeded sequence starts over) for these settings."""
        return LatencyModel(
            self.latency, self.latency_scale, self.latency_spread, self.latency_seed
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (used by ``GET /_emulator/config``)."""
        return dataclasses.asdict(self)

    def copy(self) -> EmulatorConfig:
        """A deep copy, so a saved default is never mutated by a runtime update."""
        return EmulatorConfig(**self.to_dict())

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial update; unknown keys or wrong types raise ``ValueError``.

        ``quotas`` and ``model_states`` are merged per model rather than replaced, so a
        test can change one model's setting without restating the others.
        """
        known = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        new = self.to_dict()
        for key, value in changes.items():
            if key == "quotas":
                if not isinstance(value, dict) or not all(
                    isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
                    for k, v in value.items()
                ):
                    raise ValueError("quotas must map model ids to integers")
                new["quotas"] = {**new["quotas"], **_by_full_id(value)}
            elif key == "model_states":
                new["model_states"] = {**new["model_states"], **check_states(value)}
            elif key in ("blocked_input_words", "blocked_output_words", "read_only_buckets"):
                if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
                    raise ValueError(f"{key} must be a list of strings")
                new[key] = list(value)
            elif key == "render":
                if value not in RENDER_MODES:
                    raise ValueError(f"render must be one of {', '.join(RENDER_MODES)}")
                new[key] = value
            elif key == "latency":
                if not isinstance(value, str):
                    raise ValueError("latency must be a preset name")
                new[key] = check_preset(value)
            elif key == "quota_error":
                new[key] = check_quota_error(value)
            elif key == "latency_seed":
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError("latency_seed must be an integer")
                new[key] = value
            elif key == "latency_scale":
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                    raise ValueError("latency_scale must be a positive number")
                new[key] = float(value)
            elif key in ("speed", "submit_rate", "latency_spread"):
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    raise ValueError(f"{key} must be a non-negative number")
                new[key] = float(value)
            else:
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"{key} must be a non-negative integer")
                if key == "render_workers" and value < 1:
                    raise ValueError("render_workers must be at least 1")
                if key == "s3_key_buffer_size" and value < 1:
                    raise ValueError("s3_key_buffer_size must be a positive integer (bytes)")
                new[key] = value
        EmulatorConfig(**new)  # whole-config checks (e.g. a finite scale) before applying
        for key, value in new.items():
            setattr(self, key, value)
