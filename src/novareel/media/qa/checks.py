"""The checks: findings from the signals, each with its time span, measure and threshold.

Every threshold is a named constant with the reason for its value; docs/qa.md is the
long form. Levels are luma as coded (limited range: black 16, white 235), motion is the
mean absolute difference of neighbouring frames sampled every 8th pixel.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from novareel.media.qa.signals import Signals, image_grey, read_signals, ssim

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

#: A frame is near-black when at least this share of its pixels is dark (luma <= 32,
#: ~7 % of the way from black to white): 2 % of bright pixels (a caption, a logo, a
#: watermark) still leave it black to a viewer.
BLACK_SHARE = 0.98
#: ...and a black segment is reported from this long: 3 frames at 24 fps. One or two
#: black frames at a cut are a normal edit (a dip to black) nobody sees as a fault.
BLACK_MIN_S = 0.125
#: Motion at or below this (mean absolute luma change, 0-255, against the frame 1/6 s
#: before) is "nothing moves". Measured on encoded videos: a held picture, which the
#: H.264 encoder keeps refining for a few frames, changes by 0.00-0.14; the slowest
#: camera move of the emulator (a 6 s zoom of 8 % easing in and out) by 0.3-1.2 except
#: in its last few frames, and any pan by 1-4.
FROZEN_MOTION = 0.25
#: ...for at least this long (the issue's rule: no motion for >= 0.5 s). Shorter holds
#: are what an ease-in/ease-out camera does at its ends.
FROZEN_MIN_S = 0.5
#: A frame is a flash when its mean luma is at least this far above the darkest frame
#: within FLASH_WINDOW frames on EACH side: 40 levels is ~18 % of the luma range, a
#: jump a viewer sees as a flash, far above the 1-3 levels a moving camera changes it.
FLASH_JUMP = 40.0
#: Frames looked at on each side: the flash must come and go within 3 frames
#: (0.125 s at 24 fps); a lasting brightening is a cut to a brighter scene, not a flash.
FLASH_WINDOW = 3
#: Flashes closer than this are one flicker finding.
FLASH_GAP_S = 0.5
#: A loop's last frame must be this similar to its first (SSIM, 0-1): a seamless loop
#: repeats its first picture (the same view scores 0.95-1.0 after encoding, with a
#: caption or progress bar that differs); a camera that ends elsewhere (the emulator's
#: 240 px pan) scores 0.6-0.7, a different picture 0.3-0.5.
SEAM_SSIM = 0.8
#: The first (last) frame must be this similar to the start (end) image (SSIM): the
#: image shown with text overlaid on part of it scores 0.85-0.95 (720p); a different
#: picture of the same kind (the model ignoring the keyframe) scores 0.3-0.5.
KEYFRAME_SSIM = 0.6
#: Frame rate and length tolerances: a frame rate within 0.01 fps (23.976 is not 24),
#: a length within half a frame more or less than asked.
FPS_TOLERANCE = 0.01


@dataclass(frozen=True)
class Finding:
    """One defect: its kind, where it is (seconds), what was measured and the limit."""

    kind: str
    start: float
    end: float
    measure: float
    threshold: float
    detail: str

    @classmethod
    def over_frames(
        cls,
        kind: str,
        fps: float,
        first: int,
        end: int,
        measure: float,
        threshold: float,
        detail: str,
    ) -> Finding:
        """A finding over frames [first, end): from the first one's time to the end of
        the last one."""
        return cls(
            kind, round(first / fps, 3), round(end / fps, 3), round(measure, 3), threshold, detail
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class QaExpectations:
    """What the request asked for; every field is optional (a bare file has none)."""

    width: int | None = None
    height: int | None = None
    fps: float | None = None
    seconds: float | None = None
    loop: bool = False
    start_image: bytes | None = None
    end_image: bytes | None = None


@dataclass
class QaReport:
    """The verdict on one video: ``clean`` when there is no finding."""

    path: str
    width: int
    height: int
    fps: float
    frames: int
    duration: float
    checks: list[str]
    findings: list[Finding] = field(default_factory=list)
    cpu_seconds: float = 0.0

    @property
    def verdict(self) -> str:
        return "clean" if not self.findings else "findings"

    @property
    def summary(self) -> str:
        """One line: ``clean`` or the finding kinds with their spans."""
        if not self.findings:
            return "clean"
        parts = [f"{f.kind} {f.start:.2f}-{f.end:.2f}s" for f in self.findings]
        return f"{len(self.findings)} finding(s): " + ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "summary": self.summary,
            "path": self.path,
            "video": {
                "width": self.width,
                "height": self.height,
                "fps": round(self.fps, 3),
                "frames": self.frames,
                "duration": round(self.duration, 3),
            },
            "checks": list(self.checks),
            "findings": [f.to_dict() for f in self.findings],
            "cpuSeconds": round(self.cpu_seconds, 3),
        }


def _runs(mask: npt.NDArray[np.bool_]) -> Iterator[tuple[int, int]]:
    """(first, last + 1) of every run of True."""
    start = None
    for i, value in enumerate(mask.tolist()):
        if value and start is None:
            start = i
        elif not value and start is not None:
            yield start, i
            start = None
    if start is not None:
        yield start, len(mask)


def _black(s: Signals) -> list[Finding]:
    out = []
    for a, b in _runs(s.dark >= BLACK_SHARE):
        if (b - a) / s.fps >= BLACK_MIN_S:
            lowest = float(s.dark[a:b].min())
            detail = f"{b - a} near-black frames (share of dark pixels, lowest)"
            out.append(Finding.over_frames("black", s.fps, a, b, lowest, BLACK_SHARE, detail))
    return out


def _frozen(s: Signals) -> list[Finding]:
    """Runs of still frames, black ones left out (they are a black finding).

    Frame i is still when it hardly differs from frame i - lag; the first still frame
    of a run is within ``lag`` frames of the held picture, which is found by walking
    back while each frame hardly differs from the one before it.
    """
    import numpy as np

    still = s.lagged <= FROZEN_MOTION
    still[: s.lag] = False
    still &= s.dark < BLACK_SHARE
    out = []
    for a, b in _runs(still):
        first = a
        while first > a - s.lag and first > 0 and s.motion[first] <= FROZEN_MOTION:
            first -= 1
        if (b - first) / s.fps >= FROZEN_MIN_S:
            largest = float(np.max(s.lagged[a:b]))
            detail = f"{b - first} frames without motion (largest change over 1/6 s, 0-255)"
            out.append(
                Finding.over_frames("frozen", s.fps, first, b, largest, FROZEN_MOTION, detail)
            )
    return out


def _flash(s: Signals) -> list[Finding]:
    import numpy as np

    n, w = s.frames, FLASH_WINDOW
    jumps = np.zeros(n)
    for i in range(1, n - 1):
        before = s.mean[max(0, i - w) : i].min()
        after = s.mean[i + 1 : i + 1 + w].min()
        jumps[i] = s.mean[i] - max(before, after)
    flashes = np.flatnonzero(jumps >= FLASH_JUMP).tolist()
    out: list[Finding] = []
    gap = max(1, round(FLASH_GAP_S * s.fps))
    groups: list[list[int]] = []
    for i in flashes:
        if groups and i - groups[-1][-1] <= gap:
            groups[-1].append(i)
        else:
            groups.append([i])
    for group in groups:
        detail = f"{len(group)} bright frame(s) (largest jump in mean luma, 0-255)"
        largest = float(jumps[group].max())
        out.append(
            Finding.over_frames(
                "flash", s.fps, group[0], group[-1] + 1, largest, FLASH_JUMP, detail
            )
        )
    return out


def _similar(kind: str, score: float, at: float, end: float, detail: str) -> list[Finding]:
    limit = SEAM_SSIM if kind == "loop_seam" else KEYFRAME_SSIM
    if score >= limit:
        return []
    return [Finding(kind, round(at, 3), round(end, 3), round(score, 3), limit, detail)]


def _facts(s: Signals, want: QaExpectations) -> list[Finding]:
    out: list[Finding] = []
    end = round(s.duration, 3)
    if (
        want.width is not None
        and want.height is not None
        and (s.width, s.height) != (want.width, want.height)
    ):
        out.append(
            Finding(
                "size",
                0.0,
                end,
                float(s.width * s.height),
                float(want.width * want.height),
                f"{s.width}x{s.height}, asked for {want.width}x{want.height} (pixels)",
            )
        )
    if want.fps is not None and abs(s.fps - want.fps) > FPS_TOLERANCE:
        out.append(
            Finding(
                "frame_rate",
                0.0,
                end,
                round(s.fps, 3),
                want.fps,
                f"{s.fps:.3f} fps, asked for {want.fps:g}",
            )
        )
    if want.seconds is not None:
        fps = want.fps or s.fps
        if abs(s.duration - want.seconds) > 0.5 / fps:
            out.append(
                Finding(
                    "length",
                    0.0,
                    end,
                    round(s.duration, 3),
                    want.seconds,
                    f"{s.duration:.3f} s ({s.frames} frames), asked for {want.seconds:g} s",
                )
            )
    return out


def checks_for(want: QaExpectations) -> list[str]:
    """The names of the checks a video with these expectations gets."""
    names = ["black", "frozen", "flash"]
    if want.loop:
        names.append("loop_seam")
    if want.start_image is not None:
        names.append("start_image")
    if want.end_image is not None:
        names.append("end_image")
    if want.width is not None and want.height is not None:
        names.append("size")
    if want.fps is not None:
        names.append("frame_rate")
    if want.seconds is not None:
        names.append("length")
    return names


def check_signals(s: Signals, want: QaExpectations) -> list[Finding]:
    """Every finding of a decoded video, in check order."""
    black = _black(s)
    findings = [*black, *_frozen(s), *_flash(s)]
    last = round((s.frames - 1) / s.fps, 3)
    end = round(s.duration, 3)
    if want.loop:
        findings += _similar(
            "loop_seam",
            ssim(s.first, s.last),
            last,
            end,
            "last frame vs first frame of a loop (SSIM)",
        )
    if want.start_image is not None:
        ref = image_grey(want.start_image, s.width, s.height)
        findings += _similar(
            "start_image",
            ssim(s.first, ref),
            0.0,
            round(1 / s.fps, 3),
            "first frame vs the start image (SSIM)",
        )
    if want.end_image is not None:
        ref = image_grey(want.end_image, s.width, s.height)
        findings += _similar(
            "end_image", ssim(s.last, ref), last, end, "last frame vs the end image (SSIM)"
        )
    return findings + _facts(s, want)


def check_file(path: str | os.PathLike[str], want: QaExpectations | None = None) -> QaReport:
    """Decode ``path`` once and run every check ``want`` calls for.

    Raises :class:`~novareel.foundation.errors.InvalidRequestError` for a file that is not a
    readable video. ``cpu_seconds`` is this process's CPU time for the whole check.
    """
    want = want or QaExpectations()
    started = time.process_time()
    s = read_signals(path)
    findings = check_signals(s, want)
    return QaReport(
        path=os.fspath(path),
        width=s.width,
        height=s.height,
        fps=s.fps,
        frames=s.frames,
        duration=s.duration,
        checks=checks_for(want),
        findings=findings,
        cpu_seconds=time.process_time() - started,
    )
