"""Benchmark 1b: the polling schedules on a virtual clock at real-service time scale.

Run: ``.venv/bin/python bench/bench_schedule_sim.py``  (no emulator; runs in < 1 s)

``bench_waiting.py`` measures the waiters end to end on the emulator; this script runs
the same ``poll_until`` with an injected clock (speed 1, zero call latency) over a grid
of job lengths and "actual / expected" duration ratios, to show the trade-off without
noise and to evaluate a proposed change of ``PollSchedule``:

* **current**: ``novareel.waiting.PollSchedule`` as ``NovaReel.wait`` builds it;
* **proposal**: same early looks (20 %, 60 %, 90 % of the expected time), then an
  interval proportional to the time elapsed so far, ``1.5 % x elapsed``, with no separate
  late phase. Since a job found at the next call has run at least ``elapsed``, the delay
  is below 1.5 % of the job's own duration however late it runs; the interval widens
  smoothly as a job overruns, instead of staying at 1.5 % of the *expected* time up to
  125 % and then growing by 10 % of the overrun;
* **fixed 30 s**: ``Invoke-AmazonVideoModel``'s default.

Also printed: the least number of calls any schedule needs to keep the delay under 2 %
when the end is only known to lie in [0.93, 1.15] x expected (the seed lab's 70-79 s
and AWS's ~90 s for a 76 s estimate): one call at the start plus ln(1.15/0.93)/ln(1.02)
calls inside that window.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import header, table

from novareel.models.nova_reel import expected_seconds_for as expected_generation_seconds
from novareel.waiting import PollSchedule, poll_until

LENGTHS = (6, 18, 60, 120)
RATIOS = (0.9, 0.93, 1.0, 1.05, 1.15, 1.3, 1.6)


@dataclass(frozen=True)
class ProportionalSchedule(PollSchedule):
    """Proposal: after ``near_fraction``, sleep ``dense_fraction x elapsed``."""

    def next_delay(self, elapsed: float) -> float:
        if self.fixed_interval is not None:
            return max(self.fixed_interval, 0.0)
        e = max(self.expected, 0.0)
        for fraction in (self.early_fraction, self.middle_fraction, self.near_fraction):
            if elapsed < fraction * e:
                return max(fraction * e - elapsed, self.min_interval)
        return min(max(self.dense_fraction * elapsed, self.min_interval), self.max_interval)


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


def schedules(length: int) -> dict[str, PollSchedule]:
    expected = expected_generation_seconds(length)
    minimum = min(1.0, max(expected * 0.01, 0.05))  # as NovaReel.wait builds it
    return {
        "current": PollSchedule(expected=expected, min_interval=minimum),
        "proposal": ProportionalSchedule(expected=expected, min_interval=minimum),
        "fixed 30 s": PollSchedule(expected=expected, fixed_interval=30.0),
    }


def main() -> None:
    print(header("Benchmark 1b: polling schedules on a virtual clock (speed 1)"))
    print("- zero call latency; cells are `delay as % of the job / status calls`\n")
    rows = []
    totals: dict[str, list[tuple[int, float]]] = {}
    for length in LENGTHS:
        expected = expected_generation_seconds(length)
        for name, schedule in schedules(length).items():
            cells = []
            for ratio in RATIOS:
                end = ratio * expected
                calls, delay = simulate(schedule, end)
                totals.setdefault(name, []).append((calls, 100 * delay / end))
                cells.append(f"{100 * delay / end:.1f} % / {calls}")
            rows.append((f"{length} s ({expected:.0f} s)", name, *cells))
    print(table(["video (expected)", "schedule", *[f"x{r:g}" for r in RATIOS]], rows))
    print("\nOver the whole grid:\n")
    summary = []
    for name, values in totals.items():
        calls = [c for c, _ in values]
        delays = [d for _, d in values]
        summary.append(
            (
                name,
                sum(calls),
                f"{max(delays):.2f} %",
                sum(1 for d in delays if d < 2.0),
                len(delays),
            )
        )
    print(table(["schedule", "calls (sum)", "worst delay", "cases < 2 %", "cases"], summary))
    bound = 1 + math.ceil(math.log(1.15 / 0.93) / math.log(1.02))
    print(
        f"\nLeast calls for < 2 % delay when the end lies anywhere in [0.93, 1.15] x "
        f"expected: {bound} (fixed 30 s makes "
        + ", ".join(
            f"{simulate(schedules(n)['fixed 30 s'], expected_generation_seconds(n))[0]} for {n} s"
            for n in LENGTHS
        )
        + " at x1)."
    )


if __name__ == "__main__":
    main()
