"""Benchmark the emulator holding many jobs: submit and List latency, memory, descriptors.

Run: ``.venv/bin/python bench/bench_emulator_scale.py [--quick] [--sizes 100,2000,20000]``.
Prints a Markdown table; asserts nothing (goal from issue 14: under 1 GB RSS after
20,000 typical jobs).

Each size gets a fresh ``novareel emulator`` subprocess (``--render fast --speed 2000
--submit-rate 0``, every quota lifted through ``/_emulator/config``), so its memory is
its own: peak RSS is the kernel's ``VmHWM`` of that process, RSS after N its ``VmRSS``
once every job has finished. One plain boto3 client submits N typical jobs (Nova Reel
``TEXT_VIDEO``, 6 s, 1280x720) one after another; each job writes a manifest, a
~1.3 MB ``output.mp4`` (the cached fast-mode clip, the size a real preview has) and a
status file. A warm-up job (PyAV import, the cached clip) runs before the first
measurement, so "RSS KB per job" is (RSS after N - RSS before) / N. Submit latency is
measured on the first 200 and on the last 200 submits;
a List page is the default request (Descending, ``maxResults`` 100 and 1000, and the
10th page of 100 through ``nextToken``) once all N are stored.

``--compare-ram`` adds a run at 2,000 with moto's own default key buffer (~5 MB: every
video in RAM), the way the emulator stored objects before.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import EmulatorProcess, boto_kwargs, header, table

MODEL = "amazon.nova-reel-v1:0"
BUCKET = "scale-bench"
SPEED = 2000.0
SAMPLE = 200
MOTO_DEFAULT_BUFFER = 5 * 1024 * 1024 - 1024


class Emulator(EmulatorProcess):
    """``novareel emulator`` in a subprocess (fast render, no submit rate limit); its
    pid is the emulator's own, so /proc tells its memory and open files."""

    def __init__(self, extra: Sequence[str] = ()) -> None:
        super().__init__(
            SPEED,
            ["--render", "fast", "--submit-rate", "0", *extra],
            launcher=("-m", "novareel", "emulator"),
        )

    def status(self) -> dict[str, str]:
        """The emulator's /proc/<pid>/status fields."""
        return self.proc_status()

    def mb(self, field: str) -> float:
        return int(self.status()[field].split()[0]) / 1024

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def timed(call: Any, **kwargs: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = call(**kwargs)
    return (time.perf_counter() - t0) * 1000, result


def run(n: int, extra: Sequence[str] = ()) -> dict[str, Any]:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    emulator = Emulator(extra)
    try:
        emulator.control("config", {"quotas": {MODEL: 10_000_000}})
        kw = boto_kwargs(emulator.url)
        config = Config(retries={"max_attempts": 1}, max_pool_connections=4)
        boto3.client("s3", **kw).create_bucket(Bucket=BUCKET)
        bedrock = boto3.client("bedrock-runtime", config=config, **kw)

        def submit(i: int) -> Any:
            return bedrock.start_async_invoke(
                modelId=MODEL,
                modelInput={
                    "taskType": "TEXT_VIDEO",
                    "textToVideoParams": {"text": f"job {i}: a lighthouse at dusk"},
                    "videoGenerationConfig": {
                        "durationSeconds": 6,
                        "fps": 24,
                        "dimension": "1280x720",
                        "seed": i,
                    },
                },
                outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/jobs/"}},
            )

        # One warm-up job first: it imports PyAV and makes the cached clip, so "RSS per
        # job" below is what each further job adds, not the start-up cost.
        warm = submit(2_000_000_000)["invocationArn"]
        while bedrock.get_async_invoke(invocationArn=warm)["status"] == "InProgress":
            time.sleep(0.2)
        rss_start = emulator.mb("VmRSS")
        samples: list[tuple[int, float, int]] = []
        latencies: list[float] = []
        failed_submits = 0
        stopped: str | None = None
        t0 = time.monotonic()
        for i in range(n):
            if i and i % max(1, n // 10) == 0:
                samples.append((i, emulator.mb("VmRSS"), emulator.open_fds()))
            try:
                ms, _ = timed(submit, i=i)
                latencies.append(ms)
            except ClientError:
                failed_submits += 1
            except BotoCoreError as exc:  # the emulator stopped answering
                stopped = f"stopped at job {i}: {type(exc).__name__}"
                break
        submit_wall = time.monotonic() - t0
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and stopped is None:
            page = bedrock.list_async_invokes(statusEquals="InProgress", maxResults=1)
            if not page["asyncInvokeSummaries"]:
                break
            time.sleep(0.2)
        pages: dict[str, list[float]] = {"100": [], "1000": [], "10th": []}
        failed_jobs = -1
        if stopped is None:
            for _ in range(7):
                pages["100"].append(timed(bedrock.list_async_invokes, maxResults=100)[0])
                pages["1000"].append(timed(bedrock.list_async_invokes, maxResults=1000)[0])
            token = None
            for _ in range(10):
                args: dict[str, Any] = {"maxResults": 100}
                if token:
                    args["nextToken"] = token
                ms, page = timed(bedrock.list_async_invokes, **args)
                token = page.get("nextToken")
                if token is None:
                    break
            pages["10th"].append(ms)
            failed_jobs = len(
                bedrock.list_async_invokes(statusEquals="Failed", maxResults=1000)[
                    "asyncInvokeSummaries"
                ]
            )
        return {
            "n": n,
            "submitted": len(latencies),
            "failed_submits": failed_submits,
            "failed_jobs": failed_jobs,
            "stopped": stopped,
            "first": latencies[:SAMPLE],
            "last": latencies[-SAMPLE:],
            "pages": pages,
            "rss_start": rss_start,
            "hwm": emulator.mb("VmHWM"),
            "rss": emulator.mb("VmRSS"),
            "fds": emulator.open_fds(),
            "submit_wall": submit_wall,
            "samples": samples,
        }
    finally:
        emulator.stop()


def row(label: str, r: dict[str, Any]) -> list[str]:
    def lat(values: list[float]) -> str:
        return f"{pct(values, 0.5):.1f} / {pct(values, 0.99):.1f}" if values else "-"

    pages = r["pages"]
    per_job = (r["rss"] - r["rss_start"]) * 1024 / max(1, r["submitted"])
    done = f"{r['submitted']:,}" + (f" ({r['stopped']})" if r["stopped"] else "")
    return [
        label,
        done,
        lat(r["first"]),
        lat(r["last"]),
        f"{pct(pages['100'], 0.5):.1f} / {pct(pages['1000'], 0.5):.1f} / "
        f"{pct(pages['10th'], 0.5):.1f}"
        if pages["100"]
        else "-",
        f"{r['hwm']:.0f}",
        f"{r['rss']:.0f}",
        f"{per_job:.1f}",
        f"{r['fds']:,}",
        f"{r['failed_submits']} / {r['failed_jobs']}",
        f"{r['submit_wall']:.0f}",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 100 and 500 only")
    parser.add_argument("--sizes", help="comma-separated N (default 100,2000,20000)")
    parser.add_argument(
        "--compare-ram", action="store_true", help="add 2,000 jobs with moto's default buffer"
    )
    args = parser.parse_args(argv)
    sizes = [100, 500] if args.quick else [100, 2000, 20000]
    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",")]
    print(header("Emulator at scale"))
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    print(f"- open-files limit (soft / hard): {soft} / {hard}\n")
    rows = []
    largest: dict[str, Any] = {}
    for n in sizes:
        r = run(n)
        rows.append(row(f"{n:,}", r))
        largest = r
        print(f"<!-- {n}: done -->", file=sys.stderr, flush=True)
    if args.compare_ram:
        n = 500 if args.quick else 2000
        r = run(n, ["--s3-key-buffer-size", str(MOTO_DEFAULT_BUFFER)])
        rows.append(row(f"{n:,}, objects in RAM (moto default buffer)", r))
    print(
        table(
            [
                "N",
                "submitted",
                "submit ms p50 / p99, first 200",
                "submit ms p50 / p99, last 200",
                "List page ms at N: 100 / 1000 / 10th page of 100",
                "peak RSS MB",
                "RSS after N MB",
                "RSS KB per job",
                "open fds",
                "refused submits / failed jobs",
                "submit wall s",
            ],
            rows,
        )
    )
    print(f"\nRSS while the {largest['n']:,} jobs are submitted (jobs finish as they go):\n")
    print(
        table(
            ["jobs submitted", "RSS MB", "open fds"],
            [[f"{i:,}", f"{mb:.0f}", f"{fds:,}"] for i, mb, fds in largest["samples"]]
            + [[f"{largest['submitted']:,} (all done)", f"{largest['rss']:.0f}", largest["fds"]]],
        )
    )


if __name__ == "__main__":
    main()
