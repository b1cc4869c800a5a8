"""The download's video check: CPU per check, the full decode against the cheap check.

Run: ``.venv/bin/python bench/bench_video_check.py [--runs N] [--baseline | --new]``

``VideoGenerator.download`` checks the ``output.mp4`` it fetched against the request (size,
frame rate, length, and that the stream decodes) through
``novareel.jobs._check_output_video``. Four videos are rendered once with the
emulator's renderer (``novareel.emulator.render``), the shapes a job returns:

* **Nova 6 s**: one shot, 1280x720, 24 fps, 144 frames;
* **Nova 12 s**: two shots joined as the emulator joins them (288 frames, 2 keyframes);
* **Ray 2 9 s**: Luma Ray 2 at 720p 9:16, 720x1280, 216 frames;
* **B-frames 6 s**: the Nova 6 s frames encoded with x264 ``veryfast`` (B-frames, a
  keyframe every 2 s): the emulator writes no B-frames, many real encoders do, and
  with them the cheap check also has to follow the frames' reordering.

Each check runs ``--runs`` times in this process after one warm-up (imports, page
cache); CPU is ``time.process_time()`` around the call (all threads of the process),
wall is ``time.perf_counter()``. Two variants:

* **full decode** (``--baseline``): what a download ran before the cheap check,
  ``check_video(inspect_video(path), ...)``: every frame decoded and shrunk to a 64x36
  thumbnail for shot detection. ``inspect_video`` itself is unchanged (``novareel
  inspect`` still shows shots), so this is the old download path exactly;
* **download check** (``--new``): ``_check_output_video(path, shape)`` as a download
  calls it today.

Without either flag both run and the table gives the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import header, table


def render_videos(folder: Path) -> list[tuple[str, Path, tuple[int, int, int, int]]]:
    """The three benchmark videos and their ``(width, height, fps, seconds)``."""
    from novareel.emulator.render import concat_mp4, render_shot, render_video

    nova6 = folder / "nova-6s.mp4"
    nova6.write_bytes(render_shot("A red fox in fresh snow. Zoom in.", 7))
    nova12 = folder / "nova-12s.mp4"
    nova12.write_bytes(
        concat_mp4(
            [
                render_shot("Whip pan across a night market.", 7, 0, 2),
                render_shot("A cat on a sofa. Dolly forward.", 7, 1, 2),
            ]
        )
    )
    ray = folder / "ray-9s.mp4"
    ray.write_bytes(
        render_video("Drone shot over a canyon.", 0, width=720, height=1280, frames=9 * 24)
    )
    bframes = folder / "b-frames-6s.mp4"
    _encode_b_frames(bframes, "A red fox in fresh snow. Zoom in.")
    return [
        ("Nova 6 s 1280x720 (144 frames)", nova6, (1280, 720, 24, 6)),
        ("6 s 1280x720 with B-frames", bframes, (1280, 720, 24, 6)),
        ("Nova 12 s 2 shots (288 frames)", nova12, (1280, 720, 24, 12)),
        ("Ray 2 9 s 720x1280 (216 frames)", ray, (720, 1280, 24, 9)),
    ]


def _encode_b_frames(path: Path, prompt: str) -> None:
    """The emulator's frames encoded the way many services encode: x264 ``veryfast``
    (B-frames, so frames are reordered) with a keyframe every 2 s."""
    from fractions import Fraction

    import av

    from novareel.emulator.render import render_frames

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        stream.options = {"preset": "veryfast", "x264-params": "keyint=48"}
        for n, array in enumerate(render_frames(prompt, 7)):
            frame = av.VideoFrame.from_ndarray(array, format="yuv420p")
            frame.pts, frame.time_base = n, Fraction(1, 24)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def full_decode(path: Path, shape: tuple[int, int, int, int]) -> list[str]:
    """The download's check before the cheap one: decode every frame."""
    from novareel.media.video import check_video, inspect_video

    width, height, fps, seconds = shape
    info = inspect_video(path)
    return check_video(info, expected_duration=seconds, width=width, height=height, fps=fps)


def download_check(path: Path, shape: tuple[int, int, int, int]) -> list[str]:
    """What ``VideoGenerator.download`` calls now."""
    from novareel.jobs import _check_output_video
    from novareel.models.base import VideoShape

    return _check_output_video(path, VideoShape(*shape))


def measure(
    check: Callable[[Path, tuple[int, int, int, int]], list[str]],
    path: Path,
    shape: tuple[int, int, int, int],
    runs: int,
) -> tuple[list[float], list[float]]:
    """CPU and wall milliseconds of ``runs`` checks (after one warm-up that must pass)."""
    found = check(path, shape)
    if found:
        raise SystemExit(f"{path.name} should pass the check, got {found}")
    cpu: list[float] = []
    wall: list[float] = []
    for _ in range(runs):
        c0, w0 = time.process_time(), time.perf_counter()
        check(path, shape)
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    return cpu, wall


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="checks per video (default 20)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--baseline", action="store_true", help="only the full decode")
    which.add_argument("--new", action="store_true", help="only the download check")
    args = parser.parse_args()
    variants: list[tuple[str, Callable[[Path, tuple[int, int, int, int]], list[str]]]] = []
    if not args.new:
        variants.append(("full decode (before)", full_decode))
    if not args.baseline:
        variants.append(("download check (now)", download_check))

    print(header("The download's video check"))
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-video-check-") as tmp:
        videos = render_videos(Path(tmp))
        for label, path, shape in videos:
            medians: list[float] = []
            for name, check in variants:
                cpu, wall = measure(check, path, shape, args.runs)
                medians.append(statistics.median(cpu))
                rows.append(
                    [
                        label,
                        f"{path.stat().st_size / 1e6:.1f} MB",
                        name,
                        f"{statistics.median(cpu):.1f}",
                        f"{p95(cpu):.1f}",
                        f"{statistics.median(wall):.1f}",
                        "",
                    ]
                )
            if len(medians) == 2:
                rows[-1][-1] = f"{medians[0] / medians[1]:.0f}x"
    print(f"{args.runs} checks per video after one warm-up; CPU of the whole process.\n")
    print(
        table(
            ["video", "file", "check", "CPU ms p50", "CPU ms p95", "wall ms p50", "cheaper"],
            rows,
        )
    )


if __name__ == "__main__":
    main()
