"""Benchmark 1: how soon a waiter notices that a job ended, and how many status calls it makes.

Run: ``.venv/bin/python bench/bench_waiting.py [--quick] [--speed S] [--render]``

Jobs of 6, 18, 60 and 120 s of video run on the local emulator (a subprocess) at
``--speed`` (default 20: the 120 s job, 510 s on the real service, takes 25.5 s).
Each job is waited for by one of three waiters, all through ``VideoGenerator.wait``:

* **adaptive**: novareel's schedule (``time_scale=speed``);
* **fixed 30 s**: ``poll_interval=30/speed``, the ``Invoke-AmazonVideoModel`` default;
* **fixed, same calls**: a fixed interval chosen so that it spends the adaptive waiter's
  number of calls over the expected time: ``expected / (calls_adaptive - 1)``.

Real jobs do not end when expected (AWS's guide says 1.2x to 1.8x the seed lab's
table; a spread of +-50 % around any median is normal), so every length runs at a grid
of 0.5x to 2x its expected duration (``--factors``). The emulator runs ``--latency
lab-2025 --latency-spread 0`` so that a job's latency is exactly the client's prior, and
its speed is changed just before each job is submitted (speed / factor); the waiter
still assumes ``speed``. The client has no history here, so it expects the prior: the
"expectation right, end off by the factor" case.

"Job end" is the job's ``endTime`` as the emulator reports it (GetAsyncInvoke, ms
precision, wall clock UTC); the waiter's return is ``time.time()`` right after
``VideoGenerator.wait`` returns, in the same clock. Status calls are counted by wrapping the
client's ``get_async_invoke`` (cross-checked with the emulator's own counter).

Unless ``--render`` is given, jobs get an injected failure so the emulator skips
rendering and the job ends exactly at its latency-model time (at these speeds a 20-shot
render takes longer than the latency and would decide the end instead). A Failed job
ends the wait exactly like a Completed one; ``wait`` then reads the job's status file
once (a few ms, included in the delay).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import EmulatorProcess, header, loadavg, median, table

from novareel import MultiShotAutomated, TextVideo, VideoGenerator
from novareel.client import AwsClient
from novareel.emulator import EmulatorControl
from novareel.ledger import Ledger
from novareel.models.nova_reel import expected_seconds_for as expected_generation_seconds

LENGTHS = (6, 18, 60, 120)
FACTORS = (0.5, 0.7, 0.85, 1.0, 1.3, 1.6, 2.0)
BUCKET = "bench-waiting"
OUTPUT = f"s3://{BUCKET}/jobs/"
PROMPT = "A lighthouse on a cliff at dusk. Waves break below. Camera orbits slowly."


@dataclass
class Run:
    length: int
    factor: float
    strategy: str
    interval: float | None  # None = adaptive
    reel: VideoGenerator | None = None
    ledger_id: str = ""
    calls: int = 0
    submit: float = 0.0
    end: float = 0.0
    returned: float = 0.0
    detected: float = 0.0  # when the Get that saw the end returned
    status: str = ""
    thread: threading.Thread | None = None

    @property
    def duration(self) -> float:
        return self.end - self.submit

    @property
    def delay(self) -> float:
        return self.returned - self.end


def _ts(value: Any) -> float:
    assert isinstance(value, datetime), value
    return value.timestamp()


def make_reel(url: str, speed: float, home: Path, name: str) -> VideoGenerator:
    client = AwsClient(
        region="us-east-1", endpoint_url=url, access_key="testing", secret_key="testing"
    )
    ledger = Ledger(home / f"{name}.sqlite3")
    return VideoGenerator(client, ledger=ledger, time_scale=speed)


def request_for(length: int) -> Any:
    if length == 6:
        return TextVideo(PROMPT)
    return MultiShotAutomated(PROMPT, duration=length)


def run_phase(runs: list[Run], url: str, speed: float, home: Path) -> None:
    """Submit each run's job (emulator speed set per job) and start its waiter at once.

    Submits are sequential (the speed is changed between them); every waiter starts
    right after its own submit, so no wait begins late in its schedule.
    """
    control = EmulatorControl(url)
    for i, run in enumerate(runs):
        reel = make_reel(url, speed, home, f"{run.strategy}-{run.length}-{run.factor}-{i}")
        run.reel = reel
        original = reel.client.get_async_invoke

        def counted(arn: str, _run: Run = run, _orig: Any = original) -> Any:
            _run.calls += 1
            answer = _orig(arn)
            if answer.status != "InProgress" and not _run.detected:
                _run.detected = time.time()
            return answer

        reel.client.get_async_invoke = counted  # type: ignore[method-assign]
        # Build both boto3 clients now: wait() reads the status file of a Failed job
        # over S3, and a first-use client build (~0.1-0.6 s) is not part of waiting.
        reel.client.bedrock  # noqa: B018
        reel.client.s3  # noqa: B018

    def wait(run: Run) -> None:
        assert run.reel is not None
        result = run.reel.wait(run.ledger_id, timeout=None, poll_interval=run.interval)
        run.returned = time.time()
        run.status = result.status
        assert result.submit_time and result.end_time
        run.submit, run.end = _ts(result.submit_time), _ts(result.end_time)

    for run in runs:
        assert run.reel is not None
        control.configure(speed=speed / run.factor)
        result = run.reel.submit(request_for(run.length), OUTPUT)
        run.ledger_id = str(result.ledger_id)
        run.thread = threading.Thread(target=wait, args=(run,))
        run.thread.start()
    control.configure(speed=speed)
    for run in runs:
        assert run.thread is not None
        run.thread.join()
    for run in runs:
        assert run.reel is not None
        run.reel.close()
        if run.reel.ledger is not None:
            run.reel.ledger.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="speed 50, expected end only")
    parser.add_argument("--speed", type=float, default=None, help="emulator speed (default 20)")
    parser.add_argument("--render", action="store_true", help="let the emulator render")
    parser.add_argument(
        "--factors",
        default=None,
        help="comma-separated end / expected factors (default 0.5,0.7,0.85,1,1.3,1.6,2)",
    )
    args = parser.parse_args()
    speed = args.speed or (50.0 if args.quick else 20.0)
    if args.factors:
        factors: tuple[float, ...] = tuple(float(x) for x in args.factors.split(","))
    else:
        factors = (1.0,) if args.quick else FACTORS

    print(header("Benchmark 1: noticing completion"))
    print(
        f"- emulator speed {speed:g} (subprocess); jobs "
        + ("rendered" if args.render else "not rendered (end = latency model)")
        + "; all waits of a phase run in parallel threads\n"
    )
    extra = ["--latency", "lab-2025", "--latency-spread", "0"]
    with (
        EmulatorProcess(speed=speed, extra=extra) as emu,
        tempfile.TemporaryDirectory() as tmp,
    ):
        control = EmulatorControl(emu.url)
        control.configure(submit_rate=0, quotas={"amazon.nova-reel-v1:1": 1000})
        if not args.render:
            control.fail_jobs(count=None)
        AwsClient(
            region="us-east-1", endpoint_url=emu.url, access_key="testing", secret_key="testing"
        ).ensure_bucket(BUCKET)
        home = Path(tmp)
        t0 = time.monotonic()
        first = [
            Run(length, factor, strategy, interval)
            for length in LENGTHS
            for factor in factors
            for strategy, interval in (("adaptive", None), ("fixed 30 s", 30.0 / speed))
        ]
        run_phase(first, emu.url, speed, home)
        adaptive_calls = {(r.length, r.factor): r.calls for r in first if r.interval is None}
        second = []
        for length in LENGTHS:
            for factor in factors:
                expected = expected_generation_seconds(length) / speed
                n = adaptive_calls[(length, factor)]
                second.append(Run(length, factor, "fixed, same calls", expected / max(n - 1, 1)))
        run_phase(second, emu.url, speed, home)
        stats = control.stats()
        wall = time.monotonic() - t0
    runs = first + second
    order = {"adaptive": 0, "fixed 30 s": 1, "fixed, same calls": 2}
    runs.sort(key=lambda r: (r.length, r.factor, order[r.strategy]))

    rows = []
    for r in runs:
        interval = "schedule" if r.interval is None else f"{r.interval:.3f} s"
        rows.append(
            (
                f"{r.length} s",
                f"{r.factor:.2f}",
                f"{r.duration:.2f} s",
                r.strategy,
                interval,
                r.calls,
                f"{(r.detected - r.end) * 1000:.0f} ms",
                f"{r.delay * 1000:.0f} ms",
                f"{100 * r.delay / r.duration:.2f} %",
            )
        )
    print("### All runs\n")
    print(
        table(
            [
                "video",
                "end / expected",
                "job ran",
                "waiter",
                "interval",
                "status calls",
                "end seen after",
                "wait returned after",
                "delay / job",
            ],
            rows,
        )
    )
    print(
        "\n### Goal (issue 11): delay <= 2 % of the job for ends in [0.7, 2] x expected, "
        "with <= 1.5x the calls of the cheapest schedule that achieves it\n"
    )
    goal_rows = []
    for length in LENGTHS:
        for factor in factors:
            by = {r.strategy: r for r in runs if r.length == length and r.factor == factor}
            a, f30, same = by["adaptive"], by["fixed 30 s"], by["fixed, same calls"]
            pct = 100 * a.delay / a.duration
            # The cheapest schedule meeting 2 % on [0.7, 2] x expected calls at
            # 0.7 E x 1.02^k (see bench_schedule_sim.py); calls needed for this end:
            cheap = max(1, math.ceil(math.log(max(factor, 0.7) / 0.7) / math.log(1.02) - 1e-9))
            if not 0.7 <= factor <= 2.0:
                verdict = "outside the goal's range"
            else:
                verdict = "delay met" if pct <= 2.0 else "delay not met"
            goal_rows.append(
                (
                    f"{length} s",
                    f"{factor:.2f}",
                    f"{pct:.2f} % / {a.calls}",
                    f"{100 * f30.delay / f30.duration:.2f} % / {f30.calls}",
                    f"{100 * same.delay / same.duration:.2f} % / {same.calls}",
                    f"{cheap} ({a.calls / cheap:.2f}x)",
                    verdict,
                )
            )
    print(
        table(
            [
                "video",
                "end / expected",
                "adaptive (delay / calls)",
                "fixed 30 s",
                "fixed, same calls",
                "cheapest 2 % calls (novareel / it)",
                "goal",
            ],
            goal_rows,
        )
    )
    counted = sum(r.calls for r in runs)
    print(
        f"\nGetAsyncInvoke calls: counted by the waiters {counted}, served by the emulator "
        f"{stats['requests'].get('GetAsyncInvoke', 0)}; median adaptive delay "
        f"{1000 * median([r.delay for r in runs if r.interval is None]):.0f} ms; "
        f"wall time {wall:.0f} s; load average at the end: {loadavg()}."
    )


if __name__ == "__main__":
    main()
