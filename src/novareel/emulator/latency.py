"""How long a Nova Reel job takes: a piecewise-linear model of the seed lab's measurements.

The real service took ~76 s for a 6 s clip, 150 s for 18 s, 350 s for 60 s and 510 s
for 120 s of video (us-east-1, seed lab 002). The emulator interpolates between those
points (and extrapolates the last segment's slope beyond them), then divides by
``speed`` so tests can run a "real" job in well under a second while keeping the
relative shape: longer videos take longer, but less time per second of video.

Other model families have their own model of real latency in their module (e.g.
``models/luma_ray.py``); :func:`scaled` applies the same speed factor to all of them.
"""

from __future__ import annotations

import itertools

#: (seconds of video, seconds of generation) measured on the real service.
MEASUREMENTS: tuple[tuple[float, float], ...] = (
    (6.0, 76.0),
    (18.0, 150.0),
    (60.0, 350.0),
    (120.0, 510.0),
)


def real_latency(video_seconds: float) -> float:
    """Seconds the real service needs for ``video_seconds`` of video (speed 1)."""
    points = MEASUREMENTS
    if video_seconds <= points[0][0]:
        # Below the first measurement scale proportionally (never negative).
        return max(0.0, points[0][1] * video_seconds / points[0][0])
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if video_seconds <= x1:
            return y0 + (y1 - y0) * (video_seconds - x0) / (x1 - x0)
    (x0, y0), (x1, y1) = points[-2], points[-1]
    return y1 + (y1 - y0) * (video_seconds - x1) / (x1 - x0)


def scaled(real_seconds: float, speed: float) -> float:
    """Wall-clock seconds for a job that takes ``real_seconds`` on the real service.

    ``speed`` <= 0 is treated as "instant" (0 s): the job completes as soon as its
    preview has been rendered.
    """
    if speed <= 0:
        return 0.0
    return real_seconds / speed


def job_latency(video_seconds: float, speed: float) -> float:
    """Wall-clock seconds a Nova Reel job stays InProgress at the given speed."""
    return scaled(real_latency(video_seconds), speed)
