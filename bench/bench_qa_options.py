"""What would make `novareel qa` cheaper, measured: decoder settings and a packet screen.

Run: ``.venv/bin/python bench/bench_qa_options.py [--runs N]``

Part 1, **decoder settings**: CPU of decoding every frame of two emulator renders (the
shapes of ``bench/bench_qa.py``) and reading the luma plane, with PyAV's defaults and
with each cheaper setting (one thread, ``flags2 fast``, ``skip_loop_filter=all``, the
``gray`` flag), and the largest change any setting makes to a frame's mean luma (a
setting that changes the pixels changes what the checks measure).

Part 2, **packet screen**: could packet sizes alone (demux, no decode) tell which
videos need decoding? For clean renders and renders with a flash, black or frozen
stretch (10 prompts x 3 frame sizes, 5 s), it prints the screen's two signals: the
smallest packet in bytes per 16x16 macroblock (a repeated black or held picture
codes to almost nothing) and the largest ratio of a predicted frame's packet to the
median of its neighbours (6 each side, keyframes left out; a flash's return frame
must rebuild the picture). A screen can skip the decode only if the defective
videos' values lie clearly outside the clean ones'.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import header, table

PROMPTS = [
    "a lighthouse on a cliff, camera pans right",
    "A harbour at dawn, camera pans left",
    "A harbour at dawn, zoom in",
    "A harbour at dawn, tilt up",
    "Waves on a beach, pan left.",
    "A red fox in fresh snow. Zoom in.",
    "A night market, camera pans right.",
    "Drone shot over a canyon.",
    "City street at night, rain.",
    "A cat on a sofa. Dolly forward.",
]
SIZES = [(960, 540), (1280, 720), (720, 1280)]
DEFECTS = [(1.0, 0.5), (2.5, 1.0), (4.0, 0.25)]


def decode_means(path: Path, setting: dict[str, Any]) -> list[float]:
    import av
    import numpy as np

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        cc = stream.codec_context
        if setting.get("threads"):
            stream.thread_type = "NONE"
            cc.thread_count = 1
        if setting.get("options"):
            cc.options = dict(setting["options"])
        if setting.get("fast"):
            cc.flags2 |= av.codec.context.Flags2.fast
        if setting.get("gray"):
            cc.flags |= av.codec.context.Flags.gray
        means = []
        for frame in container.decode(stream):
            plane = frame.planes[0]
            rows = np.frombuffer(plane, np.uint8).reshape(frame.height, plane.line_size)
            means.append(float(rows[::8, : frame.width : 8].mean()))
        return means


SETTINGS: list[tuple[str, dict[str, Any]]] = [
    ("PyAV defaults", {}),
    ("thread_count 1", {"threads": True}),
    ("flags2 fast", {"fast": True}),
    ("skip_loop_filter all", {"options": {"skip_loop_filter": "all"}}),
    ("flags gray", {"gray": True}),
    (
        "all of them",
        {"threads": True, "fast": True, "gray": True, "options": {"skip_loop_filter": "all"}},
    ),
]


def packets(path: Path) -> list[tuple[int, bool]]:
    import av

    with av.open(str(path)) as container:
        return [(p.size, bool(p.is_keyframe)) for p in container.demux(video=0) if p.size]


def signals(pk: list[tuple[int, bool]], width: int, height: int) -> tuple[float, list[float]]:
    """(smallest bytes per macroblock, burst ratio of every frame)."""
    sizes = [s for s, _ in pk]
    mbs = ((width + 15) // 16) * ((height + 15) // 16)
    ratios = []
    for i, (size, key) in enumerate(pk):
        around = [
            sizes[j] for j in range(max(0, i - 6), min(len(pk), i + 7)) if j != i and not pk[j][1]
        ]
        ratios.append(0.0 if key or not around else size / statistics.median(around))
    return min(sizes) / mbs, ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    from novareel.emulator.render import render_video

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = []
        for name, (w, h, n) in [
            ("960x540 5 s", (960, 540, 120)),
            ("1280x720 6 s", (1280, 720, 144)),
        ]:
            path = folder / f"{w}.mp4"
            path.write_bytes(render_video(PROMPTS[4], 0, width=w, height=h, frames=n))
            base = decode_means(path, {})
            cpu: dict[str, list[float]] = {label: [] for label, _ in SETTINGS}
            for _ in range(args.runs):  # interleaved, so load changes hit every setting
                for label, setting in SETTINGS:
                    started = time.process_time()
                    decode_means(path, setting)
                    cpu[label].append((time.process_time() - started) * 1000)
            for label, setting in SETTINGS:
                change = max(
                    abs(a - b) for a, b in zip(base, decode_means(path, setting), strict=True)
                )
                rows.append([name, label, f"{statistics.median(cpu[label]):.0f}", f"{change:.2f}"])
        print(header("novareel qa: decoder settings"))
        print(f"- {args.runs} interleaved runs per setting\n")
        print(table(["video", "setting", "CPU ms p50", "largest change of a frame mean"], rows))

        clean_tiny, clean_ratio = [], []
        found: dict[str, list[tuple[float, float]]] = {"black": [], "frozen": [], "flash": []}
        for seed, prompt in enumerate(PROMPTS):
            for w, h in SIZES:
                path = folder / "v.mp4"
                path.write_bytes(render_video(prompt, seed, width=w, height=h, frames=120))
                tiny, ratios = signals(packets(path), w, h)
                clean_tiny.append(tiny)
                clean_ratio.append(max(ratios))
                for kind in found:
                    for at, length in DEFECTS:
                        defect = [(kind, at, length)]
                        path.write_bytes(
                            render_video(
                                prompt, seed, width=w, height=h, frames=120, defects=defect
                            )
                        )
                        tiny, ratios = signals(packets(path), w, h)
                        a, b = round(at * 24), round((at + length) * 24) + 2
                        found[kind].append((tiny, max(ratios[a:b])))
        rows = [
            [
                "clean",
                str(len(clean_tiny)),
                f"{min(clean_tiny):.3f}-{max(clean_tiny):.3f}",
                f"{min(clean_ratio):.2f}-{max(clean_ratio):.2f}",
            ]
        ]
        for kind, values in found.items():
            tinies = [t for t, _ in values]
            ratios = [r for _, r in values]
            rows.append(
                [
                    kind,
                    str(len(values)),
                    f"{min(tinies):.3f}-{max(tinies):.3f}",
                    f"{min(ratios):.2f}-{max(ratios):.2f}",
                ]
            )
        print(header("novareel qa: packet screen"))
        print(
            table(
                [
                    "renders",
                    "videos",
                    "smallest packet, bytes per macroblock",
                    "largest burst ratio (in the defect's span)",
                ],
                rows,
            )
        )


if __name__ == "__main__":
    main()
