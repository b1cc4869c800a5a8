"""Benchmark 5: the emulator, as a Markdown table with the machine/date header.

Run: ``.venv/bin/python bench/bench_emulator_report.py [--quick]``

Runs the emulator author's ``bench/bench_emulator.py`` (render throughput of 1280x720
preview shots, GetAsyncInvoke calls served per second) and prints its results as a
table with goals. Its design targets: a 6 s shot renders in <= 3 s of wall time on a
2-core machine (>= 2 s of video per second), and >= 300 GetAsyncInvoke calls/s.
``--quick`` makes 200 Get calls instead of 600.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_emulator
from _common import header, table

NUMBER = r"([0-9.]+)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 Get calls")
    args = parser.parse_args()
    print(header("Benchmark 5: emulator"))
    print("- in-process `EmulatorServer` (speed 1, submit limit off) for the Get rate\n")
    rows = []
    for name, result in bench_emulator.bench_render():
        cpu = re.search(NUMBER + r" video-s/CPU-s", result)
        wall = re.search(NUMBER + r" video-s/wall-s", result)
        secs = re.search(r"\(" + NUMBER + r" s\)", result)
        if cpu and wall and secs:
            ok = float(secs.group(1)) <= 3.0
            rows.append(
                (
                    name,
                    f"{float(cpu.group(1)):.2f} s of video / CPU-s",
                    f"{float(wall.group(1)):.2f} s of video / s ({secs.group(1)} s per shot)",
                    "6 s shot <= 3 s wall",
                    "met" if ok else "not met",
                )
            )
        elif wall:
            ok = float(wall.group(1)) >= 2.0
            rows.append(
                (
                    name,
                    "",
                    f"{float(wall.group(1)):.2f} s of video / s",
                    ">= 2 s of video / s",
                    "met" if ok else "not met",
                )
            )
    for name, result in bench_emulator.bench_get(200 if args.quick else 600):
        rate = re.search(NUMBER + r" calls/s", result)
        assert rate, result
        value = float(rate.group(1))
        rows.append(
            (
                name,
                "",
                f"{value:.0f} calls / s",
                ">= 300 calls / s",
                "met" if value >= 300 else "not met",
            )
        )
    print(
        table(["benchmark", "per CPU second", "per wall second", "goal", "measured vs goal"], rows)
    )


if __name__ == "__main__":
    main()
