"""Many novareel processes at once on one ledger: paid once, never over budget.

Issue 20's done-when, measured on the emulator's side (``GET /_emulator/stats``), one
fresh ``NOVAREEL_HOME`` (ledger) and a reset emulator per round:

1. ``--identical`` processes run the same ``generate --local --no-wait`` together, for
   ``--rounds`` rounds: jobs the emulator accepted per round (must be 1).
2. ``--batches`` processes each run their own two-item batch file (distinct prompts)
   together under ``NOVAREEL_BUDGET_DAILY_USD=2.00`` with
   ``NOVAREEL_BUDGET_COUNT_LOCAL=1`` (local jobs count at their AWS price, $0.48 per
   6 s clip), for ``--rounds`` rounds: the accepted cost per round (must stay at or
   under $2.00; $1.92 = 4 clips uses the budget).

Run from the repository root::

    .venv/bin/python bench/bench_concurrency.py            # 16 x 10, 8 x 10
    .venv/bin/python bench/bench_concurrency.py --rounds 2 # a quick look

The emulator runs in its own process on a free port (never 5899).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import DUMMY_ENV, PYTHON, EmulatorProcess, header, table

V11 = "amazon.nova-reel-v1:1"
CLIP_USD = 0.48
BUDGET_USD = 2.00


def _reset(emulator: EmulatorProcess) -> None:
    emulator.control("reset", {})
    emulator.control("config", {"quotas": {V11: 500}, "submit_rate": 0, "render": "fast"})


def _env(home: Path, url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, **DUMMY_ENV, "NOVAREEL_HOME": str(home), "NOVAREEL_EMULATOR_URL": url}
    env.update(extra)
    for name in ("NOVAREEL_TEST_KILL_AT", "NOVAREEL_TEST_HOLD_SUBMIT", "NOVAREEL_LEDGER_URL"):
        env.pop(name, None)
    return env


def _together(commands: list[list[str]], env: dict[str, str]) -> tuple[list[int], float]:
    started = time.monotonic()
    procs = [
        subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in commands
    ]
    codes = []
    for p in procs:
        p.communicate(timeout=600)
        codes.append(p.returncode)
    return codes, time.monotonic() - started


def identical(emulator: EmulatorProcess, work: Path, n: int, rounds: int) -> list[list[Any]]:
    rows = []
    for r in range(rounds):
        _reset(emulator)
        command = [
            PYTHON,
            "-m",
            "novareel",
            "generate",
            f"A glass lighthouse at dusk, bench round {r}",
            "--local",
            "--no-wait",
            "--json",
        ]
        codes, took = _together([command] * n, _env(work / f"id-{r}", emulator.url))
        stats = emulator.control("stats")
        rows.append(
            [
                r + 1,
                n,
                sum(c == 0 for c in codes),
                stats["acceptedSubmissions"],
                stats.get("idempotentReplays", 0),
                f"{took:.1f}",
            ]
        )
        print(f"identical round {r + 1}: {rows[-1]}", file=sys.stderr)
    return rows


def batches(emulator: EmulatorProcess, work: Path, n: int, rounds: int) -> list[list[Any]]:
    rows = []
    for r in range(rounds):
        _reset(emulator)
        commands = []
        for b in range(n):
            path = work / f"b-{r}-{b}.yaml"
            path.write_text(
                "".join(
                    f"- id: item-{i}\n  prompt: Lantern {b}-{i}, bench round {r}\n" for i in (0, 1)
                ),
                encoding="utf-8",
            )
            commands.append(
                [PYTHON, "-m", "novareel", "batch", str(path), "--local", "--no-download", "--json"]
            )
        env = _env(
            work / f"budget-{r}",
            emulator.url,
            NOVAREEL_BUDGET_DAILY_USD=f"{BUDGET_USD:.2f}",
            NOVAREEL_BUDGET_COUNT_LOCAL="1",
        )
        codes, took = _together(commands, env)
        accepted = emulator.control("stats")["acceptedSubmissions"]
        cost = accepted * CLIP_USD
        rows.append(
            [
                r + 1,
                n,
                2 * n,
                accepted,
                f"${cost:.2f}",
                "yes" if cost <= BUDGET_USD + 1e-9 else "**NO**",
                sum(c == 2 for c in codes),
                f"{took:.1f}",
            ]
        )
        print(f"budget round {r + 1}: {rows[-1]}", file=sys.stderr)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--identical", type=int, default=16)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    emulator = EmulatorProcess(speed=500.0)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-concurrency-") as tmp:
            work = Path(tmp)
            same = identical(emulator, work, args.identical, args.rounds)
            spent = batches(emulator, work, args.batches, args.rounds)
    finally:
        emulator.stop()
    print(header("Concurrent processes on one ledger (SQLite)"))
    print(f"### {args.identical} identical `generate` commands started together\n")
    print(
        table(
            ["round", "processes", "exit 0", "jobs accepted", "token replays", "wall s"],
            same,
        )
    )
    ones = sum(row[3] == 1 for row in same)
    print(f"\nRounds with exactly one job accepted: {ones} of {len(same)}.\n")
    print(
        f"### {args.batches} batches (2 distinct items each) at once under a "
        f"${BUDGET_USD:.2f} daily budget, ${CLIP_USD:.2f} a clip\n"
    )
    print(
        table(
            [
                "round",
                "batches",
                "items",
                "jobs accepted",
                "accepted cost",
                f"≤ ${BUDGET_USD:.2f}",
                "stopped by budget",
                "wall s",
            ],
            spent,
        )
    )
    over = sum(row[5] != "yes" for row in spent)
    print(f"\nRounds over the budget: {over} of {len(spent)}.")
    print(json.dumps({"identical_ok": ones == len(same), "budget_ok": over == 0}), file=sys.stderr)
    return 0 if ones == len(same) and over == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
