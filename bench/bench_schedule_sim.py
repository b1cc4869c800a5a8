"""Benchmark 1b: the polling schedules on a virtual clock at real-service time scale.

Run: ``.venv/bin/python bench/bench_schedule_sim.py [--draws N]``  (no emulator; ~10 s)

``bench_waiting.py`` measures the waiters end to end on the emulator; this script runs
the client's own ``poll_until`` with an injected clock (speed 1, zero call latency), so
every figure is exact and reproducible. For each Nova Reel length and two cases of what
the client expects:

* **learned**: the client's expectation equals the median of the jobs of that kind
  (what ``novareel.limits.expectations`` converges to after a few jobs); the world is AWS's
  guide (``aws-guide-2026``);
* **prior**: the client has no history and uses the built-in seed-lab table
  (``novareel.models.nova_reel.GENERATION_TIME_POINTS``) while the world follows
  ``aws-guide-2026`` (1.18x to 1.82x slower, depending on the length);

jobs end at a grid of 0.5x to 2x the *world's median* (in the learned case that is the
expectation itself; in the prior case each column also says end / expectation). The
schedules compared:

* **novareel**: ``PollSchedule.for_job(expected)``, exactly as ``VideoGenerator.wait`` builds
  it (a call at the submit, looks at 20 % and 50 % of the expected time ``E``, then from
  0.7 ``E`` every 1.9 % of the time already waited, capped at 30 s);
* **novareel before**: the schedule of the client up to December 2026, kept here to show
  the change (looks at 20 %, 60 %, 90 % of ``E``, every 1.5 % of ``E`` up to 125 %, then
  an interval growing with the overrun, capped at 30 s);
* **fixed 30 s**: ``Invoke-AmazonVideoModel``'s default;
* **cheapest 2 %**: the schedule with the fewest calls that notices every end between
  0.7x and 2x the client's expectation ``E`` within 2 % of the job's duration: calls at
  ``0.7 E x 1.02^k`` (k = 1, 2, ...); a job ending at e in that range is seen by call
  ``ceil(ln(e / 0.7 E) / ln 1.02)``, and no schedule can do with fewer, since a call at
  t only covers ends in [t / 1.02, t]. It knows the same ``E`` as novareel, not the end;

The goal (issue 11): noticing the end within 2 % of the job's duration for every end
between 0.7x and 2x the expectation, with at most 1.5x the calls of the cheapest 2 %
schedule. Another table weighs the schedules over the emulator's default spread (each
job = median x exp(0.25 Z), seeded draws); the last one measures how close the client's
learned expectation (the median of the last n jobs) comes to the true median.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import header, loadavg, table

from novareel.emulator.latency import AWS_GUIDE_2026
from novareel.emulator.models.nova_reel import real_latency
from novareel.foundation.waiting import PollSchedule, poll_until
from novareel.limits.expectations import robust_estimate
from novareel.models.nova_reel import expected_seconds_for as prior_seconds

LENGTHS = (6, 18, 60, 120)
RATIOS = (0.5, 0.7, 0.85, 1.0, 1.3, 1.6, 2.0)
GOAL_LOW, GOAL_HIGH, GOAL_DELAY, GOAL_CALLS = 0.7, 2.0, 0.02, 1.5
SPREAD = 0.25
FINE_STEP = 0.005


def misses(values: list[tuple[float, float, int, int]]) -> str:
    """Share of the ends noticed > 2 % late and where (gaps under 0.1 E merged), worst each."""
    spans: list[tuple[float, float, float]] = []
    late = 0
    for ratio, share, _, _ in values:
        if share <= GOAL_DELAY:
            continue
        late += 1
        if spans and ratio - spans[-1][1] < 0.1:
            spans[-1] = (spans[-1][0], ratio, max(spans[-1][2], share))
        else:
            spans.append((ratio, ratio, share))
    where = "; ".join(f"{a:.3f}-{b:.3f} E (max {100 * w:.1f} %)" for a, b, w in spans)
    return f"{100 * late / len(values):.0f} %: {where}" if spans else "0 %"


@dataclass(frozen=True)
class BeforeSchedule(PollSchedule):
    """The client's schedule before December 2026 (for comparison only)."""

    def next_delay(self, elapsed: float, call_seconds: float = 0.0) -> float:
        e = max(self.expected, 0.0)
        dense = max(self.min_interval, 0.015 * e)
        for fraction in (0.2, 0.6, 0.9):
            if elapsed < fraction * e:
                return max(fraction * e - elapsed, self.min_interval)
        delay = dense if elapsed < 1.25 * e else dense + 0.1 * (elapsed - 1.25 * e)
        return min(max(delay, self.min_interval), max(self.max_interval, dense))


