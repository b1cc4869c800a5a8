"""How long a job takes on the emulator: a preset's median, a scale, and a per-job spread.

Real jobs do not end when a fixed table says: the same 6 s Nova Reel video took 76 s in
the seed lab (2025), AWS's Nova guide (2026) says ~90 s, another project saw 131 s. A
client tuned against an emulator whose jobs end exactly on its own prediction looks
better than it is, so the emulator draws each job's duration from a distribution:

* **preset** (``latency``): which source the median follows. ``lab-2025`` goes through
  the seed lab's points; ``aws-guide-2026`` through the guide's figures. Each model
  family keeps its points in its own module (``models/nova_reel.py``,
  ``models/luma_ray.py``) and answers ``plan.real_latency(preset)``.
* **scale** (``latency_scale``): multiplies the median (e.g. 1.8 = a slow day).
* **spread** (``latency_spread``): sigma of a log-normal factor, ``exp(sigma * Z)`` with
  ``Z ~ N(0, 1)``: the median stays the preset's, half the jobs are faster and half
  slower, and the tail is long on the slow side (sigma 0.25: 90 % of jobs between
  0.66x and 1.51x the median, 1 in 100 above 1.79x). ``0`` makes every job take the
  median exactly.
* **seed** (``latency_seed``): the draws come from a ``random.Random(seed)``, one per
  accepted job, so the n-th job accepted after a reset or a change of a latency
  setting always gets the same factor (the backend then builds a new model).

The real-service seconds are then divided by ``speed`` (:func:`scaled`), the separate
time compression: a job's due time is ``submit + latency / speed``. This module never
reads the client's timing priors (``novareel.models``): the emulator stands apart.
"""

from __future__ import annotations

import itertools
import math
import random
import threading
from collections.abc import Sequence
from typing import Protocol

#: The latency presets, named after their source.
LAB_2025 = "lab-2025"
AWS_GUIDE_2026 = "aws-guide-2026"
PRESETS = (LAB_2025, AWS_GUIDE_2026)
#: Default preset: the service's own current documentation, the slower of the two.
DEFAULT_PRESET = AWS_GUIDE_2026
#: Default log-normal sigma: real jobs vary; an emulator without spread flatters clients.
DEFAULT_SPREAD = 0.25
DEFAULT_SCALE = 1.0
DEFAULT_SEED = 0


class TimedPlan(Protocol):
    """What the latency model needs from a job plan (see ``models/base.py``)."""

    def real_latency(self, preset: str = DEFAULT_PRESET) -> float: ...


def check_preset(preset: str) -> str:
    """``preset`` if it is a known preset, else ``ValueError`` naming the choices."""
    if preset not in PRESETS:
        raise ValueError(f"latency must be one of {', '.join(PRESETS)}")
    return preset


def interpolate(points: Sequence[tuple[float, float]], x: float) -> float:
    """Piecewise-linear through ``points`` (sorted by x), the last slope extended beyond.

    Below the first point the value scales proportionally with x (never negative): a
    job of no video would take no time.
    """
    if x <= points[0][0]:
        return max(0.0, points[0][1] * x / points[0][0])
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    (x0, y0), (x1, y1) = points[-2], points[-1]
    return y1 + (y1 - y0) * (x - x1) / (x1 - x0)


def scaled(real_seconds: float, speed: float) -> float:
    """Wall-clock seconds for a job that takes ``real_seconds`` on the real service.

    ``speed`` <= 0 is treated as "instant" (0 s): the job completes as soon as its
    preview has been rendered.
    """
    if speed <= 0:
        return 0.0
    return real_seconds / speed


class LatencyModel:
    """One configuration's latency model: medians from a preset, seeded per-job draws.

    Thread-safe: submits from many request threads draw from one seeded sequence.
    """

    def __init__(
        self,
        preset: str = DEFAULT_PRESET,
        scale: float = DEFAULT_SCALE,
        spread: float = DEFAULT_SPREAD,
        seed: int = DEFAULT_SEED,
    ) -> None:
        self.preset = check_preset(preset)
        if not scale > 0 or not math.isfinite(scale):
            raise ValueError("latency_scale must be a positive number")
        if not spread >= 0 or not math.isfinite(spread):
            raise ValueError("latency_spread must be a non-negative number")
        self.scale = scale
        self.spread = spread
        self.seed = seed
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def median(self, plan: TimedPlan) -> float:
        """Real-service seconds of the job's median under this preset and scale."""
        return plan.real_latency(self.preset) * self.scale

    def factor(self) -> float:
        """The next job's log-normal factor (exactly 1.0 when the spread is 0)."""
        if self.spread == 0:
            return 1.0
        with self._lock:
            return self._rng.lognormvariate(0.0, self.spread)

    def draw(self, plan: TimedPlan) -> float:
        """Real-service seconds for the next accepted job (before ``speed``)."""
        return self.median(plan) * self.factor()
