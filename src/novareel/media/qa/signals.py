"""What the checks measure, decoded once: grey, downscaled statistics of every frame.

A download is read once, frame by frame, and only the luma plane is touched: each
decoded frame's Y plane is viewed without a copy and sampled every :data:`STEP` pixels
in both directions (1/64 of the pixels of a 1280x720 frame), which is enough for the
frame's brightness, the share of dark pixels and the motion between neighbours. The
first and last frames are also kept at a quarter of their size (area average, not
sampling), for the structural comparisons (loop seam, start/end images). Nothing is
converted to RGB and no scaler runs, so the check costs little more than the H.264
decode itself (``bench/bench_qa.py``, [benchmarks](../../../docs/benchmarks.md)).

PyAV and numpy are imported inside functions: importing this module is cheap.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from novareel.foundation.errors import InvalidRequestError, Problem

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

#: Sampling step of the per-frame statistics (every 8th pixel of every 8th row).
STEP = 8
#: Reduction of the frames kept for structural similarity (area average of 4x4 blocks).
SSIM_REDUCE = 4
#: Motion is measured against the frame this long before (1/6 s: 4 frames at 24 fps):
#: an encoder refining a held picture changes it by a little every frame, a move
#: accumulates over the lag, so the two are far apart (see checks.FROZEN_MOTION).
LAG_S = 1 / 6
#: A pixel at or below this luma (limited range: black 16, white 235) counts as dark.
DARK_LUMA = 32


@dataclass
class Signals:
    """Per-frame measures of one video and the facts of its stream.

    ``mean`` is each frame's mean luma (0-255 as coded), ``dark`` the share of its
    sampled pixels at or below :data:`DARK_LUMA`, ``motion`` the mean absolute luma
    difference from the previous frame (0 for the first), ``lagged`` the same from the
    frame ``lag`` frames before (0 for the first ``lag``); ``first``/``last`` are the
    first and last frames in full-range grey at 1/:data:`SSIM_REDUCE` size.
    """

    width: int
    height: int
    fps: float
    frames: int
    duration: float
    mean: npt.NDArray[np.float64]
    dark: npt.NDArray[np.float64]
    motion: npt.NDArray[np.float64]
    lagged: npt.NDArray[np.float64]
    lag: int
    first: npt.NDArray[np.float64]
    last: npt.NDArray[np.float64]


def _problem(path: str | os.PathLike[str], message: str) -> InvalidRequestError:
    return InvalidRequestError(
        Problem("video", f"{os.fspath(path)}: {message}", value=os.fspath(path))
    )


def _luma(frame: Any) -> npt.NDArray[np.uint8]:
    """The frame's Y plane as a (height, width) view of the decoder's buffer."""
    import numpy as np

    plane = frame.planes[0]
    rows = np.frombuffer(plane, np.uint8).reshape(frame.height, plane.line_size)
    return rows[:, : frame.width]


def reduce_grey(luma: npt.NDArray[Any], *, limited: bool) -> npt.NDArray[np.float64]:
    """Area-average 4x4 blocks, in full-range grey (video luma is 16-235, images 0-255)."""
    import numpy as np

    r = SSIM_REDUCE
    h, w = luma.shape[0] // r * r, luma.shape[1] // r * r
    blocks = luma[:h, :w].astype(np.float64).reshape(h // r, r, w // r, r).mean(axis=(1, 3))
    if limited:
        blocks = np.clip((blocks - 16.0) * (255.0 / 219.0), 0.0, 255.0)
    result: npt.NDArray[np.float64] = blocks
    return result


def read_signals(path: str | os.PathLike[str]) -> Signals:
    """Decode ``path`` once and measure every frame (see the module docstring)."""
    import av
    import numpy as np

    if not os.path.isfile(path):
        raise _problem(path, "no such file")
    try:
        container = av.open(os.fspath(path))
    except (av.FFmpegError, OSError) as exc:
        raise _problem(path, f"not a readable video ({exc})") from exc
    means: list[float] = []
    darks: list[float] = []
    motion: list[float] = [0.0]
    lagged: list[float] = []
    recent: list[npt.NDArray[Any]] = []
    first: npt.NDArray[Any] | None = None
    last_luma: npt.NDArray[Any] | None = None
    previous: npt.NDArray[Any] | None = None
    with container:
        if not container.streams.video:
            raise _problem(path, "has no video stream")
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or Fraction(24)
        fps = float(rate)
        width, height = stream.codec_context.width, stream.codec_context.height
        lag = max(1, round(fps * LAG_S))
        try:
            for frame in container.decode(stream):
                luma = _luma(frame)
                small = luma[::STEP, ::STEP].astype(np.int16)
                means.append(float(small.mean()))
                darks.append(float(np.count_nonzero(small <= DARK_LUMA)) / small.size)
                if previous is not None:
                    motion.append(float(np.abs(small - previous).mean()))
                previous = small
                lagged.append(
                    float(np.abs(small - recent[0]).mean()) if len(recent) == lag else 0.0
                )
                recent.append(small)
                if len(recent) > lag:
                    recent.pop(0)
                if first is None:
                    first = reduce_grey(luma, limited=True)
                last_luma = luma
        except av.FFmpegError as exc:
            raise _problem(path, f"could not be decoded ({exc})") from exc
    if first is None or last_luma is None:
        raise _problem(path, "has no frames")
    n = len(means)
    return Signals(
        width=width,
        height=height,
        fps=fps,
        frames=n,
        duration=n / fps,
        mean=np.asarray(means),
        dark=np.asarray(darks),
        motion=np.asarray(motion[:n]),
        lagged=np.asarray(lagged),
        lag=lag,
        first=first,
        last=reduce_grey(last_luma, limited=True),
    )


def image_grey(data: bytes, width: int, height: int) -> npt.NDArray[np.float64]:
    """An image as the video would show it: covered and centre-cropped to the frame,
    grey, then reduced like the frames (the renderer of every model fits it so)."""
    import io

    import numpy as np
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as im:
        rgb = im.convert("RGB")
        if rgb.size != (width, height):
            rgb = ImageOps.fit(rgb, (width, height), Image.Resampling.BICUBIC)
        grey = np.asarray(rgb.convert("L"))
    return reduce_grey(grey, limited=False)


def ssim(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64], window: int = 7) -> float:
    """Mean structural similarity (Wang et al. 2004) of two grey images, 0-255.

    Local means, variances and covariance over ``window`` x ``window`` boxes (summed
    area tables, so the cost is a few passes over the pixels); the usual constants
    C1 = (0.01 L)^2, C2 = (0.03 L)^2 with L = 255. 1.0 is identical; unrelated
    pictures score near 0.
    """
    import numpy as np

    if a.shape != b.shape:
        h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
        a, b = a[:h, :w], b[:h, :w]
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def box(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        s = np.pad(x, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
        k = window
        out: npt.NDArray[np.float64] = (s[k:, k:] - s[:-k, k:] - s[k:, :-k] + s[:-k, :-k]) / (k * k)
        return out

    mu_a, mu_b = box(a), box(b)
    var_a = box(a * a) - mu_a**2
    var_b = box(b * b) - mu_b**2
    cov = box(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    return float((num / den).mean())