def simulate(schedule: PollSchedule, end: float) -> tuple[int, float]:
    """(calls, delay) of a wait that starts at the submit, for a job ending at ``end``."""
    now = [0.0]

    def check() -> str:
        return "Completed" if now[0] >= end else "InProgress"

    def sleep(seconds: float) -> None:
        now[0] += seconds

    _, calls, _ = poll_until(
        check, schedule=schedule, timeout=None, clock=lambda: now[0], sleep=sleep
    )
    return calls, now[0] - end


def cheapest(expected: float, end: float) -> tuple[int, float]:
    """(calls, delay) of the cheapest schedule meeting 2 % on [0.7, 2] x ``expected``."""
    start = GOAL_LOW * expected
    k = max(1, math.ceil(math.log(end / start) / math.log(1 + GOAL_DELAY) - 1e-12))
    return k, start * (1 + GOAL_DELAY) ** k - end


def schedules(expected: float) -> dict[str, PollSchedule]:
    return {
        "novareel": PollSchedule.for_job(expected),
        "fixed 30 s": PollSchedule(expected=expected, fixed_interval=30.0),
        "novareel before": BeforeSchedule(
            expected=expected, min_interval=min(1.0, max(expected * 0.01, 0.05))
        ),
    }


def run(name: str, expected: float, end: float) -> tuple[int, float]:
    if name == "cheapest 2 %":
        return cheapest(expected, end)
    return simulate(schedules(expected)[name], end)


NAMES = ("novareel", "novareel before", "fixed 30 s", "cheapest 2 %")


