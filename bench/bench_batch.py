"""Benchmark 2: batch makespan, 30 TEXT_VIDEO jobs within a concurrency quota of 3.

Run: ``.venv/bin/python bench/bench_batch.py [--quick] [--speed S] [--jobs N]``

The world is deliberately not the client's prior: the emulator runs ``--latency
lab-2025 --latency-scale 1.8 --latency-spread 0.25`` by default, i.e. a job's median is
1.8x the client's built-in expectation (76 s -> 137 s for 6 s of video) and each job
is drawn log-normally around it (seeded: after each reset the n-th accepted job gets
the same factor, so all variants see the same durations in the same order).

All variants run against the same emulator subprocess (reset in between) with the
default quota (3 concurrent jobs for amazon.nova-reel-v1:1) and throttling on: the
emulator's submit rate limit (5 StartAsyncInvoke/s, burst 5) plus 20 % of
StartAsyncInvoke calls answered ThrottlingException (seeded). Jobs render for real.

* **novareel**: ``novareel.batch.run_batch`` on a JSONL file (``max_concurrent=3``,
  ``out_dir=None``: wait, no download), through ``VideoGenerator(time_scale=speed)``. Its
  list tick is the soonest ``PollSchedule.next_delay`` over the jobs in flight (sparse
  while none can be done, dense around an expected end).
* **novareel, fixed tick**: the same with a fixed ``poll_interval`` = 1.5 % of a job's
  prior expected time (a baseline, not a bound: it is not told the world is slower).
* **seed lab**: what the lab's pitfall #2 advises: a plain ``boto3`` client, one submit
  at a time, a 10-15 s pause (scaled) after each accepted submit, exponential backoff
  (5 s doubling, scaled, capped at 80 s) on ThrottlingException /
  ServiceUnavailableException / ServiceQuotaExceededException, no client token; then
  poll every unfinished job with GetAsyncInvoke every 30 s (scaled) until all ended.

Makespan = from the first call to the moment the client knows every job ended.
Lower bound = max(sum of the jobs' actual durations / quota, longest job), the
durations measured on the emulator's side (endTime - submitTime) in the same run: no
schedule can finish earlier with 3 slots. Also given: the same durations run greedily in
the order the emulator accepted them with zero overhead (what a perfect client that
does not reorder would reach). Duplicate jobs = jobs the emulator accepted
minus jobs asked for.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import EmulatorProcess, boto_kwargs, header, loadavg, median, table

from novareel.emulator import EmulatorControl
from novareel.models.nova_reel import expected_seconds_for as expected_generation_seconds

MODEL = "amazon.nova-reel-v1:1"
BUCKET = "bench-batch"
QUOTA = 3
THROTTLE_PROBABILITY = 0.2
#: botocore retry mode of novareel's client (novareel's default is "adaptive").
RETRY_MODE = "adaptive"


def prepare(url: str) -> None:
    import boto3

    control = EmulatorControl(url)
    control.reset()
    if THROTTLE_PROBABILITY > 0:
        control.fail_calls(
            "StartAsyncInvoke",
            "ThrottlingException",
            count=None,
            probability=THROTTLE_PROBABILITY,
            seed=7,
        )
    boto3.client("s3", **boto_kwargs(url)).create_bucket(Bucket=BUCKET)


def prompts(n: int) -> list[str]:
    return [
        f"Shot {i + 1}: a paper boat drifts down a rain gutter, camera tracks left."
        for i in range(n)
    ]


def run_novareel(
    url: str,
    speed: float,
    n: int,
    tmp: Path,
    poll_interval: float | None = None,
) -> dict[str, Any]:
    from novareel import VideoGenerator
    from novareel.batch import run_batch
    from novareel.client import AwsClient
    from novareel.ledger import Ledger

    tmp = Path(tempfile.mkdtemp(dir=tmp))
    path = tmp / "batch.jsonl"
    with path.open("w") as f:
        f.write(json.dumps({"defaults": {"output_uri": f"s3://{BUCKET}/novareel/"}}) + "\n")
        for i, prompt in enumerate(prompts(n)):
            f.write(json.dumps({"id": f"clip-{i + 1:02d}", "prompt": prompt}) + "\n")
    client = AwsClient(
        region="us-east-1",
        endpoint_url=url,
        access_key="testing",
        secret_key="testing",
        retry_mode=RETRY_MODE,
    )
    client.bedrock  # noqa: B018 - build the boto3 client before timing
    ledger = Ledger(tmp / "ledger.sqlite3")
    with VideoGenerator(client, ledger=ledger, time_scale=speed) as api:
        t0 = time.monotonic()
        summary = run_batch(
            api, path, out_dir=None, max_concurrent=QUOTA, poll_interval=poll_interval
        )
        makespan = time.monotonic() - t0
    ledger.close()
    return {"makespan": makespan, "ok": summary.done, "failed": summary.failed}


def run_seed_lab(url: str, speed: float, n: int) -> dict[str, Any]:
    import boto3
    from botocore.exceptions import ClientError

    rng = random.Random(1)
    bedrock = boto3.client("bedrock-runtime", **boto_kwargs(url))
    retryable = {
        "ThrottlingException",
        "ServiceUnavailableException",
        "ServiceQuotaExceededException",
    }
    t0 = time.monotonic()
    arns = []
    for prompt in prompts(n):
        backoff = 5.0
        while True:
            try:
                arn = bedrock.start_async_invoke(
                    modelId=MODEL,
                    modelInput={
                        "taskType": "TEXT_VIDEO",
                        "textToVideoParams": {"text": prompt},
                        "videoGenerationConfig": {
                            "durationSeconds": 6,
                            "fps": 24,
                            "dimension": "1280x720",
                            "seed": 42,
                        },
                    },
                    outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/lab/"}},
                )["invocationArn"]
                break
            except ClientError as exc:
                if exc.response["Error"]["Code"] not in retryable:
                    raise
                time.sleep((backoff + rng.uniform(0, 1)) / speed)
                backoff = min(backoff * 2, 80.0)
        arns.append(arn)
        time.sleep(rng.uniform(10, 15) / speed)
    pending = set(arns)
    while pending:
        for arn in list(pending):
            if bedrock.get_async_invoke(invocationArn=arn)["status"] != "InProgress":
                pending.discard(arn)
        if pending:
            time.sleep(30 / speed)
    return {"makespan": time.monotonic() - t0, "ok": n, "failed": 0}


def measure(name: str, url: str, runner: Any) -> dict[str, Any]:
    prepare(url)
    result = runner()
    control = EmulatorControl(url)
    stats = control.stats()
    jobs = control.jobs()
    result["name"] = name
    result["accepted"] = stats.get("acceptedSubmissions", 0)
    result["replays"] = stats.get("idempotentReplays", 0)
    result["rejections"] = stats.get("rejections", {})
    result["requests"] = stats.get("requests", {})
    result["completed"] = sum(1 for j in jobs if j["status"] == "Completed")
    ended = [j for j in jobs if j.get("endTime")]
    durations = [_ts(j["endTime"]) - _ts(j["submitTime"]) for j in ended]
    result["job_median"] = median(durations)
    result["job_max"] = max(durations, default=float("nan"))
    result["bound"] = max(sum(durations) / QUOTA, result["job_max"])
    # The same jobs run greedily in the order the emulator accepted them, with zero
    # overhead (each starts the instant a slot frees): what a perfect client achieves
    # without reordering; the gap to the bound is the order's, not the client's.
    slots = [0.0] * QUOTA
    for job in sorted(ended, key=lambda j: _ts(j["submitTime"])):
        i = slots.index(min(slots))
        slots[i] += _ts(job["endTime"]) - _ts(job["submitTime"])
    result["greedy"] = max(slots)
    result["service_span"] = max(_ts(j["endTime"]) for j in ended) - min(
        _ts(j["submitTime"]) for j in jobs
    )
    return result


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def main() -> None:
    global THROTTLE_PROBABILITY, RETRY_MODE
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="speed 20")
    parser.add_argument("--speed", type=float, default=None, help="emulator speed (default 10)")
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument("--latency", default="lab-2025", help="emulator latency preset")
    parser.add_argument(
        "--latency-scale", type=float, default=1.8, help="emulator latency scale (default 1.8)"
    )
    parser.add_argument(
        "--latency-spread", type=float, default=0.25, help="emulator log-normal sigma"
    )
    parser.add_argument(
        "--only",
        choices=("novareel", "fixed-tick", "seed-lab"),
        default=None,
        help="run one variant",
    )
    parser.add_argument(
        "--throttle",
        type=float,
        default=THROTTLE_PROBABILITY,
        help="share of StartAsyncInvoke calls answered ThrottlingException (default 0.2)",
    )
    parser.add_argument(
        "--retry-mode",
        choices=("adaptive", "standard", "legacy"),
        default=RETRY_MODE,
        help="botocore retry mode of novareel's client (default adaptive, as novareel)",
    )
    args = parser.parse_args()
    THROTTLE_PROBABILITY = args.throttle
    RETRY_MODE = args.retry_mode
    speed = args.speed or (20.0 if args.quick else 10.0)
    n = args.jobs
    prior = expected_generation_seconds(6) / speed
    extra = [
        "--latency",
        args.latency,
        "--latency-scale",
        str(args.latency_scale),
        "--latency-spread",
        str(args.latency_spread),
    ]

    print(header("Benchmark 2: batch makespan"))
    print(
        f"- emulator speed {speed:g} (subprocess), {' '.join(extra)}; the client's prior "
        f"for one 6 s job = {prior:.2f} s; {n} jobs, quota {QUOTA}; "
        f"throttling: 5/s submit limit + {THROTTLE_PROBABILITY:.0%} injected "
        f"ThrottlingException on StartAsyncInvoke; novareel's botocore retry mode {RETRY_MODE}\n"
    )
    results = []
    with (
        EmulatorProcess(speed=speed, extra=extra) as emu,
        tempfile.TemporaryDirectory() as tmp,
    ):
        if args.only in (None, "novareel"):
            results.append(
                measure(
                    "novareel batch", emu.url, lambda: run_novareel(emu.url, speed, n, Path(tmp))
                )
            )
        if args.only in (None, "fixed-tick"):
            tick = 0.015 * expected_generation_seconds(6) / speed
            results.append(
                measure(
                    f"novareel batch, poll_interval={tick:.3f} s (1.5 % of a job)",
                    emu.url,
                    lambda: run_novareel(emu.url, speed, n, Path(tmp), poll_interval=tick),
                )
            )
        if args.only in (None, "seed-lab"):
            results.append(
                measure(
                    "seed lab (sequential, 10-15 s pauses)",
                    emu.url,
                    lambda: run_seed_lab(emu.url, speed, n),
                )
            )
    rows = []
    for r in results:
        ratio = r["makespan"] / r["bound"]
        dup = r["accepted"] - n
        req = r["requests"]
        rows.append(
            (
                r["name"],
                f"{r['makespan']:.1f} s",
                f"{r['bound']:.1f} s",
                f"{ratio:.3f}",
                f"{r['greedy']:.1f} s ({r['makespan'] / r['greedy']:.3f})",
                f"{r['job_median']:.2f} / {r['job_max']:.2f} s",
                f"{r['completed']}/{n}",
                dup,
                r["replays"],
                req.get("StartAsyncInvoke", 0),
                ", ".join(f"{k} {v}" for k, v in sorted(r["rejections"].items())) or "-",
                req.get("GetAsyncInvoke", 0) + req.get("ListAsyncInvokes", 0),
                "met" if ratio <= 1.05 and dup == 0 else "not met",
            )
        )
    print(
        table(
            [
                "variant",
                "makespan",
                "lower bound (actual durations)",
                "makespan / bound",
                "greedy in accepted order, no overhead (makespan / it)",
                "job time median / max",
                "completed",
                "duplicate jobs",
                "idempotent replays",
                "StartAsyncInvoke calls",
                "rejections",
                "status calls (Get + List)",
                "goal <= 1.05, 0 duplicates",
            ],
            rows,
        )
    )
    print(f"\nload average at the end: {loadavg()}")


if __name__ == "__main__":
    main()