def cases() -> list[tuple[int, str, float, float]]:
    """(length, case, client's expectation, world's median) for every row."""
    out = []
    for length in LENGTHS:
        world = real_latency(length, AWS_GUIDE_2026)
        out.append((length, "learned", world, world))
        out.append((length, "prior", prior_seconds(length), world))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--draws", type=int, default=1000, help="jobs drawn per row (spread)")
    args = parser.parse_args()
    print(header("Benchmark 1b: polling schedules on a virtual clock (speed 1)"))
    print(
        "- zero call latency; world = aws-guide-2026 medians; cells are "
        "`delay as % of the job / status calls`; for novareel also `(calls / cheapest)`\n"
    )
    goal_rows = []
    for length, case, expected, world in cases():
        rows = []
        for name in NAMES:
            cells = []
            for ratio in RATIOS:
                end = ratio * world
                calls, delay = run(name, expected, end)
                cheap_calls, _ = cheapest(expected, end)
                cell = f"{100 * delay / end:.1f} % / {calls}"
                if name == "novareel":
                    cell += f" ({calls / cheap_calls:.2f}x)"
                cells.append(cell)
            rows.append((name, *cells))
        cols = [
            f"x{r:g}" + ("" if case == "learned" else f" (={r * world / expected:.2f}E)")
            for r in RATIOS
        ]
        print(
            f"\n{length} s video, {case}: expectation E = {expected:.0f} s, "
            f"world median = {world:.0f} s\n"
        )
        print(table(["schedule", *cols], rows))
        fine = [
            GOAL_LOW + i * FINE_STEP for i in range(round((GOAL_HIGH - GOAL_LOW) / FINE_STEP) + 1)
        ]
        for name in ("novareel", "novareel before", "fixed 30 s"):
            v = []
            for ratio in fine:
                calls, delay = run(name, expected, ratio * expected)
                v.append(
                    (
                        ratio,
                        delay / (ratio * expected),
                        calls,
                        cheapest(expected, ratio * expected)[0],
                    )
                )
            worst = max(d for _, d, _, _ in v)
            total = sum(c for _, _, c, _ in v) / sum(k for _, _, _, k in v)
            whole = v[-1][2] / v[-1][3]
            goal_rows.append(
                (
                    f"{length} s",
                    case,
                    f"{expected:.0f} s",
                    name,
                    f"{100 * worst:.1f} %",
                    misses(v),
                    f"{total:.2f}x",
                    f"{whole:.2f}x",
                    "met" if worst <= GOAL_DELAY and total <= GOAL_CALLS else "not met",
                )
            )
    print(
        f"\nGoal check: ends every {FINE_STEP:g} E from {GOAL_LOW:g} E to {GOAL_HIGH:g} E "
        "(E = the client's expectation):\n"
    )
    print(
        table(
            [
                "video",
                "case",
                "E",
                "schedule",
                "worst delay",
                "ends noticed > 2 % late: where (worst)",
                "calls / cheapest (sum over the ends)",
                "calls / cheapest at 2 E",
                "goal (delay <= 2 %, sum <= 1.5x)",
            ],
            goal_rows,
        )
    )

    print(
        f"\nOver the spread (each job = world median x exp({SPREAD} Z), "
        f"{args.draws} seeded draws per row):\n"
    )
    rng = random.Random(11)
    spread_rows = []
    for length, case, expected, world in cases():
        ends = [world * rng.lognormvariate(0.0, SPREAD) for _ in range(args.draws)]
        in_range = sum(1 for e in ends if GOAL_LOW <= e / expected <= GOAL_HIGH)
        for name in NAMES:
            results = [run(name, expected, e) for e in ends]
            shares = [d / e for (_, d), e in zip(results, ends, strict=True)]
            spread_rows.append(
                (
                    f"{length} s",
                    case,
                    name,
                    f"{100 * in_range / len(ends):.0f} %",
                    f"{sum(c for c, _ in results) / len(results):.1f}",
                    f"{100 * sum(shares) / len(ends):.2f} %",
                    f"{100 * sum(1 for x in shares if x > GOAL_DELAY) / len(ends):.1f} %",
                )
            )
    print(
        table(
            [
                "video",
                "case",
                "schedule",
                "jobs in [0.7, 2] x E",
                "mean calls",
                "mean delay",
                "jobs noticed > 2 % late",
            ],
            spread_rows,
        )
    )
    learning(args.draws * 10)
    print(f"\nload average at the end: {loadavg()}")


def learning(trials: int) -> None:
    """How close the client's learned expectation is to the true median after n jobs.

    The client's own estimator (``novareel.limits.expectations.robust_estimate``, the median of
    the last jobs) applied to n seeded draws of the emulator's default spread; the
    error does not depend on the median's value, so one row per n covers every length.
    """
    rng = random.Random(5)
    rows = []
    for n in (3, 5, 10, 20):
        errors = sorted(
            abs(robust_estimate([rng.lognormvariate(0.0, SPREAD) for _ in range(n)]) - 1.0)
            for _ in range(trials)
        )
        rows.append(
            (
                n,
                f"{100 * sum(1 for e in errors if e <= 0.15) / trials:.1f} %",
                f"{100 * errors[trials // 2]:.1f} %",
                f"{100 * errors[int(trials * 0.9)]:.1f} %",
            )
        )
    print(
        f"\n#### Learned expectation against the true median (sigma {SPREAD}, "
        f"{trials} seeded trials per row)\n"
    )
    print(
        table(
            [
                "jobs of the kind in the ledger",
                "expectation within 15 % of the median",
                "median error",
                "90th percentile error",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
